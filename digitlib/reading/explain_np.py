"""What a network looks at, from its outputs alone: numpy, no torch, no captum (the dashboard's kernel runs without).

digitlib.studies.explain computes the same with captum on a PyTorch model; tests/test_explain.py checks they agree.
"""

import numpy as np

from digitlib.reading.answers import probs as softmax_probs


def most_active(maps, k=8):
    """Indices of the k channels of one layer's activations [C, H, W] with the highest mean, most active first."""
    return np.argsort(-np.asarray(maps).reshape(len(maps), -1).mean(1), kind="stable")[:k]


def window_starts(size, window, stride):
    """Where captum's Occlusion puts a sliding window along one axis: every stride, until one reaches the end."""
    return [k * stride for k in range(-(-(size - window) // stride) + 1)]


def occlusion(logits, x, target=None, window=7, stride=3):
    """Occlusion sensitivity [28, 28] in [0, 1] for one input x [1, 28, 28], as digitlib.studies.explain.occlusion
    computes it.

    logits: a function from inputs [N, 1, 28, 28] to logits [N, 10]. A window x window patch of background (0)
    slides over the image (captum's positions: every stride, the last one cut at the edge); each pixel scores the
    mean drop in the target's probability when it is covered, kept where positive and scaled to [0, 1]. One call
    of logits on the input and its 64 covered copies (with the defaults).
    """
    x = np.asarray(x, dtype=np.float32)
    h, w = x.shape[-2:]
    spots = [(top, left) for top in window_starts(h, window, stride) for left in window_starts(w, window, stride)]
    batch = np.repeat(x[None], len(spots) + 1, axis=0)
    for k, (top, left) in enumerate(spots, 1):
        batch[k, :, top : top + window, left : left + window] = 0
    p = softmax_probs(logits(batch))
    target = int(p[0].argmax()) if target is None else target
    drop = p[0, target] - p[1:, target]
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for d, (top, left) in zip(drop, spots):
        total[top : top + window, left : left + window] += d
        count[top : top + window, left : left + window] += 1
    a = np.clip(total / np.maximum(count, 1), 0, None)
    return (a / max(a.max(), 1e-12)).astype(np.float32)
