"""Shared fixtures."""

import numpy as np
import pytest

from digitlib.data import load_mnist


@pytest.fixture(scope="session")
def mnist_test():
    """Test images as uint8 arrays [N, 28, 28] (white on black) and labels [N]."""
    x, y = load_mnist("test")
    return (x[:, 0].numpy() * 255).round().astype(np.uint8), y.numpy()
