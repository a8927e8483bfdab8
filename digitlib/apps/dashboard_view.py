"""What the dashboard shows for the digits read: texts, probability bars, crops and pictures, as plain values.

No widgets here: `shown()` turns predictions into a `Shown`, and digitlib.apps.dashboard only copies it into its
widgets. Numpy and PIL only: the dashboard's kernel runs without torch and matplotlib.
"""

import html
from dataclasses import dataclass

import numpy as np

from digitlib.constants import CLASSES
from digitlib.reading.answers import percent, verdict
from digitlib.reading.explain_np import most_active
from digitlib.reading.images import data_url, png

FEATURES_SHOWN = 8  # channels shown per conv layer: the most active, as in digitlib.studies.plots.feature_maps
INVITE = "Draw a digit, or a number such as 2026, with the mouse, a finger or a pen: the reading shows here."
NOT_FOUND = "No digit found: draw a little bigger or bolder."
NOT_A_DIGIT = "That doesn't look like a digit"
KEPT = "The canvas and its reading are kept: upload another picture, or draw."
READING_PX = 120  # font size of a reading of up to READING_FITS characters; longer numbers get smaller
READING_FITS = 3
CORRECT = "Wrong? It is a:"
NOT_A_DIGIT_BUTTON = "not a digit"  # the correction beside 0-9 (corrections.NOT_A_DIGIT_LABEL)
SAVING_ON = "Saving is on: the digit you choose is kept on this server with your drawing, to teach a personal model."
# (title, caption) of each panel that explains a reading, worded for a learner
SEEN = ("What the network sees", "Your drawing shrunk to 28 × 28 pixels: this is all the network gets.")
HEAT = ("What mattered most", "Bright spots: covering them up makes the network the least sure of its answer.")
DIGITS = (
    "Digit by digit",
    "Digits apart are read one by one; digits that touch are read together, along the ink (the marks under the"
    " drawing show where). Each picture is that digit's part of the ink.",
)
FEATURES = (
    "Inside the network",
    "Each layer has filters that look for a pattern (an edge, a curve, a corner); a filter's picture is bright where"
    f" it found its pattern in your drawing. Shown: the {FEATURES_SHOWN} most active filters of each layer.",
)
# matplotlib's "inferno" at 9 evenly spaced points, interpolated linearly between them
INFERNO = (
    np.array(
        [
            [0, 0, 4],
            [33, 12, 74],
            [87, 16, 110],
            [138, 34, 106],
            [188, 55, 84],
            [228, 90, 49],
            [249, 142, 9],
            [249, 203, 53],
            [252, 255, 164],
        ]
    )
    / 255
)


@dataclass
class Shown:
    """What to show for one reading, or for none. digit: the whole reading ("7", "2026"; "" for none) in
    digit_px pixels; status: one line under it; bars: the probabilities ("" for
    none); crops: each digit of a number ("" for one digit); x: the [1, 28, 28] input (numpy) the pictures explain,
    or None for no pictures."""

    digit: str
    status: str
    bars: str = ""
    crops: str = ""
    x: np.ndarray | None = None

    @property
    def digit_px(self):
        return READING_PX if len(self.digit) <= READING_FITS else max(32, READING_PX * READING_FITS // len(self.digit))


def main_reading(digits):
    """The digit the views explain: the only one, or of a number the one with the most ink."""
    return max(digits, key=lambda p: float(p.x.sum()))


def closest(probs):
    """What a rejected reading was nearest to: "closest: 4, 31.0%"."""
    top = int(np.argmax(probs))
    return f"closest: {top}, {percent(probs[top])}"


def rejected(digits):
    """What to show when some of the Predictions read are not digits: a "?" in their place, the bars greyed."""
    main = next(p for p in digits if p.digit is None)
    reading = "".join("?" if p.digit is None else str(p.digit) for p in digits)
    where = "" if len(digits) == 1 else f" (piece {digits.index(main) + 1} of {len(digits)})"
    bars = bars_html(main.probs, greyed=True)
    crops = "".join(crop_html(p) for p in digits) if len(digits) > 1 else ""
    return Shown(reading, f"{NOT_A_DIGIT}{where}: {closest(main.probs)}.", bars, crops, main.x)


def shown(digits, drawn):
    """What to show for the Predictions read (left to right); drawn: whether there is anything to read at all.
    Nothing read shows only a line of text: no bars, no pictures; a reading that is not a digit, NOT_A_DIGIT."""
    if not digits:
        return Shown("", NOT_FOUND if drawn else INVITE)
    if any(p.digit is None for p in digits):
        return rejected(digits)
    main = main_reading(digits)
    number = "".join(str(p.digit) for p in digits)
    if len(digits) == 1:
        return Shown(number, verdict(main.probs).capitalize(), bars_html(main.probs), x=main.x)
    status = f"{len(digits)} digits. The bars and pictures explain the {main.digit} ({verdict(main.probs)})."
    bars = f'<div class="digit-caption">For the {main.digit}, the digit with the most ink</div>{bars_html(main.probs)}'
    return Shown(number, status, bars, "".join(crop_html(p) for p in digits), main.x)


def failed(message):
    """The status line for a picture that cannot be read (a text file uploaded): the message, and that nothing on
    the canvas was lost."""
    return f"{message}. {KEPT}"


def named(label):
    """A correction's label as the status line says it: "a 7", or "not a digit" (the label 10)."""
    return NOT_A_DIGIT_BUTTON if label == len(CLASSES) else f"a {label}"


def saved(label, read, again=False):
    """The status line once a drawing read as `read` (None: not a digit) has been saved as a `label` (again: its
    label was changed)."""
    if again:
        return f"Changed: saved as {named(label)}."
    if label == read or (read is None and label == len(CLASSES)):
        return f"Saved as {named(label)}, which the network read right."
    return f"Saved as {named(label)}: thank you. The personal model learns from it when it is next fine-tuned."


def too_many(count):
    """Why a correction was not saved when a visitor saved count new drawings within the last minute."""
    return f"You saved {count} drawings within a minute: wait a little before saving the next"


def not_saved(message):
    """The status line when a correction could not be saved: why, and that nothing was lost."""
    return f"{message}. The drawing is kept."


def img(png_bytes, alt):
    """An <img> of a PNG, with the text a screen reader says for it."""
    return f'<img src="{data_url(png_bytes)}" alt="{html.escape(alt)}">'


def seen_png(x):
    """The input x [1, 28, 28] the network saw, enlarged."""
    return png(x[0], scale=5)


def inferno(values):
    """RGB floats [..., 3] for values in [0, 1], coloured dark purple to pale yellow."""
    at = np.linspace(0, 1, len(INFERNO))
    return np.stack([np.interp(values, at, INFERNO[:, c]) for c in range(3)], -1)


def overlay(x, heat):
    """The input in grey with a heat map blended over it, as RGB uint8 [28, 28, 3]."""
    grey = np.repeat(x[..., None], 3, -1)
    hot = inferno(heat)
    return ((0.45 * grey + 0.75 * hot).clip(0, 1) * 255).astype(np.uint8)


def heat_png(x, heat):
    """What decided the reading of x [1, 28, 28]: its occlusion map heat [28, 28] over it, enlarged."""
    return png(overlay(x[0], heat), scale=5)


def bars_html(probs, greyed=False):
    """The ten probabilities as a bar table, top three in bold, worded like the status line; greyed for a reading
    that is not a digit."""
    top3 = set(np.argsort(probs)[-3:]) if probs.any() else set()
    rows = "".join(
        f'<tr class="{"top" if d in top3 else ""}"><td>{d}</td>'
        f'<td style="width:160px"><div class="bar" style="width:{max(p * 100, 0.5):.1f}%"></div></td>'
        f"<td>{percent(p)}</td></tr>"
        for d, p in enumerate(probs)
    )
    return f'<table class="digit-bars{" greyed" if greyed else ""}">{rows}</table>'


def marks_html(digits, left=0.0, span=1.0):
    """Under the drawing, a mark where each digit of a number was read, with its reading ("" for one digit or none).

    left, span: where the picture read lies on the canvas, as fractions of the canvas's width."""
    if len(digits) < 2:
        return ""
    marks = "".join(
        f'<span class="digit-mark" style="left:{100 * (left + span * p.centre):.1f}%">'
        f"{'?' if p.digit is None else p.digit}</span>"
        for p in digits
    )
    return f'<div class="digit-marks" title="where each digit was read">{marks}</div>'


def crop_html(p):
    """One digit of a number: what the network saw and what it read."""
    seen = "not a digit" if p.digit is None else f"the {p.digit}"
    picture = img(png(p.x[0], scale=2), f"{seen} as the network saw it")
    return (
        f'<div style="display:inline-block;text-align:center;margin-right:8px">{picture}'
        f"<br><b>{'?' if p.digit is None else p.digit}</b> "
        f"{verdict(p.probs) if p.digit is not None else 'not a digit'}</div>"
    )


def tile(maps, cell=56):
    """The FEATURES_SHOWN most active channels of one conv layer's activations [C, H, W] side by side, each
    scaled to [0, 1]."""
    maps = np.asarray(maps)[most_active(maps, FEATURES_SHOWN)]
    lo, hi = maps.min((1, 2), keepdims=True), maps.max((1, 2), keepdims=True)
    maps = (maps - lo) / np.maximum(hi - lo, 1e-6)
    h, w = maps.shape[1:]
    row = np.ones((h, len(maps) * (w + 1) - 1), np.float32)
    for i, m in enumerate(maps):
        row[:, i * (w + 1) : i * (w + 1) + w] = m
    return png(row, scale=max(1, cell // h))


def features_html(name, maps):
    """The feature maps of every conv layer of the model called name, one row per layer: maps is a list of [C, H, W]
    arrays, empty for a fully connected model; "" for None (no input)."""
    if maps is None:
        return ""
    if not maps:
        return f"The model {name} is fully connected: it has no filters whose pictures could be shown."
    return "".join(
        f"<div>Layer {i + 1}: {len(m)} filters, each a {m.shape[1]} × {m.shape[2]} picture"
        f"{f' ({FEATURES_SHOWN} shown)' if len(m) > FEATURES_SHOWN else ''}</div>"
        + img(tile(m), f"the {min(len(m), FEATURES_SHOWN)} most active filters of layer {i + 1}")
        for i, m in enumerate(maps)
    )
