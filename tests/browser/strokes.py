"""Mouse strokes for the digits 0-9, as a person draws them, in a unit box (x right, y down)."""

import numpy as np

from digitlib.data.synth import TEMPLATES

# the digits as a person draws them, shared with digitlib.data.synth's test pictures
DIGITS = TEMPLATES


# (pen width, box size, box centre) on a 560x280 canvas: normal, fine pen, marker, small in a corner
STYLES = {
    "normal": (16, 200, (280, 140)),
    "thin": (5, 170, (170, 135)),
    "thick": (30, 230, (400, 140)),
    "small": (9, 70, (60, 50)),
}


def strokes(digit, style="normal", jitter=0.0, seed=0):
    """Canvas-pixel strokes for a digit in a style: [[(x, y), ...], ...]; jitter wobbles the points."""
    _, size, (cx, cy) = STYLES[style]
    rng = np.random.default_rng(seed)
    out = []
    for stroke in DIGITS[digit]:
        p = np.array(stroke) + rng.normal(0, jitter, (len(stroke), 2))
        out.append([(cx + (x - 0.5) * size, cy + (y - 0.5) * size) for x, y in p])
    return out
