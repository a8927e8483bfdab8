import torch

from digitlib import weights
from digitlib.data import load_mnist
from digitlib.explain import activation_heatmaps, feature_maps, first_filters, penultimate, saliency


def test_filters_maps_and_heatmaps_have_the_shapes_of_the_layers():
    model = weights.load("best")
    x, _ = load_mnist("test", limit=1)
    assert first_filters(model).shape == (32, 1, 3, 3)
    maps = feature_maps(model, x[0])
    assert [m.shape[0] for m in maps] == [32, 64, 64, 128, 128]
    heats = activation_heatmaps(maps)
    assert all(h.shape == (28, 28) and h.max() == 1 for h in heats)
    assert first_filters(weights.load("fc")) is None and feature_maps(weights.load("fc"), x[0]) == []


def test_penultimate_features_feed_the_last_layer():
    model = weights.load("best")
    x, _ = load_mnist("test", limit=5)
    features = penultimate(model, x, batch_size=2)
    last = model.head[-1]
    with torch.no_grad():
        assert features.shape == (5, last.in_features)
        assert torch.allclose(last(features), model(x), atol=1e-5)


def test_saliency_lies_on_the_digit_not_the_empty_border():
    model = weights.load("best")
    x, _ = load_mnist("test", limit=5)
    border = torch.ones(28, 28, dtype=torch.bool)
    border[3:-3, 3:-3] = False
    on_ink, on_border = [], []
    for img in x:
        s = saliency(model, img)
        assert s.shape == (28, 28) and s.max() == 1
        on_ink.append(s[img[0] > 0.5].mean())
        on_border.append(s[border].mean())
    assert sum(on_ink) > 1.5 * sum(on_border)
