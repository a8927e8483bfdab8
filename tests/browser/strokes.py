"""Mouse strokes for the digits 0-9, as a person draws them, in a unit box (x right, y down)."""

import numpy as np


def arc(cx, cy, rx, ry, start, stop, n=20):
    """Points on an ellipse from angle start to stop (degrees; 0 is right, 90 is down on screen)."""
    t = np.radians(np.linspace(start, stop, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


DIGITS = {
    0: [arc(0.5, 0.5, 0.3, 0.42, -90, 275)],
    1: [[(0.35, 0.22), (0.55, 0.06), (0.55, 0.94)]],
    2: [arc(0.5, 0.32, 0.28, 0.24, 200, 390) + [(0.15, 0.9), (0.88, 0.9)]],
    3: [arc(0.48, 0.29, 0.26, 0.2, 200, 450) + arc(0.48, 0.7, 0.3, 0.22, -90, 160)],
    4: [[(0.6, 0.06), (0.15, 0.62), (0.85, 0.62)], [(0.62, 0.3), (0.62, 0.96)]],
    5: [[(0.78, 0.08), (0.3, 0.08), (0.26, 0.45)] + arc(0.5, 0.66, 0.3, 0.25, -120, 150)],
    6: [[(0.72, 0.06), (0.5, 0.14), (0.32, 0.34), (0.25, 0.6)] + arc(0.5, 0.68, 0.25, 0.24, 180, 540)],
    7: [[(0.15, 0.08), (0.85, 0.08), (0.4, 0.94)]],
    8: [arc(0.5, 0.27, 0.22, 0.2, 90, 450) + arc(0.5, 0.71, 0.27, 0.23, -90, 270)],
    9: [arc(0.5, 0.3, 0.25, 0.22, 0, 360) + [(0.75, 0.3), (0.72, 0.94)]],
}

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
