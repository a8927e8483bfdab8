import torch
from scipy import ndimage

from digitlib.data.mnist import load_mnist
from digitlib.models import weights
from digitlib.studies.robustness import preprocessed, restroked, robustness, rotated, shifted


def centre(img):
    return ndimage.center_of_mass(img[0].numpy())


def test_distortions_move_rotate_and_thicken_the_digit():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 10:16, 10:20] = 1
    (r0, c0), (r1, c1) = centre(x[0]), centre(shifted(x, 3)[0])
    assert abs(r1 - r0 - 3) < 0.1 and abs(c1 - c0 - 3) < 0.1
    assert torch.allclose(rotated(x, 0), x, atol=1e-5) and not torch.allclose(rotated(x, 30), x, atol=0.1)
    assert (restroked(x, 1) > 0.5).sum() > (x > 0.5).sum() and torch.equal(restroked(x, 0), x)


def test_preprocessing_recentres_a_shifted_digit():
    x, _ = load_mnist("test", limit=1)
    r, c = centre(preprocessed(shifted(x, 4))[0])
    assert abs(r - 14) < 1 and abs(c - 14) < 1


def test_robustness_rows_cover_every_level_and_start_at_the_clean_accuracy():
    x, y = load_mnist("test", limit=100)
    rows = robustness(weights.load("compact"), x, y)
    clean = [r for r in rows if r["level"] == 0]
    assert len(clean) == 3 and len({r["accuracy"] for r in clean}) == 1
    assert all(0 <= r["accuracy"] <= 1 and 0 <= r["preprocessed"] <= 1 for r in rows)
