"""A PyTorch model's answers on many images: batched logits, and (loss, accuracy) on a labelled set.

What the logits mean to a person (probabilities, accuracy, the confidence text) is digitlib.reading.answers.
"""

import torch
import torch.nn.functional as F

from digitlib.reading.answers import accuracy


@torch.no_grad()
def predict_logits(model, x, device=None, batch_size=1000):
    """Logits [N, 10] (on the CPU) for images [N, 1, 28, 28], computed in eval mode in batches."""
    device = device or next(model.parameters()).device
    model.eval()
    return torch.cat([model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])


def evaluate(model, x, y, device=None):
    """(mean cross-entropy loss, accuracy) of model on a labelled set x [N, 1, 28, 28], y [N]."""
    logits = predict_logits(model, x, device)
    return F.cross_entropy(logits, y).item(), accuracy(logits.argmax(1), y)
