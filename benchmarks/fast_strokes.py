"""What a pointer throttle would cost a person who draws fast: digits read right against drawing speed.

A pointer reports its position 60 times a second. The dashboard's pad (digitlib.apps.pad) sends the kernel every point,
in batches ("every move" here). A throttle, as the page had before (ipyevents': a move at most every `wait` ms, a
leading and a trailing call, and the lift with its own position), cuts a corner passed between two sent moves. Each
stroke of the test digits (tests/browser/strokes.py: 10 digits in 4 pen styles, each wobbled --wobbles times) is
followed at a steady speed, in digit heights a second so that a small digit takes as long as a big one, the pointer's
first report at a random moment of its first 1/60 s (seeded). The points the kernel would get are rendered as the
dashboard renders them (digitlib.reading.strokes) and read with `best`.

    .venv/bin/python benchmarks/fast_strokes.py [--speeds 2 4 6 8 10] [--throttles 0 25 40] [--wobbles 10]
"""

import argparse
import sys

import numpy as np

from digitlib.constants import DEFAULT_MODEL, ROOT, WEIGHTS_DIR
from digitlib.reading import strokes as ink
from digitlib.reading.onnx_model import OnnxPredictor

sys.path.insert(0, str(ROOT / "tests" / "browser"))
from strokes import STYLES, strokes  # noqa: E402

POINTER_HZ = 60


def pointer(points, speed, phase):
    """[(t, x, y)]: where a pointer moving at `speed` px/s along the polyline reports itself, first `phase` s after the
    press, then 60 times a second; the last report is the lift."""
    p = np.asarray(points, float)
    along = np.r_[0, np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))]  # distance from the start
    duration = along[-1] / speed
    t = np.r_[np.arange(phase, duration, 1 / POINTER_HZ), duration]
    d = np.minimum(t * speed, along[-1])
    return list(zip(t, np.interp(d, along, p[:, 0]), np.interp(d, along, p[:, 1])))


def throttled(moves, wait):
    """The moves a leading-and-trailing throttle of `wait` seconds sends before the lift (the last of `moves`)."""
    sent, last, held = [], -np.inf, None
    for t, x, y in moves[:-1]:
        if held is not None and t >= last + wait:  # the trailing call, at last + wait
            sent.append(held)
            last, held = last + wait, None
        if t >= last + wait:
            sent.append((x, y))
            last = t
        else:
            held = (x, y)
    if held is not None and last + wait <= moves[-1][0]:
        sent.append(held)
    return sent


def received(stroke, speed, wait, phase):
    """The points of one stroke as the kernel gets them: the press, the moves sent, the lift."""
    moves = pointer(stroke, speed, phase)
    sent = throttled(moves, wait) if wait else [(x, y) for _, x, y in moves[:-1]]
    return [tuple(stroke[0]), *sent, tuple(moves[-1][1:])]


def score(reader, heights, wait, wobbles):
    """(digits read right, of how many, the misreadings) at `heights` digit heights a second, `wait` s of throttle."""
    rng = np.random.default_rng(0)  # the same pointer phases for every speed and throttle
    right, misread = 0, []
    for style, (pen, size, _) in STYLES.items():
        for digit in range(10):
            for seed in range(wobbles):
                drawn = [
                    received(s, heights * size, wait, rng.uniform(0, 1 / POINTER_HZ))
                    for s in strokes(digit, style, jitter=0.01, seed=seed)
                ]
                read = "".join(str(p.digit) for p in reader.predict_number(ink.render([(pen, s) for s in drawn])))
                right += read == str(digit)
                if read != str(digit):
                    misread.append(f"{style} {digit}->{read or '-'}")
    return right, len(STYLES) * 10 * wobbles, misread


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speeds", type=float, nargs="+", default=[2, 4, 6, 8, 10], help="digit heights a second")
    parser.add_argument(
        "--throttles", type=float, nargs="+", default=[0, 25, 40], help="ms; 0: every move, as the pad sends them"
    )
    parser.add_argument("--wobbles", type=int, default=10, help="wobbled copies of each digit in each style")
    args = parser.parse_args()
    reader = OnnxPredictor(DEFAULT_MODEL, WEIGHTS_DIR)
    for wait in args.throttles:
        for heights in args.speeds:
            right, total, misread = score(reader, heights, wait / 1000, args.wobbles)
            print(f"throttle {wait:g} ms, {heights:g} digit heights/s: {right}/{total} read right  {' '.join(misread)}")


if __name__ == "__main__":
    main()
