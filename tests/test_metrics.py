import numpy as np
import torch
from sklearn.metrics import classification_report as sklearn_report
from torchmetrics.functional.classification import multiclass_calibration_error

from digitlib.models import weights
from digitlib.studies import metrics
from digitlib.studies.metrics import classification_report, most_confused, reliability, speed


def test_classification_report_agrees_with_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 500)
    y_pred = np.where(rng.random(500) < 0.8, y_true, rng.integers(0, 10, 500))
    report = classification_report(y_true, y_pred)
    reference = sklearn_report(y_true, y_pred, output_dict=True, zero_division=0)
    assert report["accuracy"] == reference["accuracy"]
    for c in "0123456789":
        assert report["per_class"][c]["f1"] == reference[c]["f1-score"]
        assert report["per_class"][c]["support"] == reference[c]["support"]
    confusion = np.array(report["confusion"])
    assert confusion.sum() == 500 and confusion.trace() == (y_true == y_pred).sum()


def test_most_confused_lists_the_largest_off_diagonal_counts_first():
    confusion = np.diag([100] * 10)
    confusion[4, 9], confusion[7, 2], confusion[3, 5] = 7, 3, 5
    assert most_confused(confusion, k=2) == [(4, 9, 7), (3, 5, 5)]
    assert most_confused(confusion, k=10) == [(4, 9, 7), (3, 5, 5), (7, 2, 3)]  # no zero-count pairs


def test_expected_calibration_error_agrees_with_torchmetrics():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (2000, 10))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.where(rng.random(2000) < 0.7, probs.argmax(1), rng.integers(0, 10, 2000))
    for bins in (10, 15):
        reference = multiclass_calibration_error(torch.tensor(probs), torch.tensor(y), num_classes=10, n_bins=bins)
        assert abs(reliability(probs, y, bins)["ece"] - reference.item()) < 1e-6


def test_reliability_of_a_perfectly_calibrated_model_is_on_the_diagonal():
    probs = np.tile(np.eye(10)[0] * 0.5 + 0.05 * (1 - np.eye(10)[0]), (1000, 1))  # top probability 0.5 everywhere
    y = np.where(np.arange(1000) % 2 == 0, 0, 1)  # right half of the time
    r = reliability(probs, y)
    assert r["count"].sum() == 1000 and r["ece"] < 1e-9


def test_shipped_best_model_metrics_match_its_metadata():
    result = metrics.test_metrics(weights.load("best"))
    assert result["accuracy"] == weights.read_meta("best")["test_accuracy"]


def test_speed_reports_positive_figures():
    figures = speed(weights.load("compact"), batch_size=64, repeats=3)
    assert figures["latency_ms"] > 0 and figures["images_per_second"] > 0
