"""Seeded handwriting in the conditions real pictures come in: uneven pencil pressure, hairline pens in big phone
photos, tiny blurry scans, grey pencil on grey-ruled paper.

A digit's shape is a set of line segments [K, 4] (x0, y0, x1, y1) in a unit box (x right, y down), from one of
three sources: stroke templates (as a person draws them), a handwriting font (when one is installed), or the
skeleton of an MNIST digit. `render` draws a shape with any pen, pressure and paper; each condition draws those at
random from a numpy Generator, so a seed gives the same pictures everywhere.
"""

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage


def arc(cx, cy, rx, ry, start, stop, n=20):
    """Points on an ellipse from angle start to stop (degrees; 0 is right, 90 is down)."""
    t = np.radians(np.linspace(start, stop, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


# The digits as a person draws them: a list of (x, y) points per stroke, in a unit box
TEMPLATES = {
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

# Handwriting fonts from Debian's packages fonts-dkg-handwriting, fonts-humor-sans and fonts-comic-neue
FONT_FILES = [
    "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
    "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
    "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf",
]


# Handwriting fonts no network is trained on (Debian's fonts-breip, fonts-femkeklaver, fonts-rufscript): digits and
# letters in them show whether a reader generalises beyond the fonts it has seen
HELD_OUT_FONT_FILES = [
    "/usr/share/fonts/truetype/breip/Breip.ttf",
    "/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf",
    "/usr/share/fonts/truetype/rufscript/Rufscript010.ttf",
]
HELD_OUT_FONT_PACKAGES = ("fonts-breip", "fonts-femkeklaver", "fonts-rufscript")
# The source "held-out fonts": femkeklaver draws its digits in outline, which a skeleton turns into two strokes
# round each where a pen draws one (best reads 59 of 100 of them, and 100 of 100 of each other font's)
HELD_OUT_DIGIT_FONTS = [HELD_OUT_FONT_FILES[0], HELD_OUT_FONT_FILES[2]]


def fonts(files=FONT_FILES):
    """The fonts of a list (by default the handwriting fonts trained on) installed on this machine."""
    return [f for f in files if Path(f).exists()]


def normalised(segments):
    """Segments scaled into the unit box, keeping the aspect ratio, centred."""
    xy = segments.reshape(-1, 2)
    low, high = xy.min(0), xy.max(0)
    scale = max(high - low)
    xy = (xy - low) / scale + (1 - (high - low) / scale) / 2
    return xy.reshape(-1, 4)


def template_shape(label, rng):
    """A stroke template wobbled like a person's hand: slant, aspect, rotation and jittered points."""
    angle, shear, aspect = np.radians(rng.uniform(-8, 8)), rng.uniform(-0.2, 0.2), rng.uniform(0.75, 1.1)
    warp = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array(
        [[aspect, shear], [0, 1]]
    )
    segments = []
    for stroke in TEMPLATES[label]:
        p = (np.array(stroke) - 0.5) @ warp.T + rng.normal(0, 0.012, (len(stroke), 2))
        segments.append(np.hstack([p[:-1], p[1:]]))
    return normalised(np.vstack(segments))


def skeleton_shape(mask):
    """Segments joining the neighbouring pixels of a mask's skeleton."""
    from skimage.morphology import skeletonize

    sk = skeletonize(mask)
    segments = []
    for dy, dx in [(0, 1), (1, 0), (1, 1), (1, -1)]:
        a = sk[: sk.shape[0] - dy, max(0, -dx) : sk.shape[1] - max(0, dx)]
        b = sk[dy:, max(0, dx) : sk.shape[1] - max(0, -dx) if dx < 0 else None]
        ys, xs = np.nonzero(a & b)
        xs = xs + max(0, -dx)
        segments.append(np.stack([xs, ys, xs + dx, ys + dy], 1))
    return normalised(np.vstack(segments).astype(np.float64))


def font_shape(label, font_file, rng):
    """The skeleton of a digit typed in a handwriting font, slightly rotated."""
    font = ImageFont.truetype(font_file, 160)
    image = Image.new("L", (240, 240), 0)
    ImageDraw.Draw(image).text((40, 20), str(label), fill=255, font=font)
    image = image.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR)
    return skeleton_shape(np.asarray(image) > 127)


def mnist_digits(split="test"):
    """MNIST digits as the 'mnist' source takes them: (uint8 images [N, 28, 28], white on black; labels [N])."""
    from digitlib.data.mnist import load_mnist

    x, y = load_mnist(split)
    return (x[:, 0].numpy() * 255).round().astype(np.uint8), y.numpy()


def mnist_shape(digit):
    """The skeleton of an MNIST digit (uint8 [28, 28], white on black) enlarged 4x."""
    big = np.asarray(Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC))
    return skeleton_shape(big > 127)


def shapes(n, rng, mnist=None, sources=("templates", "fonts", "mnist")):
    """n (segments, label, source) drawn in turn from the sources; a font source is skipped when none of its fonts
    is installed.

    sources: "templates", "fonts", "held-out fonts" (HELD_OUT_DIGIT_FONTS), "mnist" (needs mnist: (images uint8
    [N, 28, 28], labels [N])).
    """
    font_files = {"fonts": fonts(), "held-out fonts": fonts(HELD_OUT_DIGIT_FONTS)}
    available = [s for s in sources if font_files.get(s, True) and (s != "mnist" or mnist is not None)]
    out = []
    for i in range(n):
        source = available[i % len(available)]
        if source == "mnist":
            j = rng.integers(len(mnist[1]))
            out.append((mnist_shape(mnist[0][j]), int(mnist[1][j]), source))
            continue
        label = int(rng.integers(10))
        if source == "templates":
            shape = template_shape(label, rng)
        else:
            shape = font_shape(label, rng.choice(font_files[source]), rng)
        out.append((shape, label, source))
    return out


def pressure(segments, rng, low=0.25):
    """Ink per segment from `low` to 1 (a pencil pressed lightly in places), varying smoothly along the strokes."""
    mid = (segments[:, :2] + segments[:, 2:]) / 2
    field = np.zeros(len(segments))
    for _ in range(3):
        freq, phase = rng.uniform(-2.5, 2.5, 2), rng.uniform(0, 2 * np.pi)
        field += np.cos(2 * np.pi * mid @ freq + phase)
    field = (field - field.min()) / max(np.ptp(field), 1e-6)
    return low + (1 - low) * field


def ink_layer(segments, size, box, width, amount=None):
    """Float [H, W] in [0, 1]: how much ink covers each pixel, for segments drawn in box (left, top, side)."""
    h, w = size
    left, top, side = box
    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    amount = np.ones(len(segments)) if amount is None else amount
    xy = segments * side + np.array([left, top, left, top])
    r = width / 2
    for (x0, y0, x1, y1), a in zip(xy, amount):
        fill = int(round(255 * a))
        draw.line((x0, y0, x1, y1), fill=fill, width=max(1, round(width)))
        if width > 2:
            draw.ellipse((x1 - r, y1 - r, x1 + r, y1 + r), fill=fill)
    return np.asarray(layer, dtype=np.float32) / 255


def paper(size, rng, brightness=(225, 245), tint=(1.0, 1.0, 1.0), lighting=0.0, grain=3.0):
    """RGB float paper [H, W, 3]: a brightness, a tint, light falling off across the sheet by up to `lighting`."""
    h, w = size
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (
        np.cos(direction) * np.linspace(0, 1, w, dtype=np.float32)
        + np.sin(direction) * np.linspace(0, 1, h, dtype=np.float32)[:, None]
    )
    light = 1 - lighting * (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
    grey = rng.uniform(*brightness) * light + grain * rng.standard_normal((h, w), dtype=np.float32)
    return grey[..., None] * np.asarray(tint, dtype=np.float32)


def finish(rgb, jpeg=None):
    """A PIL image from float RGB, saved as JPEG at the given quality if one is given."""
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    if jpeg:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=int(jpeg))
        image = Image.open(buffer)
        image.load()
    return image


def compose(paper_rgb, ink_rgb, cover):
    """Ink of colour ink_rgb laid on the paper where cover says (0 paper to 1 full ink)."""
    cover = cover[..., None]
    return paper_rgb * (1 - cover) + np.asarray(ink_rgb, dtype=np.float32) * cover


def uneven_pressure(segments, rng):
    """A pencil or ballpoint drawing whose ink fades to a quarter of its darkest along the strokes."""
    side = int(rng.integers(280, 700))
    box = side * rng.uniform(0.5, 0.8)
    left, top = rng.uniform(0.05, 0.95 - box / side, 2) * side
    cover = ink_layer(
        segments, (side, side), (left, top, box), side * rng.uniform(0.025, 0.05), pressure(segments, rng)
    )
    ink = rng.choice([(70, 70, 75), (40, 50, 140), (20, 20, 25)])
    rgb = compose(paper((side, side), rng, lighting=rng.uniform(0, 0.2)), ink, ndimage.gaussian_filter(cover, 1.0))
    return finish(rgb, jpeg=rng.choice([None, 90]))


def hairline_photo(segments, rng):
    """A phone photo of a fine pen (2-4 px) on paper, 1000-3000 px, ink from black to pale grey, as JPEG."""
    h = int(rng.integers(1000, 3000))
    w = int(h * rng.uniform(0.75, 1.33))
    box = min(h, w) * rng.uniform(0.3, 0.6)
    left, top = rng.uniform(0.1, 0.9) * (w - box), rng.uniform(0.1, 0.9) * (h - box)
    cover = ndimage.gaussian_filter(
        ink_layer(segments, (h, w), (left, top, box), rng.uniform(2, 4)), rng.uniform(0.5, 1.0)
    )
    grey = rng.uniform(0, 160)
    sheet = paper((h, w), rng, brightness=(200, 240), lighting=rng.uniform(0, 0.3), grain=3)
    return finish(compose(sheet, (grey, grey, grey + 10), cover), jpeg=rng.uniform(60, 90))


def tiny_scan(segments, rng):
    """A digit 8-16 px tall in soft grey strokes, as scanned small, then enlarged."""
    height = rng.uniform(8, 16)
    side = int(np.ceil(height * rng.uniform(1.5, 2.2)))
    scale = 8  # drawn at 8x and shrunk, so the small picture is antialiased
    box = height * scale
    left, top = (side * scale - box) * rng.uniform(0.3, 0.7, 2)
    cover = ink_layer(segments, (side * scale, side * scale), (left, top, box), box * rng.uniform(0.1, 0.18))
    grey = rng.uniform(40, 120)
    rgb = compose(paper((side * scale, side * scale), rng, grain=0), (grey, grey, grey), cover)
    small = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).resize((side, side), Image.Resampling.BOX)
    small = ndimage.gaussian_filter(np.asarray(small, dtype=np.float64), (rng.uniform(0.4, 0.8),) * 2 + (0,))
    small = small + rng.normal(0, 2, small.shape)
    big = int(side * rng.uniform(6, 14))
    resample = rng.choice([Image.Resampling.BILINEAR, Image.Resampling.BICUBIC])
    return Image.fromarray(np.clip(small, 0, 255).astype(np.uint8)).resize((big, big), resample)


def ruled(size, rng, spacing, grey, thickness, squared=False):
    """Cover [H, W] of ruled lines (and columns, when squared) every `spacing` pixels."""
    h, w = size
    lines = np.zeros(size, np.float32)
    offset = rng.uniform(0, spacing)
    for y in np.arange(offset, h, spacing):
        lines[int(y) : int(y) + thickness] = 1
    if squared:
        for x in np.arange(offset, w, spacing):
            lines[:, int(x) : int(x) + thickness] = 1
    return lines


def grey_pencil_ruled(segments, rng, squared=False):
    """Grey pencil (about 110 on 235 paper) on grey ruled lines (about 170): both close in brightness."""
    side = int(rng.integers(280, 640))
    spacing = side / rng.uniform(5, 9)
    box = spacing * rng.uniform(0.9, 1.6)
    left, top = rng.uniform(0.1, 0.9) * (side - box), rng.uniform(0.1, 0.9) * (side - box)
    sheet = paper((side, side), rng, brightness=(228, 242), lighting=rng.uniform(0, 0.15))
    rule_grey = rng.uniform(160, 185)
    sheet = compose(
        sheet, (rule_grey,) * 3, ruled((side, side), rng, spacing, rule_grey, int(rng.integers(1, 4)), squared)
    )
    cover = ink_layer(segments, (side, side), (left, top, box), side * rng.uniform(0.012, 0.025))
    grain = np.clip(rng.normal(1, 0.15, cover.shape), 0, 1)  # graphite leaves gaps
    pencil = rng.uniform(90, 130)
    return finish(compose(sheet, (pencil,) * 3, ndimage.gaussian_filter(cover * grain, 0.9)))


def grey_pencil_squared(segments, rng):
    """Grey pencil on grey squared paper."""
    return grey_pencil_ruled(segments, rng, squared=True)


def faint_hairline(segments, rng):
    """A pale fine pen with uneven pressure, photographed small on a large sheet (two conditions at once)."""
    h = int(rng.integers(1000, 2000))
    box = h * rng.uniform(0.3, 0.5)
    left, top = rng.uniform(0.1, 0.9, 2) * (h - box)
    cover = ink_layer(segments, (h, h), (left, top, box), rng.uniform(2, 3), pressure(segments, rng, low=0.4))
    grey = rng.uniform(60, 140)
    sheet = paper((h, h), rng, brightness=(205, 235), lighting=0.2, grain=3)
    return finish(compose(sheet, (grey, grey, grey + 20), ndimage.gaussian_filter(cover, 0.7)), jpeg=75)


def clean_pen(segments, rng):
    """A black pen drawing on white, as the dashboard's canvas gives it: the control condition."""
    side = int(rng.integers(200, 400))
    box = side * rng.uniform(0.5, 0.8)
    left, top = rng.uniform(0.05, 0.95 - box / side, 2) * side
    cover = ink_layer(segments, (side, side), (left, top, box), box * rng.uniform(0.05, 0.09))
    return finish(compose(paper((side, side), rng, brightness=(255, 256), grain=0), (0, 0, 0), cover))


def marker(segments, rng):
    """A fat felt-tip marker on a small picture: strokes a sixth of the digit's size."""
    side = int(rng.integers(120, 300))
    box = side * rng.uniform(0.6, 0.85)
    left, top = rng.uniform(0.02, 0.98 - box / side, 2) * side
    cover = ink_layer(segments, (side, side), (left, top, box), box * rng.uniform(0.13, 0.2))
    ink = rng.choice([(10, 10, 10), (20, 40, 160), (170, 20, 30)])
    return finish(compose(paper((side, side), rng, grain=2), ink, ndimage.gaussian_filter(cover, 0.7)))


def shadowed_photo(segments, rng):
    """A phone photo of a ballpoint digit with the phone's hard-edged shadow across part of the sheet."""
    side = int(rng.integers(400, 900))
    box = side * rng.uniform(0.4, 0.7)
    left, top = rng.uniform(0.05, 0.95 - box / side, 2) * side
    cover = ink_layer(segments, (side, side), (left, top, box), side * rng.uniform(0.008, 0.015))
    sheet = paper((side, side), rng, brightness=(200, 235), tint=(1.0, 0.97, 0.9), lighting=0.3, grain=3)
    rows, cols = np.mgrid[:side, :side]
    edge = rng.uniform(0.8, 1.3) * side
    sheet *= np.where(rows * rng.uniform(0.5, 1.5) + cols < edge, 1.0, rng.uniform(0.45, 0.65))[..., None]
    rgb = compose(sheet, (30, 40, 110), ndimage.gaussian_filter(cover, 1.0))
    return finish(rgb, jpeg=85)


def chalk(segments, rng):
    """Light ink on a dark ground: chalk on a blackboard, or a screen."""
    side = int(rng.integers(200, 500))
    box = side * rng.uniform(0.5, 0.8)
    left, top = rng.uniform(0.05, 0.95 - box / side, 2) * side
    cover = ink_layer(segments, (side, side), (left, top, box), box * rng.uniform(0.05, 0.1))
    grain = np.clip(rng.normal(0.85, 0.2, cover.shape), 0, 1)  # chalk skips over the board
    board = paper((side, side), rng, brightness=(30, 60), tint=(0.8, 1.0, 0.85), lighting=0.3, grain=3)
    return finish(compose(board, (235, 235, 225), ndimage.gaussian_filter(cover * grain, 0.8)), jpeg=90)


def written_number(shapes, rng, touching=False):
    """A number written left to right in black pen from digit shapes; touching=True lets neighbours run into each
    other (a 2's foot into the next digit), as quick handwriting does."""
    height = rng.uniform(70, 130)
    pen = height * rng.uniform(0.06, 0.1)
    lefts, x = [], 2 * pen
    for segments in shapes:
        extent = np.ptp(segments[:, [0, 2]])
        lefts.append(x - segments[:, [0, 2]].min() * height)
        x += (extent + (rng.uniform(-0.06, 0.0) if touching else rng.uniform(0.15, 0.35))) * height
    size = (int(height + 4 * pen), int(x + 3 * pen))
    cover = np.zeros(size, np.float32)
    for segments, left in zip(shapes, lefts):
        cover = np.maximum(cover, ink_layer(segments, size, (left, 2 * pen, height), pen))
    return finish(compose(paper(size, rng, grain=2), (20, 20, 30), ndimage.gaussian_filter(cover, 0.8)))


def numbers(n, seed=0, mnist=None, digits=(2, 5), touching=True, sources=("templates", "fonts", "mnist")):
    """n (image, number as a string) of numbers with digits[0] to digits[1] digits, the same for the same seed."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        parts = shapes(int(rng.integers(digits[0], digits[1] + 1)), rng, mnist, sources)
        image = written_number([shape for shape, _, _ in parts], rng, touching)
        out.append((image, "".join(str(label) for _, label, _ in parts)))
    return out


CONDITIONS = {
    "clean pen": clean_pen,
    "marker": marker,
    "shadowed photo": shadowed_photo,
    "chalk": chalk,
    "pressure": uneven_pressure,
    "hairline": hairline_photo,
    "tiny": tiny_scan,
    "grey ruled": grey_pencil_ruled,
    # held out: never used to tune the preprocessing
    "grey squared": grey_pencil_squared,
    "faint hairline": faint_hairline,
}


def samples(condition, n, seed=0, mnist=None, sources=("templates", "fonts", "mnist")):
    """n (image, label, source) of a condition, the same for the same seed."""
    rng = np.random.default_rng(seed)
    draw = CONDITIONS[condition]
    return [(draw(shape, rng), label, source) for shape, label, source in shapes(n, rng, mnist, sources)]
