"""Whether a 28x28 input is a digit at all: the rejector, a small network apart from the digit models, run by ONNX
Runtime without torch, so that every Reader (PyTorch or ONNX, any model) says "not a digit" the same way.

weights/rejector/ holds rejector.safetensors and rejector.json (written by digitlib.training.rejector, with the
threshold chosen on the validation sets) and rejector.onnx. A digit model's softmax is no guide here: it spreads 100%
over ten digits whatever it is shown, and reads a letter A as 4 at 99.9%.
"""

import functools
from pathlib import Path

import numpy as np

from digitlib.constants import WEIGHTS_DIR
from digitlib.errors import DigitlibError
from digitlib.files import read_json
from digitlib.reading.answers import probs
from digitlib.reading.onnx_session import open_session

REJECTOR_DIR = WEIGHTS_DIR / "rejector"
NAME = "rejector"
DIGIT, NOT_DIGIT = 0, 1  # the rejector's two classes
NOT_A_DIGIT = "not a digit"  # a picture whose ink is no digit
NO_DIGIT = "no digit"  # a picture without ink
HINT = "retrain it with: python -m digitlib train-rejector"


class Rejector:
    """The rejector in folder: not_digit_probs(x) for inputs [N, 1, 28, 28]; rejects(x) above its threshold."""

    def __init__(self, folder=REJECTOR_DIR):
        from digitlib.reading.onnx_model import INPUT, LOGITS  # here: onnx_model imports the reader, which imports this

        self.input, self.logits = INPUT, LOGITS
        self.session = open_session(folder / f"{NAME}.onnx", HINT, what="rejector model")
        try:
            self.threshold = float(read_json(folder / f"{NAME}.json")["threshold"])
        except (OSError, ValueError, KeyError, TypeError):
            raise DigitlibError(f"no threshold in {folder / f'{NAME}.json'}; {HINT}") from None

    def not_digit_probs(self, x):
        """The probability [N] that each input x [N, 1, 28, 28] holds no digit."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        return probs(self.session.run([self.logits], {self.input: x})[0])[:, NOT_DIGIT]

    def rejects(self, x):
        """Whether each input x [N, 1, 28, 28] is not a digit: bool [N]."""
        return self.not_digit_probs(x) > self.threshold


@functools.lru_cache(maxsize=4)
def rejector(folder=REJECTOR_DIR):
    """The Rejector in folder, loaded once per process."""
    return Rejector(folder)


def folder_for(weights_dir):
    """The rejector a model in weights_dir reads with: the folder's own rejector/ (a personal model's, fine-tuned on
    its corrections), else the shipped one."""
    own = Path(weights_dir) / NAME
    return own if (own / f"{NAME}.onnx").is_file() else REJECTOR_DIR
