"""Read digits, and written numbers, from any image: what the PyTorch Predictor and the ONNX Runtime reader share.

A Reader needs only `probs(x)`, a model's temperature-scaled class probabilities; the preprocessing, the reading
of one digit, the reading of a number (digits apart read by the model, digits that touch by the sequence reader,
digitlib.reading.sequence) and the rejection of what is not a digit (digitlib.reading.rejection, the same for every
model) are here, once, and need no torch.
"""

import contextlib
from dataclasses import dataclass

import numpy as np

from digitlib.constants import IMAGE_SIZE, WEIGHTS_DIR
from digitlib.errors import DigitlibError
from digitlib.reading import sequence
from digitlib.reading.preprocess import number_parts, to_mnist_input
from digitlib.reading.rejection import NO_DIGIT, NOT_A_DIGIT, folder_for, rejector

# A piece of ink the sequence reader splits, if narrow enough for one symbol, is one digit where the model is this sure
# of it as one (chosen on benchmarks/written_numbers.py: 0.9 and 0.98 lost numbers whose digits touch),
SURE_ONE_DIGIT = 0.995
# and one symbol that is no digit where the rejector is this sure of that (a letter in a number; its rejection
# threshold, 0.938, lost a tenth of the numbers whose digits touch: two digits together are no digit either;
# benchmarks/TRAINING.md)
SURE_NOT_A_DIGIT = 0.9999
# A split the model confirms, reading each part as the sequence reader did at least this sure, stands, where the piece
# is at least NARROWEST_PAIR times the number's height wide (touching numbers read right on tuning seeds 501-504: 345
# of 400 against 325, with a sequence reader that knows letters; benchmarks/TRAINING.md)
SURE_OF_A_PART = 0.9
NARROWEST_PAIR = 0.4
# ... and so does a split the sequence reader is this sure of, digit by digit, against the model's one digit (tuning
# seeds 501-504: 349 touching numbers of 400 read right against 346; 0.99 lost an apart one; benchmarks/TRAINING.md)
SURE_OF_THE_SPLIT = 0.995
# A digit of a number that both the sequence reader and the model read as one digit: the model's probabilities times
# the square root of the sequence reader's (tuning seeds: numbers written apart 389 of 400 against 388, nothing else
# changed; the power 1 lost a font digit; benchmarks/TRAINING.md). Not for a picture of one digit, which reads as the
# model reads it, as `predict` does and the dashboard explains.
SECOND_OPINION = 0.5


@dataclass
class Prediction:
    """digit: the class read, or None when the image holds no digit; probs: [10] or None; x: the [1, 28, 28] float32
    input seen (a numpy array); reason: why no digit is read ("no digit": no ink; "not a digit": ink that is none;
    the probabilities are still given), None when one is; centre: of a number's digit, where it was read, as a
    fraction of the picture's width."""

    digit: int | None
    probs: np.ndarray | None
    x: np.ndarray | None
    reason: str | None = None
    centre: float | None = None


def readings(probs, xs, rejected, centres=None):
    """A Prediction per input: the top digit of probs [N, 10], or none where rejected [N] says it is not a digit."""
    return [
        Prediction(None, p, x, NOT_A_DIGIT, c) if r else Prediction(int(p.argmax()), p, x, None, c)
        for p, x, r, c in zip(probs, xs, rejected, centres or [None] * len(xs))
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

    def warm_up(self):
        """Load and run once what readings use (the model, the rejector, the sequence reader), which would otherwise
        make the first reading several times slower than the next: a dashboard's kernel does it while it waits for a
        visitor. What is missing is said when a reading needs it."""
        x = np.zeros((1, 1, IMAGE_SIZE, IMAGE_SIZE), np.float32)
        strip = np.zeros((sequence.HEIGHT, sequence.MULTIPLE), np.float32)
        for run in (lambda: self.probs(x), lambda: self.rejects(x), lambda: sequence.step_probs(strip)):
            with contextlib.suppress(DigitlibError):
                run()

    def predict(self, image):
        """Prediction for one image (path, bytes, array or PIL image); DigitlibError if it is unreadable."""
        x = to_mnist_input(image)
        if x is None:
            return Prediction(None, None, None, NO_DIGIT)
        return readings(self.probs(x[None]), [x], self.rejects(x[None]))[0]

    def one_symbol(self, x, parts, width):
        """Whether a piece of ink the sequence reader split into parts (input x [1, 28, 28] of the whole, width in the
        number's heights) is one symbol after all. Not where the model reads each part as the sequence reader did (at
        least SURE_OF_A_PART sure) and the piece is wide enough for two digits: "91" is a 9 and a 1 that touch, not
        the 9 the model sees in the whole (but both halves of a thick 1 look like 1s). Else it is what the rejector is
        SURE_NOT_A_DIGIT sure is no digit, or a digit the model is SURE_ONE_DIGIT sure of, the rejector agreeing and
        the sequence reader less than SURE_OF_THE_SPLIT sure of one of its digits (a wide 2 it reads as "76" at 92%
        and 99%; an 18 it reads at 99.8% and 100% stays 18)."""
        probs = self.probs(np.stack([x] + [p.x for p in parts]))
        if width >= NARROWEST_PAIR and all(
            q.argmax() == p.probs.argmax() and q.max() >= SURE_OF_A_PART for q, p in zip(probs[1:], parts)
        ):
            return False
        judge = rejector(folder_for(self.weights_dir))
        not_digit = judge.not_digit_probs(x[None])[0]
        unsure = min(p.probs.max() for p in parts) < SURE_OF_THE_SPLIT
        return not_digit >= SURE_NOT_A_DIGIT or (
            not_digit <= judge.threshold and probs[0].max() >= SURE_ONE_DIGIT and unsure
        )

    def predict_number(self, image):
        """One Prediction per digit of a written number such as 2026, left to right (with no digit for a piece that is
        not one); [] when there is none. Digits that touch are read by the sequence reader; the model and the
        rejector read the rest, the model's probabilities weighed with the sequence reader's where it read one digit
        of several."""
        parts = number_parts(image, one_symbol=self.one_symbol)
        if not parts:
            return []
        xs = np.stack([p.x for p in parts])
        own = [i for i, p in enumerate(parts) if p.probs is None]
        probs, rejected = [p.probs for p in parts], [False] * len(parts)
        if own:
            for i, q, r in zip(own, self.probs(xs[own]), self.rejects(xs[own])):
                if parts[i].second is not None and len(parts) > 1:
                    q = q * parts[i].second ** SECOND_OPINION
                    q = q / q.sum()
                probs[i], rejected[i] = q, r
        return readings(probs, list(xs), rejected, [p.centre for p in parts])
