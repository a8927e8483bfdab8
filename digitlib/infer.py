"""From logits to answers: batched logits, probabilities, accuracy, and the confidence text a person reads.

Every caller (training, metrics, robustness, the CLI, the dashboard, the notebooks) goes through these functions,
so a probability is computed, counted and worded one way everywhere.
"""

import numpy as np
import torch
import torch.nn.functional as F

UNSURE = 0.6  # below this top probability a reading is "not sure"


@torch.no_grad()
def predict_logits(model, x, device=None, batch_size=1000):
    """Logits [N, 10] (on the CPU) for images [N, 1, 28, 28], computed in eval mode in batches."""
    device = device or next(model.parameters()).device
    model.eval()
    return torch.cat([model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])


def probs(logits, temperature=1.0):
    """Class probabilities [N, 10] from logits [N, 10] divided by a temperature: a tensor from a tensor (same dtype),
    a float64 array from an array."""
    if isinstance(logits, torch.Tensor):
        return torch.softmax(logits / temperature, dim=1)
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float64) / temperature, dim=1).numpy()


def accuracy(y_pred, y):
    """Fraction of predicted labels y_pred [N] equal to the true labels y [N] (tensors or arrays)."""
    return int((y_pred == y).sum()) / len(y)


def evaluate(model, x, y, device=None):
    """(mean cross-entropy loss, accuracy) of model on a labelled set x [N, 1, 28, 28], y [N]."""
    logits = predict_logits(model, x, device)
    return F.cross_entropy(logits, y).item(), accuracy(logits.argmax(1), y)


def percent(p):
    """A probability as a percentage rounded down to a tenth, at most 99.9%: a softmax is never 100% sure."""
    return f"{min(np.floor(p * 1000), 999) / 10:.1f}%"


def unsure(probs):
    """Whether a reading's top probability (of probs [10]) is below UNSURE."""
    return float(np.max(probs)) < UNSURE


def verdict(probs):
    """What a person reads beside a digit with probabilities [10]: "97.3% sure", or "not sure: 1 or 7?"."""
    top = np.argsort(probs)[::-1]
    return f"not sure: {top[0]} or {top[1]}?" if unsure(probs) else f"{percent(probs[top[0]])} sure"
