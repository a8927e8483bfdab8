"""A demo hand: one person's digits, unlike MNIST's, drawn as strokes on the dashboard's canvas from a seed.

The writer learnt a European hand and writes fast: a 1 with a long flag and a foot, a crossed 7, an open 4, a 9 on a
straight stem, a flat-topped 3, a 5 whose roof floats, a curly 2, an 8 of two stacked loops, a 0 slashed through
like a programmer's, and a 6 whose loop seldom closes. Every
drawing varies as one person's do (size, place, slant, pen, wobble) around that one style. They are rendered and
read exactly as the dashboard renders and reads a drawing, so they stand in for corrections a visitor made.
"""

import numpy as np

from digitlib.data.corrections import Sample, save
from digitlib.data.synth import arc
from digitlib.reading.preprocess import to_mnist_input
from digitlib.reading.strokes import HEIGHT, WIDTH, render

DEMO_PER_DIGIT = 40  # 400 drawings
DEMO_SEED = 2026


def six(rng):
    """A 6 written fast: its loop stops short of closing, by a varying amount."""
    return [[(0.7, 0.04), (0.38, 0.3), (0.25, 0.62)] + arc(0.5, 0.7, 0.25, 0.24, 180, rng.uniform(430, 510))]


# (x, y) points per stroke, in a unit box (x right, y down); or a function of a random generator giving them
STYLE = {
    0: [arc(0.5, 0.5, 0.3, 0.44, -90, 272), [(0.95, -0.05), (0.05, 1.05)]],  # slashed through and beyond
    1: [[(0.05, 0.55), (0.62, 0.02), (0.62, 0.96)], [(0.35, 0.96), (0.88, 0.96)]],
    2: [arc(0.5, 0.3, 0.28, 0.22, 190, 380) + [(0.3, 0.76), (0.2, 0.88), (0.28, 0.96), (0.38, 0.88), (0.88, 0.9)]],
    3: [[(0.18, 0.06), (0.82, 0.06), (0.42, 0.42)] + arc(0.48, 0.68, 0.32, 0.26, -80, 150)],
    4: [
        [(0.2, 0.04), (0.18, 0.45)] + arc(0.42, 0.45, 0.24, 0.18, 180, 90, 8)[1:] + [(0.8, 0.58)],
        [(0.66, 0.02), (0.66, 0.98)],
    ],
    5: [[(0.3, 0.15), (0.25, 0.45)] + arc(0.5, 0.66, 0.3, 0.26, -120, 150), [(0.42, 0.05), (0.88, 0.03)]],
    6: six,
    7: [[(0.12, 0.24), (0.16, 0.08), (0.86, 0.08), (0.4, 0.96)], [(0.3, 0.52), (0.78, 0.5)]],
    8: [arc(0.5, 0.26, 0.2, 0.2, 90, 450), arc(0.5, 0.7, 0.26, 0.24, -90, 270)],
    9: [arc(0.45, 0.28, 0.26, 0.23, 0, 360), [(0.71, 0.22), (0.71, 0.98)]],
}


def drawing(label, rng):
    """One drawing of digit label in this hand: strokes [(pen width, [(x, y), ...]), ...] in canvas pixels."""
    height = rng.uniform(130, 230)
    width = height * rng.uniform(0.62, 0.8)
    slant = rng.normal(0.25, 0.05)  # this writer leans forward
    turn = np.radians(rng.normal(0, 3))
    cx, cy = rng.uniform(width, WIDTH - width), rng.uniform(height / 2 + 10, HEIGHT - height / 2 - 10)
    pen = float(rng.uniform(10, 22))
    warp = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]]) @ np.array([[1, -slant], [0, 1]])
    strokes = []
    style = STYLE[label](rng) if callable(STYLE[label]) else STYLE[label]
    for stroke in style:
        p = (np.array(stroke) - 0.5) + rng.normal(0, 0.012, (len(stroke), 2))
        p = (p * [width, height]) @ warp.T + [cx, cy]
        strokes.append((pen, [(round(float(x), 1), round(float(y), 1)) for x, y in p.clip([0, 0], [WIDTH, HEIGHT])]))
    return strokes


def demo_hand(per_digit=DEMO_PER_DIGIT, seed=DEMO_SEED):
    """The demo hand's drawings as Samples (label, the input the network sees, strokes in meta), digits in turn:
    0, 1, ..., 9, 0, 1, ... The same seed gives the same samples everywhere."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(per_digit * 10):
        label = i % 10
        strokes = drawing(label, rng)
        sample_id = rng.bytes(16).hex()
        x = to_mnist_input(render(strokes))
        samples.append(Sample(sample_id, label, x, dict(id=sample_id, label=label, strokes=strokes, demo=seed)))
    return samples


def save_demo(folder, per_digit=DEMO_PER_DIGIT, seed=DEMO_SEED):
    """Save the demo hand's drawings into a corrections folder, as the dashboard saves corrections; their count."""
    samples = demo_hand(per_digit, seed)
    for s in samples:
        save(
            s.label,
            s.x,
            render(s.meta["strokes"]),
            strokes=s.meta["strokes"],
            model=None,
            folder=folder,
            sample_id=s.id,
        )
    return len(samples)
