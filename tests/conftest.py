"""Shared fixtures."""

import pytest

from digitlib.data.synth import mnist_digits


@pytest.fixture(scope="session")
def mnist_test():
    """Test images as uint8 arrays [N, 28, 28] (white on black) and labels [N]."""
    return mnist_digits("test")
