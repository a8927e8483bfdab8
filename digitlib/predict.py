"""Read a digit from any image with a shipped model."""

from dataclasses import dataclass

import numpy as np
import torch

from digitlib import answers, weights
from digitlib.constants import WEIGHTS_DIR
from digitlib.models import DEFAULT_MODEL, variant
from digitlib.preprocess import to_mnist_input, to_mnist_inputs

CUT_COST = 0.1  # nats; see Predictor.reading_score


@dataclass
class Prediction:
    """digit: the class read, or None when the image holds no digit; probs: [10] or None; x: the [1, 28, 28] input seen."""

    digit: int | None
    probs: np.ndarray | None
    x: torch.Tensor | None


class Predictor:
    """A shipped model, loaded once (cached per process), that reads digits from images.

    Its probabilities are temperature-scaled with the temperature fitted on the validation split and stored
    beside the weights, so that "90% sure" is right about 90% of the time.
    """

    def __init__(self, model=DEFAULT_MODEL, weights_dir=WEIGHTS_DIR):
        variant(model)  # an unknown name fails here, with the list of known ones
        self.name = model
        self.model = weights.load_cached(model, weights_dir)
        self.temperature = weights.read_meta(model, weights_dir).get("temperature", 1.0)

    @torch.inference_mode()
    def probs(self, x):
        """Class probabilities [N, 10] for inputs [N, 1, 28, 28]."""
        return answers.probs(self.model(x), self.temperature).numpy()

    def predict(self, image):
        """Prediction for one image (path, bytes, array or PIL image); DigitlibError if it is unreadable."""
        x = to_mnist_input(image)
        if x is None:
            return Prediction(None, None, None)
        probs = self.probs(x[None])[0]
        return Prediction(int(probs.argmax()), probs, x)

    def reading_score(self, xs):
        """How well the model reads a list of inputs as digits: the mean log-probability of its readings, less
        CUT_COST for each digit beyond the first (so a digit is not cut into confident-looking slivers)."""
        return float(np.log(self.probs(torch.stack(xs)).max(1)).mean()) - CUT_COST * (len(xs) - 1)

    def predict_number(self, image):
        """One Prediction per digit of a written number such as 2026, left to right; [] when there is none."""
        xs = to_mnist_inputs(image, score=self.reading_score)
        if not xs:
            return []
        probs = self.probs(torch.stack(xs))
        return [Prediction(int(p.argmax()), p, x) for p, x in zip(probs, xs)]
