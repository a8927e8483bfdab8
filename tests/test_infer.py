import numpy as np
import torch
from torch import nn

from digitlib.models.infer import predict_logits
from digitlib.reading.answers import UNSURE, accuracy, percent, probs, unsure, verdict


def test_probs_with_temperature_keep_the_prediction_and_sum_to_one():
    logits = np.random.default_rng(1).normal(0, 3, (50, 10))
    for t in (0.3, 1.0, 4.0):
        p = probs(logits, t)
        assert np.allclose(p.sum(1), 1) and np.array_equal(p.argmax(1), logits.argmax(1))
    assert np.allclose(probs(logits), torch.softmax(torch.tensor(logits), 1).numpy())


def test_probs_of_a_tensor_are_a_tensor_equal_to_those_of_the_array():
    logits = torch.randn(20, 10, generator=torch.Generator().manual_seed(0))
    p = probs(logits, 0.7)
    assert isinstance(p, torch.Tensor) and p.dtype == logits.dtype
    assert np.allclose(p.numpy(), probs(logits.numpy(), 0.7), atol=1e-6)


def test_accuracy_counts_matching_labels_for_tensors_and_arrays():
    y_pred, y = np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4])
    assert accuracy(y_pred, y) == 0.75 == accuracy(torch.tensor(y_pred), torch.tensor(y))


def test_batched_logits_equal_one_pass():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    x = torch.rand(7, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(predict_logits(model, x, batch_size=3), model(x), atol=1e-6)


def test_confidence_is_rounded_down_and_never_100_percent():
    assert [percent(p) for p in (0.0, 0.12345, 0.99895, 0.99999, 1.0)] == ["0.0%", "12.3%", "99.8%", "99.9%", "99.9%"]


def test_a_reading_below_the_threshold_is_not_sure_and_names_the_two_best():
    p = np.array([0.05, 0.4, 0.05, 0.05, 0.05, 0.05, 0.05, 0.25, 0.05, 0.0])
    assert unsure(p) and verdict(p) == "not sure: 1 or 7?"
    sure = np.eye(10)[3] * 0.97 + 0.003
    assert not unsure(sure) and verdict(sure) == "97.3% sure"
    assert not unsure(np.eye(10)[0] * UNSURE)
