"""Read a digit from any image with a shipped model, in PyTorch."""

import torch

from digitlib.constants import DEFAULT_MODEL, WEIGHTS_DIR
from digitlib.models import weights
from digitlib.models.zoo import variant
from digitlib.reading import answers
from digitlib.reading.reader import Prediction, Reader  # noqa: F401 -- Prediction is read from here too


class Predictor(Reader):
    """A shipped model, loaded once (cached per process), that reads digits from images (see digitlib.reading.reader).

    Its probabilities are temperature-scaled with the temperature fitted on the validation split and stored
    beside the weights, so that "90% sure" is right about 90% of the time.
    """

    def __init__(self, model=DEFAULT_MODEL, weights_dir=WEIGHTS_DIR):
        variant(model)  # an unknown name fails here, with the list of known ones
        self.name, self.weights_dir = model, weights_dir
        self.model = weights.load_cached(model, weights_dir)
        self.temperature = weights.read_meta(model, weights_dir).get("temperature", 1.0)

    @torch.inference_mode()
    def probs(self, x):
        """Class probabilities [N, 10] (numpy) for inputs [N, 1, 28, 28] (a tensor or a numpy array)."""
        return answers.probs(self.model(torch.as_tensor(x)), self.temperature).numpy()
