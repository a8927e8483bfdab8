"""What MNIST looks like in numbers: pixel statistics, where the ink is, odd examples, a 2-D map of the data."""

import numpy as np
import torch
from sklearn.manifold import TSNE

from digitlib.constants import NUM_CLASSES
from digitlib.reading.preprocess import stroke_width


def pixel_stats(x):
    """Mean and standard deviation of all pixels of images x [N, 1, 28, 28] in [0, 1]: the normalisation constants."""
    return dict(mean=x.mean().item(), std=x.std().item())


def class_means(x, y):
    """Per class, the mean image and the per-pixel variance: two tensors [10, 28, 28]."""
    images = [x[y == c, 0] for c in range(NUM_CLASSES)]
    return torch.stack([i.mean(0) for i in images]), torch.stack([i.var(0) for i in images])


def ink_stats(x, stroke_sample=5000):
    """Per image: bounding-box height and width, centre of mass (row, column), and stroke width in pixels.

    Ink is a pixel above 0.5. The stroke width (twice the ink area over its boundary, as digitlib.reading.preprocess
    measures drawings) is computed for the first `stroke_sample` images only; the rest are NaN.
    """
    ink = x[:, 0] > 0.5
    rows, cols = ink.any(2), ink.any(1)

    def extent(mask):
        idx = torch.arange(mask.shape[1])
        return (
            torch.where(mask, idx, -1).max(1).values - torch.where(mask, idx, mask.shape[1]).min(1).values + 1
        ).numpy()

    mass = x[:, 0] / x[:, 0].sum((1, 2), keepdim=True)
    grid = torch.arange(x.shape[-1], dtype=x.dtype)
    stroke = np.full(len(x), np.nan)
    stroke[:stroke_sample] = [stroke_width(i.numpy()) for i in ink[:stroke_sample]]
    return dict(
        height=extent(rows),
        width=extent(cols),
        centre_row=(mass.sum(2) * grid).sum(1).numpy(),
        centre_col=(mass.sum(1) * grid).sum(1).numpy(),
        stroke=stroke,
    )


def atypical(x, y, per_class=2):
    """Indices of the images least like their class: lowest cosine similarity to their class's mean image."""
    flat = x.flatten(1)
    flat = flat / flat.norm(dim=1, keepdim=True)
    picks = []
    for c in range(NUM_CLASSES):
        idx = torch.nonzero(y == c)[:, 0]
        mean = flat[idx].mean(0)
        similarity = flat[idx] @ (mean / mean.norm())
        picks += idx[similarity.argsort()[:per_class]].tolist()
    return picks


def embed_2d(features, seed=0):
    """A 2-D t-SNE map [N, 2] of features [N, ...]: nearby points were alike in the original space."""
    return TSNE(init="pca", random_state=seed).fit_transform(
        np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    )
