"""Opening images: every mode and format on the list read like the plain drawing, everything else refused clearly."""

import os

import numpy as np
import pytest
from drawings import drawing
from odd_files import BINARY, binary_version, rotated_jpeg, unreadable, variants
from PIL import Image

from digitlib.errors import DigitlibError
from digitlib.reading import images
from digitlib.reading.images import open_image
from digitlib.reading.preprocess import to_mnist_input


@pytest.fixture(scope="module")
def gray(mnist_test):
    """A phone photo of a digit in shades of grey (ink about 55, paper about 200)."""
    return drawing(mnist_test[0][0], "photo").convert("L")


@pytest.fixture(scope="module")
def odd(gray, mnist_test):
    return variants(gray, drawing(mnist_test[0][1]))


@pytest.mark.parametrize(
    "name",
    [
        "sixteen_bit.png",
        "float.tif",
        "int32.tif",
        "lab.tif",
        "cmyk.tif",
        "cmyk.jpg",
        "rotated.jpg",
        "animated.gif",
        "multipage.tif",
        "palette_transparent.png",
        "la.png",
        "one_bit.bmp",
        "lossless.webp",
    ],
)
def test_every_mode_and_format_is_read_like_the_plain_drawing(gray, odd, name):
    x = to_mnist_input(odd[name])
    reference = to_mnist_input(binary_version(gray) if name in BINARY else gray)
    assert x is not None and np.abs(x - reference).max() < 0.02


def test_sixteen_bit_pixels_are_scaled_by_their_range_not_clipped():
    grey = Image.fromarray(np.full((16, 16), 128 * 257, np.uint16))
    assert grey.mode == "I;16" and np.asarray(open_image(grey)).max() == 128
    assert np.asarray(open_image(grey.convert("I"))).max() == 128
    assert np.asarray(open_image(Image.fromarray(np.full((16, 16), 0.5, np.float32)))).max() == 128


def test_exif_orientation_is_applied_once_when_the_image_is_opened(gray):
    upright = gray.crop((0, 30, 280, 250))  # 280 wide, 220 high
    image = open_image(rotated_jpeg(upright))
    assert image.size == (280, 220)
    assert np.abs(np.asarray(image, np.float32) - np.asarray(upright, np.float32)).mean() < 3
    assert open_image(image).size == (280, 220)  # opening what was opened turns nothing again


@pytest.mark.parametrize("name", list(unreadable(Image.new("L", (28, 28)))))
def test_files_without_a_readable_image_get_a_message_naming_the_problem(gray, name):
    data, fragment = unreadable(gray)[name]
    with pytest.raises(DigitlibError) as e:
        open_image(data, name)
    assert str(e.value).startswith(f"{name}: ") and fragment in str(e.value)


def test_formats_off_the_list_never_reach_a_decoder(gray, monkeypatch):
    opened = []
    monkeypatch.setattr(Image, "open", lambda fp, mode="r", formats=None: opened.append(formats) or 1 / 0)
    with pytest.raises(DigitlibError):
        open_image(b"%!PS-Adobe-3.0 EPSF-3.0\n")
    assert opened == [images.FORMATS]


def test_a_file_that_cannot_be_read_is_reported_as_such(tmp_path, monkeypatch):
    def refuse(path, mode="r"):
        raise PermissionError(13, "Permission denied", str(path))

    (tmp_path / "locked.png").write_bytes(b"whatever")
    monkeypatch.setattr(images, "open", refuse, raising=False)
    with pytest.raises(DigitlibError, match=r"locked.png: cannot read \(Permission denied\)"):
        open_image(tmp_path / "locked.png")


def test_a_pipe_is_refused_without_being_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")  # reading it would wait for a writer for ever
    with pytest.raises(DigitlibError, match="not a regular file"):
        open_image(tmp_path / "pipe.png")


@pytest.mark.parametrize("kind", ["bool", "uint16", "int32", "float64", "HxWx1", "grey and alpha"])
def test_arrays_of_every_kind_are_read_by_their_dtype(mnist_test, kind):
    digit = mnist_test[0][0]
    array = {
        "bool": digit > 127,
        "uint16": digit.astype(np.uint16) * 257,
        "int32": digit.astype(np.int32),
        "float64": digit / 255,
        "HxWx1": digit[..., None],
        "grey and alpha": np.dstack([digit, np.full_like(digit, 255)]),
    }[kind]
    expected = (digit > 127) * np.uint8(255) if kind == "bool" else digit
    assert np.array_equal(to_mnist_input(array), to_mnist_input(expected))


@pytest.mark.parametrize(
    "array",
    [
        np.full((28, 28), np.nan),
        np.full((28, 28), np.inf),
        np.zeros((28, 28, 5)),
        np.zeros(784),
        np.zeros((1, 28, 28, 1)),
        np.zeros((28, 28), complex),
    ],
)
def test_arrays_that_are_not_pictures_are_refused(array):
    with pytest.raises(DigitlibError, match="image data: "):
        open_image(array)
