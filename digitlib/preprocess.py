"""Turn any picture of a digit (canvas drawing, photo, scan) into MNIST's convention.

MNIST digits are white on black, their bounding box scaled to fit 20x20 keeping the aspect ratio,
placed in 28x28 by centre of mass. We also bring the stroke to MNIST's usual thickness, so a
hairline pen and a fat marker look alike to the network.
"""

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

from digitlib.constants import DIGIT_BOX, IMAGE_SIZE
from digitlib.images import open_image

MAX_SIDE = 560  # larger images are shrunk to this before any work
WORK_SCALE = 4  # thickness is measured and adjusted at 4x the 20x20 box (80 px)
# Median stroke width of MNIST training digits, in pixels of the 20x20 box, measured with
# stroke_width() on digits scaled like ours (notebooks/01_data_exploration shows the distribution).
MNIST_STROKE = 2.7
# Where MNIST puts the centre of mass (row, column); the mean over the training set.
MNIST_CENTRE = (14.0, 14.0)
PAPER_WINDOW = 0.33  # paper is estimated over windows this fraction of the shorter side: wider than any stroke
# (at 0.25 a marker's blobs are taken for paper; from 0.5 up, hard shadow edges start to show as ink)
MIN_CONTRAST = 0.15  # ink must take this fraction of the paper's light away (or add it, for light ink)
MIN_EXTENT = 0.03  # the digit must span this fraction of the picture's longer side


def border(gray):
    """The pixels of a picture's outer frame (4% of the shorter side), where there is paper rather than digit."""
    h, w = gray.shape
    frame = max(1, round(0.04 * min(h, w)))
    inner = np.zeros((h, w), bool)
    inner[frame:-frame, frame:-frame] = True
    return gray[~inner]


def ink_map(image):
    """Float array in [0, 1]: 1 where there is ink, 0 on the paper, whatever the polarity or transparency.

    image: upright, in mode L, LA, RGB or RGBA, as open_image gives it.
    """
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
    if image.mode in ("RGBA", "LA"):
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255
        if alpha.min() < 0.5:  # strokes on a transparent background: opacity is the ink
            return alpha
    gray = np.asarray(image.convert("L"), dtype=np.float32) / 255
    # The paper's brightness everywhere, lighting and shadows included, is the picture with the strokes closed
    # over: a grey-scale closing (for dark ink; an opening for light ink) wider than any stroke.
    size = max(3, round(PAPER_WINDOW * min(gray.shape)))
    paper = np.median(border(gray))
    darkest, brightest = np.percentile(gray, [1, 99])
    if paper - darkest >= brightest - paper:  # dark ink on light paper: ink is how much light it takes away
        closed = ndimage.grey_closing(gray, size=size)
        ink = (closed - gray) / np.maximum(closed, 1e-3)
    else:  # light ink on a dark ground (a screen, a blackboard): ink is how much it adds
        ink = gray - ndimage.grey_opening(gray, size=size)
    top = np.percentile(ink, 99.9)
    if top < MIN_CONTRAST:
        return np.zeros_like(ink)
    ink = np.clip(ink / top, 0, 1)
    ink[ink < 0.25] = 0  # paper texture, ruled lines, what is left of lighting
    return ink


def digit_mask(ink):
    """The pixels belonging to the digit: ink, without specks much smaller than the digit's largest part."""
    labels, n = ndimage.label(ink > 0.5, structure=np.ones((3, 3)))
    if n == 0:
        return labels > 0
    sizes = np.bincount(labels.ravel())[1:]
    keep = np.flatnonzero(sizes >= 0.1 * sizes.max()) + 1
    return np.isin(labels, keep)


def stroke_width(ink):
    """Typical stroke width in pixels: twice the ink area over its boundary length."""
    mask = ink > 0.5
    boundary = mask & ~ndimage.binary_erosion(mask)
    return 2 * mask.sum() / max(boundary.sum(), 1)


def resize(ink, height, width):
    """Antialiased resize of a 2-D float array."""
    t = torch.from_numpy(np.ascontiguousarray(ink, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(height, width), mode="bilinear", antialias=True, align_corners=False)[0, 0].numpy()


def fit_box(ink, box):
    """Crop ink to its bounding box and scale it so the longer side is `box` pixels, keeping the aspect ratio."""
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
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


def split_digits(mask):
    """Masks of the digits in a mask of a written number, left to right.

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
    return [np.isin(labels, ids) for _, _, ids in groups]


def to_mnist(ink, mask):
    """The [1, 28, 28] MNIST-style input for the ink under mask."""
    work = match_stroke(fit_box(ink * ndimage.binary_dilation(mask, iterations=2), DIGIT_BOX * WORK_SCALE),
                        MNIST_STROKE * WORK_SCALE)
    digit = fit_box(np.where(work > 0.05, work, 0), DIGIT_BOX)
    digit = np.clip(digit / max(digit.max(), 1e-6), 0, 1)
    return torch.from_numpy(place_by_mass(digit))[None]


def find_ink(image):
    """Ink map and the mask of the written digit(s); the mask is empty when the picture holds no digit."""
    ink = ink_map(open_image(image))
    mask = digit_mask(ink)
    if mask.any():
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < MIN_EXTENT * max(ink.shape):
            mask[:] = False
    return ink, mask


def to_mnist_input(image):
    """The 28x28 tensor [1, 28, 28] in [0, 1] the network sees for an image, or None when there is no digit.

    image: a path, bytes, numpy array or PIL image of any size; dark-on-light or light-on-dark; with or without
    transparency. Raises DigitlibError for data that is not a readable image.
    """
    ink, mask = find_ink(image)
    return to_mnist(ink, mask) if mask.any() else None


def to_mnist_inputs(image):
    """One [1, 28, 28] input per digit of a written number, left to right; [] when there is no digit."""
    ink, mask = find_ink(image)
    return [to_mnist(ink, m) for m in split_digits(mask)] if mask.any() else []
