"""From logits to what a person reads: probabilities, accuracy, and the confidence text, without torch.

Every caller (training, metrics, the CLI, the dashboard, the ONNX Runtime path, the notebooks) goes through these
functions, so a probability is computed, counted and worded one way everywhere. Batched logits of a PyTorch model
come from digitlib.models.infer.
"""

import numpy as np
from scipy.special import softmax

UNSURE = 0.6  # below this top probability a reading is "not sure"


def probs(logits, temperature=1.0):
    """Class probabilities [N, 10] from logits [N, 10] divided by a temperature: a tensor from a torch tensor (same
    dtype), a float64 array from an array."""
    if hasattr(logits, "softmax"):  # a torch tensor; torch itself is not imported here (the dashboard runs without)
        return (logits / temperature).softmax(dim=1)
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


def temperature_problem(temperature):
    """Why a stored temperature cannot divide logits (not a number, not finite, not positive), or None."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 < temperature < np.inf:
        return f"temperature {temperature!r} is not a finite positive number"
    return None


def accuracy(y_pred, y):
    """Fraction of predicted labels y_pred [N] equal to the true labels y [N] (tensors or arrays)."""
    return int((y_pred == y).sum()) / len(y)


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
