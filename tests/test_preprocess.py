import os
import subprocess
import sys

import numpy as np
import pytest
from drawings import drawing
from PIL import Image, ImageDraw
from scipy import ndimage

from digitlib.constants import ROOT
from digitlib.errors import DigitlibError
from digitlib.models.predictor import Predictor
from digitlib.reading.preprocess import (
    MAX_SIDE,
    MNIST_STROKE,
    column_runs,
    fit_box,
    grow,
    ink_map,
    inside,
    paper_light,
    shrink,
    stroke_width,
    to_mnist_input,
)

STYLES = ["plain", "inverted", "transparent", "thin", "thick", "small", "photo", "shadow", "lined"]


@pytest.mark.parametrize("style", STYLES)
def test_output_follows_the_mnist_convention(mnist_test, style):
    x = to_mnist_input(drawing(mnist_test[0][3], style))
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    assert x.min() == 0 and x.max() == 1
    assert x[0, 0].sum() == 0 and x[0, :, 0].sum() == 0  # black border: white digit on black
    rows, cols = np.flatnonzero(x[0].sum(1) > 0), np.flatnonzero(x[0].sum(0) > 0)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20  # the longer side fills the 20x20 box
    assert np.allclose(ndimage.center_of_mass(x[0]), (14, 14), atol=0.75)


@pytest.mark.parametrize("style", STYLES)
def test_drawn_digits_are_read_like_mnist_digits(mnist_test, style):
    images, labels = mnist_test
    predictor = Predictor("best")
    n = 200
    correct = sum(predictor.predict(drawing(images[i], style)).digit == labels[i] for i in range(n))
    assert correct / n >= 0.98


@pytest.mark.parametrize("style", ["thin", "thick"])
def test_pen_width_is_brought_to_mnist_stroke(mnist_test, style):
    x = to_mnist_input(drawing(mnist_test[0][1], style))[0]
    width = stroke_width(fit_box(x, 80)) / 4
    assert abs(width - MNIST_STROKE) < 1.0


def test_an_mnist_digit_passes_through_nearly_unchanged(mnist_test):
    digit = mnist_test[0][0]
    x = to_mnist_input(digit)[0]
    assert np.corrcoef(x.ravel(), digit.ravel() / 255)[0, 1] > 0.85


def blank(size=(280, 280), color=255):
    return Image.new("L", size, color)


def test_blank_canvases_hold_no_digit():
    assert to_mnist_input(blank()) is None
    assert to_mnist_input(blank(color=0)) is None
    assert to_mnist_input(Image.new("RGBA", (280, 280), (0, 0, 0, 0))) is None


def test_noise_and_a_stray_dot_are_not_a_digit():
    rng = np.random.default_rng(0)
    paper = (235 + rng.normal(0, 4, (300, 300))).clip(0, 255).astype(np.uint8)  # grey paper texture
    assert to_mnist_input(paper) is None
    dot = blank()
    ImageDraw.Draw(dot).ellipse((140, 140, 144, 144), fill=0)
    assert to_mnist_input(dot) is None


def test_rgb_and_grey_versions_of_a_drawing_agree(mnist_test):
    image = drawing(mnist_test[0][7], "plain")
    assert np.array_equal(to_mnist_input(image), to_mnist_input(image.convert("RGB")))


@pytest.mark.parametrize("data, message", [(b"", "empty"), (b"hello, not a picture", "not a readable image")])
def test_bad_bytes_are_reported(data, message):
    with pytest.raises(DigitlibError, match=message):
        to_mnist_input(data)


def test_a_tiny_picture_is_refused_with_a_message():
    with pytest.raises(DigitlibError, match="3x3 pixels is too small"):
        to_mnist_input(Image.new("L", (3, 3), 255))


def test_float_arrays_are_taken_as_pixels_in_0_1(mnist_test):
    digit = mnist_test[0][0]
    assert np.array_equal(to_mnist_input(digit / 255.0), to_mnist_input(digit))


def test_a_digit_filling_the_whole_picture_is_still_read(mnist_test):
    images, labels = mnist_test
    big = np.asarray(drawing(images[0], "thick"))[40:-40, 40:-40]  # strokes run into the borders
    assert Predictor("best").predict(big).digit == labels[0]


def test_numpy_resize_gives_torchs_antialiased_bilinear_resize():
    """digitlib.reading.resample stands in for F.interpolate(antialias=True) so that the dashboard's kernel needs no
    torch."""
    import torch
    import torch.nn.functional as F

    from digitlib.reading.resample import resize

    rng = np.random.default_rng(0)
    for height, width, out_h, out_w in [
        (280, 560, 40, 80),
        (80, 35, 20, 9),
        (12, 30, 80, 77),
        (57, 300, 57, 21),
        (200, 14, 80, 6),
        (90, 90, 20, 20),
        (33, 7, 80, 17),
        (1, 60, 9, 3),
    ]:
        ink = (rng.random((height, width)) * (rng.random((height, width)) < 0.4)).astype(np.float32)
        expected = F.interpolate(
            torch.from_numpy(ink)[None, None], size=(out_h, out_w), mode="bilinear", antialias=True, align_corners=False
        )[0, 0].numpy()
        # the same to the bit with torch's x86 builds; other builds may round the last bit otherwise
        np.testing.assert_allclose(resize(ink, out_h, out_w), expected, rtol=0, atol=1e-6)


def test_mask_operations_by_shifts_give_scipys_morphology():
    rng = np.random.default_rng(0)
    for _ in range(300):
        mask = rng.random(rng.integers(1, 40, 2)) < rng.uniform(0.05, 0.95)
        for m in (mask, mask.T):  # and a view in column order, as rule detection hands over
            assert np.array_equal(inside(m), ndimage.binary_erosion(m))
            assert np.array_equal(grow(m, 2), ndimage.binary_dilation(m, iterations=2))
            length = int(rng.integers(1, 9))
            assert np.array_equal(column_runs(m, length), ndimage.grey_opening(m, size=(length, 1)))


@pytest.mark.parametrize("dark_ink", [True, False])
def test_paper_light_is_a_grey_closing_or_opening_also_on_a_flat_ground(dark_ink):
    rng = np.random.default_rng(1)
    flat = np.ones((120, 150), np.float32)
    flat[30:90:7, 20:130] = 0.2  # strokes thinner than the window: the ground is the same everywhere
    lit = np.linspace(0.6, 1.0, 150, dtype=np.float32) * flat + rng.normal(0, 0.01, flat.shape).astype(np.float32)
    for gray in (flat, lit) if dark_ink else (1 - flat, 1 - lit):
        beyond = np.pad(gray, 40, mode="edge")  # the picture going on beyond its edges as it ends there (no ink there)
        expected = ndimage.grey_closing(beyond, size=40) if dark_ink else ndimage.grey_opening(beyond, size=40)
        assert np.array_equal(paper_light(gray, dark_ink), expected[40:-40, 40:-40])


@pytest.mark.parametrize("dark", [True, False])
def test_a_marker_stroke_along_the_edge_is_ink(dark):
    # the bar of a 7 drawn with a marker right along the top of a small picture, thicker than a sixth of it, longer
    # than the paper window: taken to go on beyond the edge, it would be a block of ink and read as paper
    picture = np.full((180, 180), 230.0)
    bar, stem = np.zeros((180, 180), bool), np.zeros((180, 180), bool)
    bar[:30, 30:150] = True
    stem[30:170, 110:140] = True
    picture[bar | stem] = 20
    ink = ink_map(Image.fromarray((picture if dark else 255 - picture).astype(np.uint8)))
    assert ink[bar].mean() > 0.9 and ink[stem].mean() > 0.9
    assert not ink[~ndimage.binary_dilation(bar | stem, iterations=3)].any()


@pytest.mark.parametrize("cover", [0.3, 0.7, 0.9])
def test_a_hard_shadow_over_the_sheet_is_not_ink(cover):
    # a phone's shadow with a slanted edge over part of the sheet, a thin dark stroke across both: the stroke is the
    # only ink, whether the shadow covers less or (seen from the picture's frame) more of the sheet than the light
    rows, cols = np.mgrid[:400, :400]
    sheet = np.where(rows * 0.6 + cols < 1.6 * 400 * (1 - cover), 220.0, 220.0 * 0.5)
    stroke = (abs(cols - 200) < 2) & (rows > 60) & (rows < 340)
    picture = Image.fromarray(np.where(stroke, sheet * 0.2, sheet).astype(np.uint8))
    ink = ink_map(picture)
    assert ink[stroke].mean() > 0.5
    assert not ink[~ndimage.binary_dilation(stroke, iterations=3)].any()


@pytest.mark.parametrize("shape", [(300, 561), (1199, 1200), (20, 3000), (3000, 20), (8, 5000), (9, 10000), (5, 600)])
@pytest.mark.parametrize("pool", [np.minimum, np.maximum])
def test_shrinking_pools_each_block_of_the_picture_as_it_lies(shape, pool):
    # blocks k x k from the top left, those at the right and bottom edges cut short: what pooling the picture padded
    # with copies of its edges gives, so shrinking reads ordinary pictures as it always has
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    k = -(-max(shape) // MAX_SIDE)
    expected = pool.reduceat(pool.reduceat(pixels, np.arange(0, shape[0], k), 0), np.arange(0, shape[1], k), 1)
    assert np.array_equal(shrink(pixels, pool), expected)


# Reads a thin PNG through what the HTTP API calls, in a process of its own with at most 1 GiB more address space
# (a failed read asks for gigabytes): prints the outcomes, then how far the peak resident memory rose, in MB.
THIN_READ = """
import io, resource, sys
from PIL import Image, ImageDraw
from digitlib.errors import DigitlibError
from digitlib.reading.onnx_model import OnnxPredictor
from digitlib.reading.rows import read

def drawn_line(w, h):
    picture = Image.new("L", (w, h), 255)
    ImageDraw.Draw(picture).line([(0, 0), (w - 1, h - 1)], fill=0, width=3)
    return picture

def memory_kb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

png = io.BytesIO()
drawn_line(*map(int, sys.argv[1:3])).save(png, "PNG")
reader = OnnxPredictor("best")
read(reader, drawn_line(200, 40), "warm-up", number=True)  # the models and the sequence reader loaded
resource.setrlimit(resource.RLIMIT_AS, (memory_kb("VmSize") * 1024 + 2**30, resource.RLIM_INFINITY))
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak (VmHWM) starts again from here
before = memory_kb("VmRSS")
for number in (False, True):
    try:
        print(read(reader, png.getvalue(), "thin.png", number=number))
    except DigitlibError as e:
        print("refused:", e)
print(round((memory_kb("VmHWM") - before) / 1024))
"""


@pytest.mark.parametrize("size", [(8, 600_000), (600_000, 8), (8, 3_000_000)])
def test_a_thin_picture_costs_no_more_memory_than_its_pixels(size):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-P", "-c", THIN_READ, *map(str, size)]
    result = subprocess.run(command, capture_output=True, text=True, cwd="/", env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    *outcomes, rise = result.stdout.splitlines()
    assert int(rise) < 300, f"{size}: peak memory rose by {rise} MB"
