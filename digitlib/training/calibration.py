"""Temperature scaling: probabilities that mean what they say, without changing any prediction.

The probabilities themselves come from digitlib.reading.answers.probs(logits, temperature).
"""

import numpy as np
from scipy.special import log_softmax


def fit_temperature(logits, y):
    """Temperature scaling (Guo et al. 2017): the T for which softmax(logits / T) has the least cross-entropy on
    held-out labelled data. T > 1 softens over-confident probabilities, T < 1 sharpens under-confident ones;
    the predicted class never changes."""
    from scipy.optimize import minimize_scalar  # here, not on top: softmax's users (a dashboard kernel) skip its ~18 MB

    logits, y = np.asarray(logits, dtype=np.float64), np.asarray(y)

    def cross_entropy(t):
        return -log_softmax(logits / t, axis=1)[np.arange(len(y)), y].mean()

    return round(float(minimize_scalar(cross_entropy, bounds=(0.05, 20), method="bounded").x), 4)
