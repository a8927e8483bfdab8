"""Turn any picture of a digit (canvas drawing, photo, scan) into MNIST's convention.

MNIST digits are white on black, their bounding box scaled to fit 20x20 keeping the aspect ratio,
placed in 28x28 by centre of mass. We also bring the stroke to MNIST's usual thickness, so a
hairline pen and a fat marker look alike to the network.
"""

import functools
import math
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from digitlib.constants import DIGIT_BOX, IMAGE_SIZE
from digitlib.errors import DigitlibError
from digitlib.reading import sequence
from digitlib.reading.images import open_image
from digitlib.reading.resample import crop_to_ink, ink_box, resize

MAX_SIDE = 560  # larger images are shrunk to this before any work
WORK_SCALE = 4  # thickness is measured and adjusted at 4x the 20x20 box (80 px)
# Median stroke width of MNIST training digits, in pixels of the 20x20 box, measured with
# stroke_width() on digits scaled like ours (notebooks/01_data_exploration shows the distribution).
MNIST_STROKE = 2.7
# Where MNIST puts the centre of mass (row, column); the mean over the training set.
MNIST_CENTRE = (14.0, 14.0)
PAPER_WINDOW = 0.33  # paper is estimated over windows this fraction of the shorter side: wider than any stroke
# (at 0.25 a marker's blobs are taken for paper; from 0.5 up, hard shadow edges start to show as ink)
SHADOW_WINDOW = 4  # and again over windows this many stroke widths wide, to follow a shadow into narrow corners
SHADE, LIT = 20, 95  # percentiles of the picture's frame: the shade of a shadow over the sheet, the lit paper
SHADE_GAP = 0.1  # a shade is paper when this fraction of the picture's range lighter than its darkest ink
SMALL_PICTURE = 64  # pictures up to this side are taken to have a flat ground (no room for lighting to vary)
MIN_CONTRAST = 0.15  # ink must take this fraction of the paper's light away (or add it, for light ink)
MIN_INK = 0.2  # ink fainter than this fraction of the darkest is paper, whatever the noise
NOISE_SPREAD = 6  # ... and so is ink within this many robust standard deviations of the paper's
STRONG_INK = 0.5  # a digit's pieces each hold some ink at least this strong
RULE_COVER = 0.6  # ruled lines cross at least this fraction of the picture (a digit may hide the rest),
RULE_TILT = 3  # at most this many degrees off its axes,
RULE_THICKNESS = 5  # and are at most this many pixels thick;
RULE_MARGIN = 1.25  # where a stroke crosses a line, it is this much darker than the line
MIN_EXTENT = 0.03  # the digit must span this fraction of the picture's longer side
WIDE_DIGIT = 1.2  # a piece the sequence reader splits, up to this wide, may be one digit the model is sure of
WIDEST_DIGIT = 1.5  # no digit is wider than this times the number's height
FRAGMENT = 0.5  # a piece lower than this times the number's height, with no symbol in it, is a stroke of a digit
# ... and one lower than this is, whatever the sequence reader reads in it (a 5's bar blown up to a strip's height
# reads as an 8; tuning seeds: apart 391 of 400 against 389, non-digits read as none 6 more of 600, nothing lost)
STROKE = 0.3
MASK_GROWTH = 2  # pixels added around a digit's mask, so its strokes' soft edges are kept
# A number is read up to this many digits (a payment card has up to 19, a phone number 15); every digit costs reads
# of the model, so a picture that would hold more is refused as soon as that is known.
MAX_DIGITS = 20
NUMBER_SECONDS = 2.0  # reading a number stops with an error after this long (20 touching digits take a fraction)


def border(gray):
    """The pixels of a picture's outer frame (4% of the shorter side), where there is paper rather than digit."""
    h, w = gray.shape
    frame = max(1, round(0.04 * min(h, w)))
    inner = np.zeros((h, w), bool)
    inner[frame:-frame, frame:-frame] = True
    return gray[~inner]


def shrink(pixels, pool):
    """Pixels reduced to at most MAX_SIDE a side by pooling k x k blocks: np.minimum keeps a dark hairline, np.maximum
    a light one. A side shorter than k is pooled whole, so a thin picture costs no more than its pixels.

    (Averaging, as an ordinary resize does, would fade a 3 px pen in a 3000 px photo to a sixth of its ink.)
    """
    k = math.ceil(max(pixels.shape) / MAX_SIDE)
    if k == 1:
        return pixels
    h, w = pixels.shape
    # Blocks are padded with copies of the edge, which change no minimum or maximum: a block k high over a side
    # shorter than k pools that whole side, as a block as high as the side does without padding it to k.
    kh, kw = min(k, h), min(k, w)
    if h % kh or w % kw:
        pixels = np.pad(pixels, ((0, -h % kh), (0, -w % kw)), mode="edge")
    rows = functools.reduce(pool, [pixels[i::kh] for i in range(kh)])  # whole rows first: they lie together in memory
    return functools.reduce(pool, [rows[:, i::kw] for i in range(kw)])


def paper_light(gray, dark_ink, size=None):
    """The paper's brightness everywhere, lighting and shadows included: the picture with the strokes closed over
    (a grey-scale closing for dark ink, an opening for light ink) over windows of `size` pixels, wider than any stroke
    (default: PAPER_WINDOW of the shorter side); a flat ground for small pictures.
    """
    if min(gray.shape) <= SMALL_PICTURE:
        return np.full_like(gray, np.median(border(gray)))
    size = size or max(3, round(PAPER_WINDOW * min(gray.shape)))
    # A closing is a dilation (each pixel the lightest in its window) then an erosion (the darkest); an opening the
    # other way round. Where the first leaves one level everywhere, the ground is flat and the second changes nothing.
    # The picture is taken to go on beyond its edges as it ends there (a shadow goes on across the sheet): mirrored
    # instead, a shadow's edge meeting the picture's edge at a slant would make a wedge narrower than the window,
    # filled with light and so read as ink. A stroke does not go on: beyond the edges, what is nearer the darkest ink
    # than the frame's shade is the shade (lighter, for light ink), or a marker stroke along the edge would become a
    # block wider than the window and be taken for paper. The first pass covers the margin that the second pass
    # reaches into.
    first, second = (
        (ndimage.grey_dilation, ndimage.grey_erosion) if dark_ink else (ndimage.grey_erosion, ndimage.grey_dilation)
    )
    shade = np.percentile(border(gray), SHADE if dark_ink else 100 - SHADE)
    middle = (gray.min() if dark_ink else gray.max()) / 2 + shade / 2
    margin = size // 2
    padded = np.pad(gray, margin, mode="edge")
    for beyond in (padded[:margin], padded[-margin:], padded[:, :margin], padded[:, -margin:]):  # views: set in place
        beyond[beyond < middle if dark_ink else beyond > middle] = shade
    light = first(padded, size=size, mode="nearest")
    if light.min() != light.max():
        light = second(light, size=size, mode="nearest")
    return light[margin:-margin, margin:-margin]


def ink_against(gray, light, dark_ink):
    """Dark ink as the fraction of the paper's light it takes away; light ink as how much light it adds."""
    return (light - gray) / np.maximum(light, 1e-3) if dark_ink else gray - light


def ink_is_dark(frame, darkest, lightest):
    """Polarity: whether the ink is darker than the paper, from the picture's frame (its border's pixels) and its
    extremes (a hairline may be 0.1% of the picture). Ink is the extreme that strays further from the paper, which is
    most of the frame. But where the frame's darkest part is a shade well above the darkest ink, a shadow covers part
    of the sheet, perhaps most of the frame: then dark ink is read against the lit paper, light ink against the shade.
    """
    shade, paper, lit = np.percentile(frame, [SHADE, 50, LIT])
    if paper - darkest >= lightest - paper:
        return True
    return shade - darkest > SHADE_GAP * (lightest - darkest) and lit - darkest >= lightest - shade


def ink_map(image):
    """Float array in [0, 1]: 1 where the ink is darkest, 0 on the paper, whatever the polarity or transparency.

    image: upright, in mode L, LA, RGB or RGBA, as open_image gives it. Faint ink keeps its grey level; what is no
    stronger than the paper's own texture is 0.
    """
    if image.mode in ("RGBA", "LA"):
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 128:  # strokes on a transparent background: opacity is the ink
            return shrink(alpha, np.maximum).astype(np.float32) / 255
    gray = np.asarray(image if image.mode == "L" else image.convert("L"))
    darker, lighter = shrink(gray, np.minimum), shrink(gray, np.maximum)
    if max(gray.shape) <= MAX_SIDE:  # not shrunk (darker and lighter are the picture): one look gives both
        frame = border(gray)
        darkest, lightest = np.percentile(gray, [0.05, 99.95])
    else:
        frame = border(darker) / 2 + border(lighter) / 2
        darkest, lightest = np.percentile(darker, 0.05), np.percentile(lighter, 99.95)
    dark_ink = ink_is_dark(frame, darkest, lightest)
    gray = (darker if dark_ink else lighter).astype(np.float32) / 255
    ink = ink_against(gray, paper_light(gray, dark_ink), dark_ink)
    top = np.percentile(ink, 99.9)
    if top < MIN_CONTRAST:
        return np.zeros_like(ink)
    # Where a shadow's edge meets another edge, it leaves a wedge narrower than the window, which reads as ink; paper
    # measured over a window a few strokes wide follows the wedge, so ink must be ink against both.
    width = stroke_width(ink > STRONG_INK * top)
    if min(gray.shape) > SMALL_PICTURE and SHADOW_WINDOW * width < PAPER_WINDOW * min(gray.shape):
        near = paper_light(gray, dark_ink, max(3, round(SHADOW_WINDOW * width)))
        ink = np.minimum(ink, ink_against(gray, near, dark_ink))
    # the paper's own texture and noise: a robust spread of what is not strong ink (mostly paper)
    weak = ink[ink < STRONG_INK * top]
    median = np.median(weak) if weak.size else 0
    floor = median + NOISE_SPREAD * 1.4826 * np.median(np.abs(weak - median)) if weak.size else 0
    ink = np.clip(ink / top, 0, 1)
    ink[ink < max(floor / top, MIN_INK)] = 0
    return ink if min(ink.shape) <= SMALL_PICTURE else without_rules(ink)


def column_runs(mask, length):
    """The pixels of a boolean mask that lie in a run of at least `length` down its column, mirrored at the picture's
    edges: ndimage.grey_opening(mask, size=(length, 1)), an erosion then a dilation over `length` rows."""
    h, before, after = len(mask), length // 2, length - 1 - length // 2  # the window's reach up and down
    padded = np.pad(mask, ((before, after), (0, 0)), mode="symmetric")
    starts = functools.reduce(np.logical_and, [padded[i : i + h] for i in range(length)])  # windows wholly on
    padded = np.pad(starts, ((after, before), (0, 0)), mode="symmetric")
    return functools.reduce(np.logical_or, [padded[i : i + h] for i in range(length)])


def rule_rows(ink):
    """Mask of the ruled lines along the rows: straight, thin, within RULE_TILT degrees, crossing the picture."""
    h, w = ink.shape
    on = ink > 0
    thin = on & ~column_runs(on, RULE_THICKNESS + 1)  # what a taller line does not cover
    if thin.sum() < RULE_COVER * w:
        return None
    ys, xs = np.nonzero(thin)
    margin = math.ceil(w * np.tan(np.radians(RULE_TILT))) + 1  # a tilted line's rows run this far beyond the picture
    best = None
    for tilt in np.tan(np.radians(np.arange(-RULE_TILT, RULE_TILT + 0.01, 0.2))):
        rows = np.round(ys - xs * tilt).astype(int) + margin
        hit = np.zeros((h + 2 * margin, w), bool)
        hit[rows, xs] = True
        cover = (hit[:-1] | hit[1:]).sum(1)
        if best is None or cover.max() > best[0].max():
            best = cover, tilt
    cover, tilt = best
    lines = np.flatnonzero(cover >= RULE_COVER * w)
    if (np.diff(lines) > 2 * RULE_THICKNESS).sum() < 1:  # one straight stroke is not ruled paper: two lines are
        return None
    rows = np.round(np.arange(h)[:, None] - np.arange(w)[None] * tilt).astype(int) + margin
    return np.isin(rows, np.concatenate([lines, lines + 1]))


def without_rules(ink):
    """Ink with the lines of ruled or squared paper taken away; where a stroke crosses a line, its excess stays."""
    for transpose in (False, True):
        view = ink.T if transpose else ink
        rules = rule_rows(view)
        if rules is not None:
            band = ndimage.binary_dilation(rules, structure=np.ones((3, 1))) & (view > 0)
            line = np.percentile(view[rules & (view > 0)], 90)  # how dark the lines are (a stroke is darker still)
            view[band & (view < RULE_MARGIN * line)] = 0
    return ink


def digit_mask(ink):
    """The pixels belonging to the digit: ink connected to strong ink (hysteresis), without specks much smaller
    than the digit's largest part. A faint stretch of a stroke is kept when it joins a dark one. (Labelled within the
    ink's bounding box: a drawing leaves most of a canvas blank.)"""
    mask = ink > 0
    if not mask.any():
        return mask
    top, bottom, left, right = ink_box(mask)
    box = np.s_[top:bottom, left:right]
    labels, n = ndimage.label(mask[box], structure=np.ones((3, 3)))
    strong = np.bincount(labels[ink[box] > STRONG_INK], minlength=n + 1)[1:]  # strong pixels in each piece
    keep = np.zeros(n + 1, dtype=bool)  # by label (0: paper)
    keep[1:] = (strong > 0) & (strong >= 0.1 * strong.max())
    mask[box] = keep[labels]
    return mask


def neighbours(mask):
    """A boolean mask and the same shifted by one pixel down, up, right and left (outside the picture is empty)."""
    m = np.pad(mask, 1)
    return m[1:-1, 1:-1], m[:-2, 1:-1], m[2:, 1:-1], m[1:-1, :-2], m[1:-1, 2:]


def inside(mask):
    """The pixels of a mask whose 4 neighbours are in it too: ndimage.binary_erosion(mask)."""
    return functools.reduce(np.logical_and, neighbours(mask))


def grow(mask, steps):
    """A mask grown `steps` times to its pixels' 4 neighbours: ndimage.binary_dilation(mask, iterations=steps)."""
    for _ in range(steps):
        mask = functools.reduce(np.logical_or, neighbours(mask))
    return mask


def stroke_width(ink):
    """Typical stroke width in pixels: twice the ink area over its boundary length."""
    mask = ink > 0.5
    boundary = mask & ~inside(mask)
    return 2 * mask.sum() / max(boundary.sum(), 1)


def fit_box(ink, box):
    """Crop ink to its bounding box and scale it so the longer side is `box` pixels, keeping the aspect ratio."""
    ink = crop_to_ink(ink)
    h, w = ink.shape
    scale = box / max(h, w)
    return resize(ink, max(1, round(h * scale)), max(1, round(w * scale)))


def disk(radius):
    r = np.arange(-radius, radius + 1)
    return r[:, None] ** 2 + r[None, :] ** 2 <= radius**2


def match_stroke(ink, target):
    """Thicken or thin the strokes of a working-scale digit towards `target` pixels wide."""
    radius = round((target - stroke_width(ink)) / 2)
    if radius > 0:
        return ndimage.grey_dilation(np.pad(ink, radius), footprint=disk(radius))
    if radius < 0:
        thinner = ndimage.grey_erosion(ink, footprint=disk(-radius))
        return thinner if (thinner > 0.5).sum() > 0.2 * (ink > 0.5).sum() else ink
    return ink


def place_by_mass(digit):
    """Put a digit of at most 20x20 into a 28x28 frame with its centre of mass where MNIST has it."""
    frame = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    h, w = digit.shape
    cy, cx = ndimage.center_of_mass(digit)
    top = int(np.clip(round(MNIST_CENTRE[0] - cy), 0, IMAGE_SIZE - h))
    left = int(np.clip(round(MNIST_CENTRE[1] - cx), 0, IMAGE_SIZE - w))
    frame[top : top + h, left : left + w] = digit
    return frame


def too_many(count):
    """The error for a picture that would be read as `count` digits, more than MAX_DIGITS."""
    return DigitlibError(f"it holds {count} digits; a number is read up to {MAX_DIGITS} digits")


def deadline(seconds):
    """A function that raises DigitlibError once `seconds` have passed since this call."""
    end = time.monotonic() + seconds

    def check():
        if time.monotonic() > end:
            raise DigitlibError(f"reading it as a number took over {seconds:g} s and was stopped")

    return check


def split_digits(mask):
    """Masks of the digits in a mask of a written number, left to right; DigitlibError for more than MAX_DIGITS.

    Connected pieces of ink are one digit when their columns overlap (a 4, 5 or 7 written in two strokes).
    """
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    pieces = sorted((s[1].start, s[1].stop, i + 1) for i, s in enumerate(ndimage.find_objects(labels)))
    groups = []  # [first column, last column + 1, labels]
    for start, stop, label in pieces:
        if groups and min(stop, groups[-1][1]) - start >= 0.5 * min(stop - start, groups[-1][1] - groups[-1][0]):
            groups[-1][1] = max(stop, groups[-1][1])
            groups[-1][2].append(label)
        else:
            groups.append([start, stop, [label]])
    if len(groups) > MAX_DIGITS:  # (before a mask of the picture's size is made for each)
        raise too_many(len(groups))
    return [np.isin(labels, ids, kind="table") for _, _, ids in groups]


def even_ink(ink, size):
    """Ink divided by the strongest ink within `size` pixels: a faint stretch of stroke becomes as strong as the rest,
    while the soft edges of every stroke stay soft."""
    return ink / np.maximum(ndimage.grey_dilation(ink, size=size), 1e-6)


def masked_ink(ink, mask):
    """The ink under mask grown by MASK_GROWTH pixels (to take in the strokes' soft edges), cropped to the grown
    mask's box (grown within that box, not the whole picture, for speed)."""
    g = MASK_GROWTH
    top, bottom, left, right = ink_box(mask)
    box = np.s_[max(top - g, 0) : bottom + g, max(left - g, 0) : right + g]
    return ink[box] * grow(mask[box], g)


def mnist_strokes(work):
    """Ink at the work scale (a digit DIGIT_BOX * WORK_SCALE pixels high) with its strokes evened and brought to
    MNIST's width, the faintest remains dropped."""
    work = match_stroke(even_ink(work, round(MNIST_STROKE * WORK_SCALE)), MNIST_STROKE * WORK_SCALE)
    return np.where(work > 0.05, work, 0)


def to_mnist(ink, mask):
    """The [1, 28, 28] float32 MNIST-style input for the ink under mask (see masked_ink)."""
    digit = fit_box(mnist_strokes(fit_box(masked_ink(ink, mask), DIGIT_BOX * WORK_SCALE)), DIGIT_BOX)
    digit = np.clip(digit / max(digit.max(), 1e-6), 0, 1)
    return place_by_mass(digit)[None]


def find_ink(image):
    """Ink map and the mask of the written digit(s); the mask is empty when the picture holds no digit."""
    ink = ink_map(open_image(image, gray=True))
    mask = digit_mask(ink)
    if mask.any():
        top, bottom, left, right = ink_box(mask)
        if max(bottom - top, right - left) < MIN_EXTENT * max(ink.shape):
            mask[:] = False
    return ink, mask


def stages(image):
    """What to_mnist_input makes of a picture, step by step, for showing: {step: image}."""
    picture = open_image(image)
    ink, mask = find_ink(picture)
    x = to_mnist(ink, mask)[0] if mask.any() else np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    return {"picture": picture.convert("RGB"), "ink": ink, "the digit's ink": ink * mask, "network input": x}


def naive_input(image):
    """What a typical demo feeds the network instead: the picture squeezed to 28x28 in grey, inverted if its ground
    is light. [1, 28, 28] float32 in [0, 1]."""
    small = open_image(image).convert("L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    gray = np.asarray(small, dtype=np.float32) / 255
    return (1 - gray if np.median(border(gray)) > 0.5 else gray)[None]


def to_mnist_input(image):
    """The 28x28 input [1, 28, 28] (float32 numpy, in [0, 1]) the network sees for an image, or None when there is
    no digit; torch.from_numpy makes it a tensor.

    image: a path, bytes, numpy array or PIL image of any size; dark-on-light or light-on-dark; with or without
    transparency. Raises DigitlibError for data that is not a readable image.
    """
    ink, mask = find_ink(image)
    return to_mnist(ink, mask) if mask.any() else None


def strip_ink(ink, mask):
    """The ink under mask as the sequence reader (digitlib.reading.sequence) looks along it: scaled to the work
    height, strokes evened and brought to MNIST's width, as to_mnist does for one digit."""
    work = masked_ink(ink, mask)
    h, w = work.shape
    height = DIGIT_BOX * WORK_SCALE
    return mnist_strokes(resize(work, height, max(1, round(w * height / h))))


@dataclass
class Part:
    """One digit of a written number: x, the [1, 28, 28] input of its ink; probs, its probabilities [10] when the
    sequence reader read it (None: the chosen model and the rejector read x); centre, where it was read, as a
    fraction of the picture's width (0: its left edge, 1: its right); second, for a piece the sequence reader read as
    one digit and left to the model, the sequence reader's probabilities [10], a second opinion."""

    x: np.ndarray
    probs: np.ndarray | None
    centre: float
    second: np.ndarray | None = None


def read_piece(ink, mask, height, check_time, one_symbol=None):
    """The Parts of a piece of ink, read whole by the sequence reader; each Part's x is the ink between the columns
    halfway to its neighbours' (what the dashboard shows). A piece it reads as one symbol, or with a symbol that is no
    digit among its symbols, is one Part for the chosen model and the rejector (with the sequence reader's reading of
    one digit as a second opinion); so is a piece it splits that is no wider than WIDE_DIGIT times the number's height
    where one_symbol(x of the whole piece, the split Parts, its width in the number's heights) says it is one symbol (a
    wide 0 the sequence reader took for "00", a letter it took for "14"). Each Part's centre is a column of mask here.
    height: the number's; DigitlibError for a piece too wide for MAX_DIGITS digits of that height."""
    _, _, left, right = ink_box(mask)
    if right - left > WIDEST_DIGIT * MAX_DIGITS * height:
        raise too_many(f"over {MAX_DIGITS}")
    check_time()
    read = sequence.read_strip(strip_ink(ink, mask))
    if len(read) <= 1 or any(r.digit == sequence.NON_DIGIT for r in read):
        second = read[0].probs if len(read) == 1 and read[0].digit != sequence.NON_DIGIT else None
        return [Part(to_mnist(ink, mask), None, (left + right) / 2, second)]
    centres = [left + r.column * (right - left) for r in read]
    edges = [0, *[(a + b) / 2 for a, b in zip(centres, centres[1:])], mask.shape[1]]
    column = np.arange(mask.shape[1])[None]
    parts = []
    for r, centre, a, b in zip(read, centres, edges, edges[1:]):
        part = mask & (column >= a) & (column < b)
        x = to_mnist(ink, part if part.any() else mask)
        parts.append(Part(x, r.probs, centre))
    if right - left <= WIDE_DIGIT * height and one_symbol is not None:
        whole = to_mnist(ink, mask)
        if one_symbol(whole, parts, (right - left) / height):
            return [Part(whole, None, (left + right) / 2)]
    return parts


def join_fragments(ink, pieces, height):
    """The pieces of a number, each fragment joined to the piece nearest it: a piece lower than FRAGMENT times the
    number's height in which the sequence reader reads no symbol, or lower than STROKE times it, such as a 5's bar
    written apart from its body, which the model would read alone as a digit of its own. A whole digit the sequence
    reader misses stays a piece."""
    if len(pieces) < 2:
        return pieces
    boxes = [ink_box(piece) for piece in pieces]
    fragment = [
        bottom - top < STROKE * height
        or (bottom - top < FRAGMENT * height and not sequence.read_strip(strip_ink(ink, piece)))
        for piece, (top, bottom, _, _) in zip(pieces, boxes)
    ]
    kept = [i for i, f in enumerate(fragment) if not f]
    if not kept:
        return pieces
    joined = {i: pieces[i].copy() for i in kept}
    for i in np.flatnonzero(fragment):
        _, _, left, right = boxes[i]
        nearest = min(kept, key=lambda k: max(boxes[k][2] - right, left - boxes[k][3], 0))
        joined[nearest] |= pieces[i]
    return [joined[i] for i in kept]


def around(ink, mask):
    """Ink and mask cropped to the mask's bounding box and MASK_GROWTH pixels more (all that masked_ink reads), and
    the box's first column: what follows works on the digits' area rather than the whole picture's, with the same
    result."""
    g = MASK_GROWTH
    top, bottom, left, right = ink_box(mask)
    box = np.s_[max(top - g, 0) : bottom + g, max(left - g, 0) : right + g]
    return ink[box], mask[box], max(left - g, 0)


def number_parts(image, seconds=NUMBER_SECONDS, one_symbol=None):
    """One Part per digit of a written number, left to right; [] when there is no digit.

    Pieces of ink are split where paper separates them (split_digits; a fragment joins its nearest piece,
    join_fragments), and each is read whole by the sequence reader, which finds the digits that touch in it
    (read_piece: a piece it reads as one digit, or splits where one_symbol, the reader's judgement, says it is one
    symbol, is one Part for the chosen model to read).
    DigitlibError for more than MAX_DIGITS digits, or when it takes more than `seconds`.
    """
    check_time = deadline(seconds)
    ink, mask = find_ink(image)
    if not mask.any():
        return []
    width = mask.shape[1]
    ink, mask, offset = around(ink, mask)
    top, bottom, _, _ = ink_box(mask)
    parts = []
    for piece in join_fragments(ink, split_digits(mask), bottom - top):
        parts += read_piece(ink, piece, bottom - top, check_time, one_symbol)
        if len(parts) > MAX_DIGITS:
            raise too_many(f"over {MAX_DIGITS}")
    for part in parts:
        part.centre = (offset + part.centre) / width  # a column of the cropped mask to a fraction of the picture
    return parts
