import numpy as np
import torch

from digitlib.constants import MNIST_MEAN, MNIST_STD
from digitlib.data.mnist import load_mnist
from digitlib.studies.explore import atypical, class_means, embed_2d, ink_stats, pixel_stats


def test_normalisation_constants_are_those_of_the_training_images():
    stats = pixel_stats(load_mnist("train+val")[0])
    assert round(stats["mean"], 4) == MNIST_MEAN and round(stats["std"], 4) == MNIST_STD


def test_ink_stats_measure_a_drawn_bar():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 4:24, 10:13] = 1  # a bar 20 high, 3 wide, centred at row 13.5, column 11
    s = ink_stats(x)
    assert (s["height"][0], s["width"][0]) == (20, 3)
    assert abs(s["centre_row"][0] - 13.5) < 1e-5 and abs(s["centre_col"][0] - 11) < 1e-5
    assert 2 < s["stroke"][0] < 4


def test_class_means_and_atypical_images_belong_to_their_class():
    x, y = load_mnist("test", limit=500)
    means, variances = class_means(x, y)
    assert means.shape == variances.shape == (10, 28, 28)
    picks = atypical(x, y, per_class=2)
    assert [int(y[i]) for i in picks] == [c for c in range(10) for _ in range(2)]


def test_embedding_is_two_dimensional_and_repeatable():
    x, _ = load_mnist("test", limit=120)
    a, b = embed_2d(x), embed_2d(x)
    assert a.shape == (120, 2) and np.array_equal(a, b)
