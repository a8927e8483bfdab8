"""Read digits that touch as one sequence: a network looks along a piece of ink and says which digit it sees where.

A written number's pieces of ink are those the paper separates (digitlib.reading.preprocess.split_digits); each may
be digits that touch (the foot of a 2 running into the next digit, a 1 leaning on a 7). A piece is brought to a
strip 28 px high like MNIST's digits and read whole by the sequence reader, a small convolutional network trained
with CTC loss (connectionist temporal classification): for every STRIDE columns of the strip it gives the
probabilities of "no symbol here" (the blank), of the ten digits and of a symbol that is no digit (a letter). The
reading is the most probable class of each step, repeats merged and blanks dropped (greedy decoding); each digit's
probabilities are the network's output at the step where it is surest of it, and that step's column is where the
digit was read. Nothing is cut first, so no digit is lost or doubled at a cut. A piece in which it reads a symbol
that is no digit goes whole to the model and the rejector (digitlib.reading.preprocess.read_piece).

It runs with ONNX Runtime (no torch, so the dashboard's kernel stays light); digitlib.training.sequence trains it on
strips of MNIST training digits, composed and written with a pen, from well apart to pushed into each other, letters
and symbols written among them, and writes weights/sequence/."""

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from digitlib.constants import WEIGHTS_DIR
from digitlib.reading.onnx_session import open_session
from digitlib.reading.resample import crop_to_ink, resize

SEQUENCE_DIR = WEIGHTS_DIR / "sequence"
NAME = "sequence"
INPUT, OUTPUT = "strip", "logits"
HEIGHT = 28  # a strip is as high as an MNIST digit,
BOX = 20  # its ink this high (MNIST's digit box),
PAD = 4  # with this many empty pixels around it
STRIDE = 2  # the network gives one step of probabilities for every this many columns of the strip
MULTIPLE = 4  # a strip's width is padded to a multiple of this (the network's pooling)
NON_DIGIT = 10  # the class of a symbol that is no digit (a letter in a number); classes 0-9 are the digits
BLANK = 11  # the class of "no symbol at this step"


@dataclass
class Read:
    """One digit read along a strip: the digit, its probabilities [10] over the digits, and the strip column where it
    was read."""

    digit: int
    probs: np.ndarray
    column: float


def strip_input(ink):
    """A [HEIGHT, W] float32 strip: ink cropped to its box, scaled to BOX pixels high, padded by PAD."""
    ink = crop_to_ink(ink)
    h, w = ink.shape
    small = resize(ink, BOX, max(1, round(w * BOX / h)))
    strip = np.zeros((HEIGHT, small.shape[1] + 2 * PAD), np.float32)
    strip[PAD:-PAD, PAD:-PAD] = np.clip(small / max(small.max(), 1e-6), 0, 1)
    return strip


@functools.cache
def session(folder=SEQUENCE_DIR):
    """The sequence reader's ONNX Runtime session, loaded once per process; DigitlibError if missing or unreadable."""
    hint = "retrain it with: python -m digitlib train-sequence"
    return open_session(folder / f"{NAME}.onnx", hint, what="sequence reader")


def padded(width):
    """The width a strip of `width` columns is padded to for the network: the next multiple of MULTIPLE."""
    return -(-width // MULTIPLE) * MULTIPLE


def step_probs(strip, folder=SEQUENCE_DIR):
    """Probabilities [steps, 12] (the ten digits, "not a digit", then the blank) along a strip [HEIGHT, W]."""
    width = padded(strip.shape[1])
    x = np.zeros((1, 1, HEIGHT, width), np.float32)
    x[0, 0, :, : strip.shape[1]] = strip
    logits = session(folder).run([OUTPUT], {INPUT: x})[0][0]  # [11, steps]
    return softmax(logits.T.astype(np.float64), axis=1)


def decode(steps):
    """The symbols of probabilities [steps, 12], greedily: each step's most probable class, runs merged, blanks
    dropped. A symbol's probabilities are those of the step in its run where it is surest, renormalised over the ten
    digits; its digit is NON_DIGIT for a symbol that is none."""
    best = steps.argmax(1)
    read = []
    for start in np.flatnonzero(np.diff(best, prepend=-1)):  # the first step of each run
        digit = int(best[start])
        if digit == BLANK:
            continue
        stop = start + 1
        while stop < len(best) and best[stop] == digit:
            stop += 1
        at = start + int(steps[start:stop, digit].argmax())
        digits = steps[at, :NON_DIGIT]
        read.append(Read(digit, digits / digits.sum(), STRIDE * at + STRIDE / 2))
    return read


def read_strip(ink, folder=SEQUENCE_DIR):
    """The digits read along a piece of ink (any scale), left to right, each with its column as a fraction of the
    ink's width (0 its left edge, 1 its right)."""
    strip = strip_input(ink)
    inner = strip.shape[1] - 2 * PAD
    return [
        Read(r.digit, r.probs, float(np.clip((r.column - PAD) / inner, 0, 1)))
        for r in decode(step_probs(strip, folder))
    ]
