"""Read digits, and written numbers, from any image: what the PyTorch Predictor and the ONNX Runtime reader share.

A Reader needs only `probs(x)`, a model's temperature-scaled class probabilities; the preprocessing, the reading
of one digit, the cutting of a number into digits and the rejection of what is not a digit (digitlib.reading.rejection,
the same for every model) are here, once, and need no torch.
"""

from dataclasses import dataclass

import numpy as np

from digitlib.constants import WEIGHTS_DIR
from digitlib.reading.preprocess import to_mnist_input, to_mnist_inputs
from digitlib.reading.rejection import NO_DIGIT, NOT_A_DIGIT, folder_for, rejector


@dataclass
class Prediction:
    """digit: the class read, or None when the image holds no digit; probs: [10] or None; x: the [1, 28, 28] float32
    input seen (a numpy array); reason: why no digit is read ("no digit": no ink; "not a digit": ink that is none;
    the probabilities are still given), None when one is."""

    digit: int | None
    probs: np.ndarray | None
    x: np.ndarray | None
    reason: str | None = None


def readings(probs, xs, rejected):
    """A Prediction per input: the top digit of probs [N, 10], or none where rejected [N] says it is not a digit."""
    return [
        Prediction(None, p, x, NOT_A_DIGIT) if r else Prediction(int(p.argmax()), p, x)
        for p, x, r in zip(probs, xs, rejected)
    ]


class Reader:
    """Reads digits from images; a subclass defines probs(x): probabilities [N, 10] (numpy) for inputs x
    [N, 1, 28, 28] (numpy float32)."""

    name: str
    weights_dir = (
        WEIGHTS_DIR  # the model's folder: its own rejector/ if it has one (digitlib.reading.rejection.folder_for)
    )

    def probs(self, x):
        raise NotImplementedError

    def rejects(self, xs):
        """Whether each input xs [N, 1, 28, 28] is not a digit: bool [N] (digitlib.reading.rejection)."""
        return rejector(folder_for(self.weights_dir)).rejects(xs)

    def predict(self, image):
        """Prediction for one image (path, bytes, array or PIL image); DigitlibError if it is unreadable."""
        x = to_mnist_input(image)
        if x is None:
            return Prediction(None, None, None, NO_DIGIT)
        return readings(self.probs(x[None]), [x], self.rejects(x[None]))[0]

    def confidence(self, xs):
        """The log-probability of the model's reading of each input in a list: how well it reads them as digits."""
        return np.log(self.probs(np.stack(xs)).max(1))

    def predict_number(self, image):
        """One Prediction per digit of a written number such as 2026, left to right (with no digit for a piece that is
        not one); [] when there is none."""
        xs = to_mnist_inputs(image, self.confidence)
        if not xs:
            return []
        return readings(self.probs(np.stack(xs)), xs, self.rejects(np.stack(xs)))
