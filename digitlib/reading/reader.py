"""Read digits, and written numbers, from any image: what the PyTorch Predictor and the ONNX Runtime reader share.

A Reader needs only `probs(x)`, a model's temperature-scaled class probabilities; the preprocessing, the reading
of one digit and the cutting of a number into digits are here, once, and need no torch.
"""

from dataclasses import dataclass

import numpy as np

from digitlib.reading.preprocess import to_mnist_input, to_mnist_inputs


@dataclass
class Prediction:
    """digit: the class read, or None when the image holds no digit; probs: [10] or None; x: the [1, 28, 28] float32
    input seen (a numpy array)."""

    digit: int | None
    probs: np.ndarray | None
    x: np.ndarray | None


class Reader:
    """Reads digits from images; a subclass defines probs(x): probabilities [N, 10] (numpy) for inputs x
    [N, 1, 28, 28] (numpy float32)."""

    name: str

    def probs(self, x):
        raise NotImplementedError

    def predict(self, image):
        """Prediction for one image (path, bytes, array or PIL image); DigitlibError if it is unreadable."""
        x = to_mnist_input(image)
        if x is None:
            return Prediction(None, None, None)
        probs = self.probs(x[None])[0]
        return Prediction(int(probs.argmax()), probs, x)

    def confidence(self, xs):
        """The log-probability of the model's reading of each input in a list: how well it reads them as digits."""
        return np.log(self.probs(np.stack(xs)).max(1))

    def predict_number(self, image):
        """One Prediction per digit of a written number such as 2026, left to right; [] when there is none."""
        xs = to_mnist_inputs(image, self.confidence)
        if not xs:
            return []
        probs = self.probs(np.stack(xs))
        return [Prediction(int(p.argmax()), p, x) for p, x in zip(probs, xs)]
