"""Seeded pictures that hold no digit: letters, symbols, doodles, scribbles, and paper without ink.

A shape is drawn as digitlib.data.synth draws digits: line segments [K, 4] in a unit box, put on paper by one of synth's
conditions (a clean pen, a marker, chalk, a phone photo...). Letters come from stroke templates written here or
from handwriting fonts; shapes a reader takes for a digit (O, l, I, S, Z, B, G, q, a slashed 0, a crossed 7) are never
negatives: DIGIT_LIKE lists them with the digit they read as. Textures are drawn directly: paper with grain,
shadows, blotches or ruled lines, and photos of an empty page on a desk.
"""

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFont

from digitlib.constants import DATA_DIR, IMAGE_SIZE
from digitlib.data import synth
from digitlib.data.synth import HELD_OUT_FONT_FILES, HELD_OUT_FONT_PACKAGES, arc
from digitlib.files import write_atomic
from digitlib.reading import preprocess
from digitlib.reading.preprocess import to_mnist_input


def heart(n=40):
    """The classic parametric heart, as points in a unit box."""
    t = np.linspace(0, 2 * np.pi, n)
    x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return list(zip((x + 17) / 34, (y + 17) / 34))


def star(points=5):
    """A star drawn in one stroke, every second point joined."""
    angles = np.radians(-90 + 144 * np.arange(points + 1))
    return [list(zip(0.5 + 0.45 * np.cos(angles), 0.5 + 0.45 * np.sin(angles)))]


def sun(rays=8):
    """A circle with rays around it."""
    a = np.radians(np.arange(rays) * 360 / rays)
    return [arc(0.5, 0.5, 0.22, 0.22, 0, 360)] + [
        [(0.5 + 0.3 * np.cos(t), 0.5 + 0.3 * np.sin(t)), (0.5 + 0.47 * np.cos(t), 0.5 + 0.47 * np.sin(t))] for t in a
    ]


def flower(petals=5):
    """A centre with round petals."""
    a = np.radians(np.arange(petals) * 360 / petals)
    return [arc(0.5, 0.5, 0.1, 0.1, 0, 360)] + [
        arc(0.5 + 0.28 * np.cos(t), 0.5 + 0.28 * np.sin(t), 0.17, 0.17, 0, 360) for t in a
    ]


# Letters as a person writes them, in a unit box (x right, y down): those that read as no digit
LETTERS = {
    "A": [[(0.1, 0.95), (0.5, 0.05), (0.9, 0.95)], [(0.27, 0.6), (0.73, 0.6)]],
    "C": [arc(0.55, 0.5, 0.4, 0.45, -45, -315)],
    "E": [[(0.8, 0.05), (0.2, 0.05), (0.2, 0.95), (0.8, 0.95)], [(0.2, 0.5), (0.7, 0.5)]],
    "F": [[(0.8, 0.05), (0.2, 0.05), (0.2, 0.95)], [(0.2, 0.5), (0.65, 0.5)]],
    "H": [[(0.2, 0.05), (0.2, 0.95)], [(0.8, 0.05), (0.8, 0.95)], [(0.2, 0.5), (0.8, 0.5)]],
    "K": [[(0.2, 0.05), (0.2, 0.95)], [(0.8, 0.05), (0.2, 0.55)], [(0.35, 0.42), (0.85, 0.95)]],
    "L": [[(0.2, 0.05), (0.2, 0.95), (0.8, 0.95)]],
    "M": [[(0.1, 0.95), (0.15, 0.05), (0.5, 0.6), (0.85, 0.05), (0.9, 0.95)]],
    "N": [[(0.2, 0.95), (0.2, 0.05), (0.8, 0.95), (0.8, 0.05)]],
    "P": [[(0.25, 0.95), (0.25, 0.05)] + arc(0.45, 0.28, 0.3, 0.23, -90, 90) + [(0.25, 0.51)]],
    "R": [[(0.25, 0.95), (0.25, 0.05)] + arc(0.45, 0.28, 0.3, 0.23, -90, 90) + [(0.25, 0.51), (0.8, 0.95)]],
    "T": [[(0.1, 0.05), (0.9, 0.05)], [(0.5, 0.05), (0.5, 0.95)]],
    "U": [[(0.2, 0.05), (0.2, 0.62)] + arc(0.5, 0.62, 0.3, 0.33, 180, 0) + [(0.8, 0.05)]],
    "V": [[(0.1, 0.05), (0.5, 0.95), (0.9, 0.05)]],
    "W": [[(0.05, 0.05), (0.27, 0.95), (0.5, 0.35), (0.73, 0.95), (0.95, 0.05)]],
    "X": [[(0.15, 0.05), (0.85, 0.95)], [(0.85, 0.05), (0.15, 0.95)]],
    "Y": [[(0.15, 0.05), (0.5, 0.5), (0.85, 0.05)], [(0.5, 0.5), (0.5, 0.95)]],
    "a": [arc(0.45, 0.62, 0.3, 0.33, 0, 360), [(0.75, 0.3), (0.78, 0.95)]],
    "d": [arc(0.4, 0.65, 0.28, 0.3, 0, 360), [(0.68, 0.05), (0.68, 0.95)]],
    "e": [[(0.15, 0.5), (0.85, 0.5)] + arc(0.5, 0.5, 0.35, 0.42, 0, -320)],
    "f": [arc(0.6, 0.2, 0.2, 0.15, -20, -180) + [(0.4, 0.95)], [(0.2, 0.4), (0.7, 0.4)]],
    "h": [[(0.2, 0.05), (0.2, 0.95)], [(0.2, 0.6)] + arc(0.5, 0.6, 0.3, 0.25, 180, 360) + [(0.8, 0.95)]],
    "k": [[(0.2, 0.05), (0.2, 0.95)], [(0.75, 0.4), (0.2, 0.72), (0.8, 0.95)]],
    "m": [
        [(0.1, 0.95), (0.1, 0.35)] + arc(0.3, 0.45, 0.2, 0.2, 180, 360) + [(0.5, 0.95)],
        [(0.5, 0.45)] + arc(0.7, 0.45, 0.2, 0.2, 180, 360) + [(0.9, 0.95)],
    ],
    "n": [[(0.2, 0.95), (0.2, 0.3)], [(0.2, 0.55)] + arc(0.5, 0.55, 0.3, 0.25, 180, 360) + [(0.8, 0.95)]],
    "r": [[(0.25, 0.95), (0.25, 0.3)], [(0.25, 0.6)] + arc(0.55, 0.6, 0.3, 0.25, 180, 300)],
    "t": [[(0.45, 0.05), (0.45, 0.8)] + arc(0.6, 0.8, 0.15, 0.15, 180, 60), [(0.2, 0.3), (0.75, 0.3)]],
    "y": [[(0.15, 0.05), (0.5, 0.55)], [(0.85, 0.05), (0.35, 0.95)]],
}

SYMBOLS = {
    "+": [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]],
    "=": [[(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)]],
    "?": [arc(0.5, 0.27, 0.28, 0.22, 200, 450) + [(0.5, 0.49), (0.5, 0.7)], [(0.5, 0.88), (0.5, 0.94)]],
    "#": [
        [(0.35, 0.05), (0.3, 0.95)],
        [(0.7, 0.05), (0.65, 0.95)],
        [(0.1, 0.35), (0.9, 0.35)],
        [(0.1, 0.65), (0.9, 0.65)],
    ],
    "@": [arc(0.5, 0.5, 0.18, 0.2, 0, 360) + [(0.68, 0.6), (0.8, 0.65)] + arc(0.5, 0.5, 0.45, 0.45, 20, 330)],
    "&": [
        [
            (0.85, 0.95),
            (0.35, 0.4),
            (0.3, 0.2),
            (0.45, 0.05),
            (0.6, 0.2),
            (0.55, 0.35),
            (0.2, 0.65),
            (0.25, 0.9),
            (0.5, 0.95),
            (0.8, 0.55),
        ]
    ],  # fmt: skip
    "%": [[(0.8, 0.1), (0.2, 0.9)], arc(0.25, 0.2, 0.12, 0.12, 0, 360), arc(0.75, 0.8, 0.12, 0.12, 0, 360)],
    "*": [[(0.5, 0.1), (0.5, 0.9)], [(0.15, 0.3), (0.85, 0.7)], [(0.85, 0.3), (0.15, 0.7)]],
    "<": [[(0.85, 0.1), (0.15, 0.5), (0.85, 0.9)]],
    ">": [[(0.15, 0.1), (0.85, 0.5), (0.15, 0.9)]],
    "~": [list(zip(np.linspace(0.05, 0.95, 20), 0.5 - 0.15 * np.sin(np.linspace(0, 2 * np.pi, 20))))],
    "check": [[(0.1, 0.55), (0.4, 0.9), (0.9, 0.1)]],
}

DOODLES = {
    "smiley": [
        arc(0.5, 0.5, 0.45, 0.45, 0, 360),
        [(0.35, 0.33), (0.35, 0.42)],
        [(0.65, 0.33), (0.65, 0.42)],
        arc(0.5, 0.55, 0.22, 0.18, 20, 160),
    ],
    "star": star(),
    "arrow": [[(0.05, 0.5), (0.95, 0.5)], [(0.7, 0.25), (0.95, 0.5), (0.7, 0.75)]],
    "house": [
        [(0.15, 0.45), (0.15, 0.95), (0.85, 0.95), (0.85, 0.45), (0.15, 0.45), (0.5, 0.05), (0.85, 0.45)],
        [(0.42, 0.95), (0.42, 0.7), (0.58, 0.7), (0.58, 0.95)],
    ],
    "heart": [heart()],
    "sun": sun(),
    "flower": flower(),
    "stick figure": [
        arc(0.5, 0.15, 0.12, 0.12, 0, 360),
        [(0.5, 0.27), (0.5, 0.65)],
        [(0.2, 0.42), (0.8, 0.42)],
        [(0.3, 0.95), (0.5, 0.65), (0.7, 0.95)],
    ],
    "fish": [arc(0.42, 0.5, 0.32, 0.2, 0, 360), [(0.72, 0.5), (0.95, 0.3), (0.95, 0.7), (0.72, 0.5)]],
    "tree": [[(0.45, 0.95), (0.45, 0.6)], [(0.55, 0.95), (0.55, 0.6)], arc(0.5, 0.35, 0.35, 0.28, 0, 360)],
    "envelope": [[(0.05, 0.2), (0.95, 0.2), (0.95, 0.8), (0.05, 0.8), (0.05, 0.2), (0.5, 0.55), (0.95, 0.2)]],
    "triangle": [[(0.5, 0.1), (0.9, 0.85), (0.1, 0.85), (0.5, 0.1)]],
    "cloud": [
        arc(0.3, 0.6, 0.2, 0.2, 90, 270)
        + arc(0.5, 0.4, 0.22, 0.22, 200, 340)
        + arc(0.72, 0.6, 0.2, 0.2, 270, 450)
        + [(0.3, 0.8)]
    ],  # fmt: skip
}

# Shapes that are digits to a reader: never negatives, and a reader must read them as this digit
DIGIT_LIKE = {
    "O": (0, [arc(0.5, 0.5, 0.4, 0.45, -90, 275)]),
    "I": (1, [[(0.5, 0.05), (0.5, 0.95)], [(0.3, 0.05), (0.7, 0.05)], [(0.3, 0.95), (0.7, 0.95)]]),
    "l": (1, [[(0.5, 0.05), (0.5, 0.95)]]),
    "S": (5, [arc(0.5, 0.28, 0.3, 0.22, -20, -270) + arc(0.5, 0.72, 0.3, 0.22, -90, 160)]),
    "Z": (2, [[(0.15, 0.08), (0.85, 0.08), (0.15, 0.92), (0.85, 0.92)]]),
    "B": (
        8,
        [[(0.25, 0.05), (0.25, 0.95)] + arc(0.45, 0.73, 0.3, 0.22, 90, -90) + arc(0.42, 0.28, 0.25, 0.22, 90, -90)],
    ),
    "G": (6, [arc(0.5, 0.5, 0.38, 0.45, -40, -360) + [(0.88, 0.5), (0.55, 0.5)]]),
    "q": (9, [arc(0.45, 0.35, 0.3, 0.3, 0, 360), [(0.75, 0.3), (0.75, 0.95)]]),
    "slashed 0": (0, [arc(0.5, 0.5, 0.3, 0.45, -90, 275), [(0.75, 0.1), (0.25, 0.9)]]),
    "crossed 7": (7, [[(0.15, 0.08), (0.85, 0.08), (0.4, 0.94)], [(0.35, 0.5), (0.8, 0.5)]]),
}

# Letters typed in fonts: those not in DIGIT_LIKE (nor o, D, Q, J, i, j, s, z, b, g, p, c, u, v, w, x, close kin)
FONT_LETTERS = "ACEFHKLMNPRTUVWXYadefhkmnrty"
KINDS = ("letters", "font letters", "symbols", "scribbles", "doodles", "textures")
HELD_OUT_KINDS = ("held-out font letters",)


def strokes_shape(strokes, rng, turn=8.0):
    """Stroke templates wobbled like a hand: slant, aspect, rotation up to `turn` degrees and jittered points."""
    angle, shear, aspect = np.radians(rng.uniform(-turn, turn)), rng.uniform(-0.2, 0.2), rng.uniform(0.75, 1.1)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    warp = rotation @ np.array([[aspect, shear], [0, 1]])
    segments = []
    for stroke in strokes:
        p = (np.array(stroke) - 0.5) @ warp.T + rng.normal(0, 0.012, (len(stroke), 2))
        segments.append(np.hstack([p[:-1], p[1:]]))
    return synth.normalised(np.vstack(segments))


def scribble(rng):
    """A pen scribble: a smooth random curve turning many times."""
    n = int(rng.integers(8, 20))
    points = rng.uniform(0, 1, (n, 2))
    t = np.linspace(0, n - 1, n * 8)
    curve = np.stack([np.interp(t, np.arange(n), points[:, k]) for k in range(2)], 1)
    curve = np.stack([np.convolve(curve[:, k], np.ones(5) / 5, mode="valid") for k in range(2)], 1)
    return [curve.tolist()]


def zigzag(rng):
    """A zigzag of 4 to 10 turns, across or down, or hatching: parallel lines back and forth."""
    turns = int(rng.integers(4, 11))
    across = np.linspace(0, 1, turns + 1)
    high = np.where(np.arange(turns + 1) % 2, 0.9, 0.1) + rng.normal(0, 0.04, turns + 1)
    if rng.random() < 0.3:  # hatching: the zigzag squeezed flat, as when a word is scratched out
        high = np.where(np.arange(turns + 1) % 2, 0.6, 0.4)
        points = np.stack([high, across], 1)
    else:
        points = np.stack([across, high], 1)
    return [points.tolist() if rng.random() < 0.5 else points[:, ::-1].tolist()]


def loops(rng):
    """Cursive loops in a row (eeee, llll), as a doodled line of pretend writing."""
    count = int(rng.integers(3, 7))
    t = np.linspace(0, 2 * np.pi * count, 30 * count)
    r = rng.uniform(0.5, 1.2)
    return [list(zip(t / (2 * np.pi) + r * 0.5 * np.cos(t + np.pi), -r * np.sin(t) - 0.3 * t / (2 * np.pi * count)))]


def turned(strokes, rng):
    """Strokes turned by a random angle (an arrow, a fish, a star point any way)."""
    a = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return [((np.array(s) - 0.5) @ rotation.T + 0.5).tolist() for s in strokes]


def font_letter_shape(letter, font_file, rng):
    """The skeleton of a letter typed in a font (digitlib.data.synth.font_shape types any text)."""
    return synth.font_shape(letter, font_file, rng)


def installed(files):
    """The font files of a list that are installed and can be opened."""
    out = []
    for f in files:
        try:
            ImageFont.truetype(f, 12)
        except OSError:
            continue
        out.append(f)
    return out


def shape(kind, rng):
    """Segments [K, 4] in a unit box for one negative of a stroke kind, and what it is."""
    if kind == "letters":
        name = rng.choice(list(LETTERS))
        return strokes_shape(LETTERS[name], rng), name
    if kind == "symbols":
        name = rng.choice(list(SYMBOLS))
        return strokes_shape(SYMBOLS[name], rng), name
    if kind == "doodles":
        name = rng.choice(list(DOODLES))
        strokes = turned(DOODLES[name], rng) if name in ("arrow", "fish", "star") else DOODLES[name]
        return strokes_shape(strokes, rng), name
    if kind == "scribbles":
        name = rng.choice(["scribble", "zigzag", "loops"])
        return strokes_shape({"scribble": scribble, "zigzag": zigzag, "loops": loops}[name](rng), rng, 20), name
    files = synth.fonts() if kind == "font letters" else installed(HELD_OUT_FONT_FILES)
    if not files:
        raise RuntimeError(f"no font for {kind}: install {' '.join(HELD_OUT_FONT_PACKAGES)}")
    name = rng.choice(list(FONT_LETTERS))
    return font_letter_shape(name, rng.choice(files), rng), name


def blotches(size, rng):
    """Cover [H, W] of soft stains and a coffee ring or two, no ink."""
    h, w = size
    field = np.zeros(size, np.float32)
    rows, cols = np.mgrid[:h, :w]
    for _ in range(int(rng.integers(1, 5))):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.08, 0.3) * min(h, w)
        d = np.hypot(rows - cy, cols - cx) / r
        ring = np.exp(-(((d - 1) / 0.08) ** 2)) if rng.random() < 0.4 else np.exp(-(d**2) * 2)
        field = np.maximum(field, ring * rng.uniform(0.1, 0.35))
    return field


def texture(rng):
    """A picture of paper without ink: grain, a shadow, blotches, ruled or squared lines, or a sheet on a desk."""
    side = int(rng.integers(200, 700))
    size = (side, side)
    sheet = synth.paper(size, rng, brightness=(190, 250), lighting=rng.uniform(0, 0.4), grain=rng.uniform(2, 12))
    what = rng.choice(["grain", "shadow", "blotches", "ruled", "squared", "desk"])
    if what == "shadow":
        rows, cols = np.mgrid[:side, :side]
        sheet *= np.where(rows * rng.uniform(0.3, 2) + cols < rng.uniform(0.5, 1.5) * side, 1.0, rng.uniform(0.4, 0.7))[
            ..., None
        ]
    elif what == "blotches":
        sheet = synth.compose(sheet, (150, 110, 60), blotches(size, rng))
    elif what in ("ruled", "squared"):
        grey = rng.uniform(140, 200)
        lines = synth.ruled(size, rng, side / rng.uniform(5, 12), grey, int(rng.integers(1, 4)), what == "squared")
        sheet = synth.compose(sheet, (grey, grey, grey + 20), lines)
    elif what == "desk":
        sheet = desk_photo(sheet, rng)
    return synth.finish(sheet, jpeg=rng.choice([None, 85])), str(what)


def desk_photo(sheet, rng):
    """The sheet photographed on a darker desk, a little turned and off centre: an empty page."""
    side = len(sheet)
    desk = synth.paper((side, side), rng, brightness=(40, 120), tint=(1.0, 0.85, 0.7), lighting=0.3, grain=6)
    page = np.zeros((side, side), np.float32)
    margin = rng.uniform(0.05, 0.2, 4) * side
    page[int(margin[0]) : side - int(margin[1]), int(margin[2]) : side - int(margin[3])] = 1
    page = np.asarray(Image.fromarray(page).rotate(rng.uniform(-10, 10), resample=Image.Resampling.BILINEAR))
    return desk * (1 - page[..., None]) + sheet * page[..., None]


def pictures(kind, n, seed=0, conditions=tuple(synth.CONDITIONS)):
    """n (image, what it is, condition) of one kind of negative, the same for the same seed; stroke kinds are drawn
    in each of the conditions in turn (names of digitlib.data.synth.CONDITIONS)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if kind == "textures":
            image, what = texture(rng)
            out.append((image, what, "paper"))
            continue
        segments, what = shape(kind, rng)
        condition = conditions[i % len(conditions)]
        out.append((synth.CONDITIONS[condition](segments, rng), what, condition))
    return out


def number_with_letter(
    rng, mnist=None, kinds=("letters",), digits=(2, 4), touching=False, sources=("templates", "fonts", "mnist")
):
    """A number of digits[0] to digits[1] digits (digitlib.data.synth.shapes of sources) written with a pen, a letter
    of one of kinds (a stroke kind of shape) put among them at random: a picture that holds no number."""
    count = int(rng.integers(digits[0], digits[1] + 1))
    shapes = [segments for segments, _, _ in synth.shapes(count, rng, mnist, sources)]
    shapes.insert(int(rng.integers(0, len(shapes) + 1)), shape(str(rng.choice(kinds)), rng)[0])
    return synth.written_number(shapes, rng, touching)


def digit_like(n, seed=0, conditions=tuple(synth.CONDITIONS)):
    """n (image, digit, name) of shapes that read as digits (DIGIT_LIKE), in the conditions in turn."""
    rng = np.random.default_rng(seed)
    names = list(DIGIT_LIKE)
    out = []
    for i in range(n):
        name = names[i % len(names)]
        digit, strokes = DIGIT_LIKE[name]
        condition = conditions[i // len(names) % len(conditions)]
        out.append((synth.CONDITIONS[condition](strokes_shape(strokes, rng), rng), digit, name))
    return out


def inputs(images):
    """The 28x28 inputs [M, 1, 28, 28] that digitlib.reading.preprocess makes of images, and found [N]: which held ink
    (the others read as "no digit")."""
    xs = [to_mnist_input(image) for image in images]
    found = np.array([x is not None for x in xs], bool)
    x = np.stack([x for x in xs if x is not None]) if found.any() else np.zeros((0, 1, IMAGE_SIZE, IMAGE_SIZE))
    return x.astype(np.float32), found


def source_hash():
    """A fingerprint of the code that draws and prepares the pictures: a cached set is stale when it changes."""
    files = [Path(__file__), Path(synth.__file__), Path(preprocess.__file__)]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]


def cached(key, make):
    """(x, found) = make(), kept in DATA_DIR/generated/ under key and the code's fingerprint, so that training, the
    benchmark and notebook 09 draw each set once."""
    path = DATA_DIR / "generated" / f"{key}-{source_hash()}.npz"
    if path.is_file():
        with np.load(path) as f:
            return f["x"], f["found"]
    x, found = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=x, found=found)
    write_atomic(path, buffer.getvalue())
    return x, found


def negative_inputs(kind, n, seed, conditions=tuple(synth.CONDITIONS)):
    """(x, found) of n negatives of a kind (see pictures), cached."""
    key = f"{kind.replace(' ', '_')}-{n}-{seed}-{len(conditions)}"
    return cached(key, lambda: inputs(image for image, _, _ in pictures(kind, n, seed, conditions)))


def digit_inputs(condition, n, seed, split):
    """(x, found) of n digits drawn in a condition of digitlib.data.synth from templates, fonts and MNIST's split,
    cached."""
    key = f"digits-{condition.replace(' ', '_')}-{n}-{seed}-{split}"
    return cached(
        key, lambda: inputs(image for image, _, _ in synth.samples(condition, n, seed, synth.mnist_digits(split)))
    )
