"""Where one digit ends and the next begins, in a piece of ink that holds digits that touch.

Digits written apart are separated by the paper between them (digitlib.reading.preprocess.split_digits). Digits that
touch (the foot of a 2 running into the next digit) make one piece of ink, and a column cut chosen by the reader alone
tends to keep two squeezed digits as one. The cutter is a small convolutional network that looks along the piece,
brought to a strip 28 px high like MNIST's digits, and gives, for every 2 px of its width, the probability that a
boundary between two digits lies there. The chosen model then reads each part as one digit.

The cutter runs with ONNX Runtime (no torch, so the dashboard's kernel stays light); digitlib.training.cutter trains it
on strips of MNIST training digits written into each other, and writes weights/cutter/.
"""

import functools

import numpy as np

from digitlib.constants import WEIGHTS_DIR
from digitlib.reading.onnx_session import open_session
from digitlib.reading.resample import crop_to_ink, resize

CUTTER_DIR = WEIGHTS_DIR / "cutter"
NAME = "cutter"
INPUT, OUTPUT = "strip", "boundary"
HEIGHT = 28  # a strip is as high as an MNIST digit,
BOX = 20  # its ink this high (MNIST's digit box),
PAD = 4  # with this many empty pixels around it
STRIDE = 2  # the cutter gives a boundary probability for every this many columns of the strip
BOUNDARY = 0.5  # a boundary is where that probability peaks above this,
MIN_DIGIT = 0.3  # and boundaries are at least this fraction of the strip's ink height apart


def strip_input(ink):
    """A [HEIGHT, W] float32 strip for the cutter: ink cropped to its box, scaled to BOX pixels high, padded by PAD."""
    ink = crop_to_ink(ink)
    h, w = ink.shape
    small = resize(ink, BOX, max(1, round(w * BOX / h)))
    strip = np.zeros((HEIGHT, small.shape[1] + 2 * PAD), np.float32)
    strip[PAD:-PAD, PAD:-PAD] = np.clip(small / max(small.max(), 1e-6), 0, 1)
    return strip


def peaks(boundary):
    """Frames (indices of boundary) where a boundary lies: peaks above BOUNDARY, at least MIN_DIGIT * BOX apart."""
    gap = MIN_DIGIT * BOX / STRIDE
    chosen = []
    for t in np.argsort(-boundary, kind="stable"):
        if boundary[t] < BOUNDARY:
            break
        if all(abs(t - u) >= gap for u in chosen):
            chosen.append(int(t))
    return sorted(chosen)


@functools.cache
def session(folder=CUTTER_DIR):
    """The cutter's ONNX Runtime session, loaded once per process; DigitlibError if it is missing or unreadable."""
    hint = "retrain it with: python -m digitlib train-cutter"
    return open_session(folder / f"{NAME}.onnx", hint, what="cutter model")


def boundary(strip, folder=CUTTER_DIR):
    """Boundary probabilities [W // STRIDE] along a strip [HEIGHT, W] (W padded to a multiple of 4 inside)."""
    width = -(-strip.shape[1] // 4) * 4
    x = np.zeros((1, 1, HEIGHT, width), np.float32)
    x[0, 0, :, : strip.shape[1]] = strip
    logits = session(folder).run([OUTPUT], {INPUT: x})[0][0, 0]
    return 1 / (1 + np.exp(-logits))


def cut_columns(ink, first, last, folder=CUTTER_DIR):
    """Columns of the picture, between first and last (the piece's ink), at which its digits meet; [] for one digit.

    ink: the piece's ink as digitlib.reading.preprocess gives it to the cutter (any scale, spanning first..last).
    """
    strip = strip_input(ink)
    inner = strip.shape[1] - 2 * PAD  # strip columns per picture span
    span = last + 1 - first
    return [first + round((STRIDE * t + STRIDE / 2 - PAD) * span / inner) for t in peaks(boundary(strip, folder))]
