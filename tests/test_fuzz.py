"""to_mnist_input on random arrays and damaged image bytes: a DigitlibError or an MNIST-style result, nothing else."""

import numpy as np
import pytest
from drawings import drawing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from odd_files import encode, variants

from digitlib.errors import DigitlibError
from digitlib.reading.preprocess import to_mnist_input

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = [np.uint8, np.uint16, np.int32, np.float32, np.float64, bool]


def assert_mnist_or_refused(source):
    try:
        x = to_mnist_input(source)
    except DigitlibError:
        return
    if x is not None:
        assert x.shape == (1, 28, 28) and bool(np.isfinite(x).all()) and 0 <= x.min() and x.max() <= 1


@FUZZ
@given(
    hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=48))
)  # any values, NaN and inf included
def test_any_array_is_read_or_refused_with_a_message(array):
    assert_mnist_or_refused(array)


@pytest.fixture(scope="module")
def encoded():
    """A small drawing of a digit in every format and unusual mode that is read."""
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255  # a 1
    gray = drawing(digit, size=56)
    return [encode(gray, f) for f in ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")] + list(
        variants(gray, gray).values()
    )


@FUZZ
@given(data=st.data())
def test_any_damaged_image_file_is_read_or_refused_with_a_message(encoded, data):
    blob = bytearray(data.draw(st.sampled_from(encoded)))
    blob = blob[: data.draw(st.integers(0, len(blob)))]  # truncated
    for _ in range(data.draw(st.integers(0, 4))):  # and some bytes overwritten
        if blob:
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    assert_mnist_or_refused(bytes(blob))


@FUZZ
@given(st.binary(max_size=2048))
def test_any_bytes_are_read_or_refused_with_a_message(blob):
    assert_mnist_or_refused(blob)
