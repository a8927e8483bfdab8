"""How good and how fast a model is on the test set: scikit-learn's metrics, calibration, speed."""

import time

import numpy as np
import torch
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from digitlib.constants import CLASSES, IMAGE_SIZE, NUM_CLASSES
from digitlib.data.mnist import load_mnist
from digitlib.models.infer import predict_logits
from digitlib.reading.answers import accuracy


def test_logits(model, split="test"):
    """Logits [N, 10] (numpy) of model on a split, and the true labels [N]."""
    x, y = load_mnist(split)
    return predict_logits(model, x).numpy(), y.numpy()


def classification_report(y_true, y_pred):
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows: true, columns: predicted)."""
    labels = np.arange(NUM_CLASSES)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return dict(
        accuracy=accuracy(y_pred, y_true),
        per_class={
            c: dict(precision=float(p), recall=float(r), f1=float(f), support=int(s))
            for c, p, r, f, s in zip(CLASSES, precision, recall, f1, support)
        },
        confusion=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    )


def test_metrics(model, split="test"):
    """classification_report() of model on a split."""
    logits, y = test_logits(model, split)
    return classification_report(y, logits.argmax(1))


def most_confused(confusion, k=5):
    """The k most frequent mistakes as (true digit, predicted digit, count), most frequent first."""
    errors = np.array(confusion)
    np.fill_diagonal(errors, 0)
    order = np.argsort(-errors, axis=None, kind="stable")[:k]
    return [(int(t), int(p), int(errors[t, p])) for t, p in zip(*np.unravel_index(order, errors.shape)) if errors[t, p]]


def reliability(probs, y, bins=10):
    """Calibration: per confidence bin the mean confidence, accuracy and count, and the expected calibration error.

    Confidence is the top probability; ECE is the count-weighted mean gap |accuracy - confidence| over the bins.
    """
    confidence, correct = probs.max(1), probs.argmax(1) == y
    which = np.clip(np.digitize(confidence, np.linspace(0, 1, bins + 1)[1:-1], right=True), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    mean_conf = np.bincount(which, confidence, bins) / np.maximum(count, 1)
    accuracy = np.bincount(which, correct, bins) / np.maximum(count, 1)
    ece = float((count * np.abs(accuracy - mean_conf)).sum() / len(y))
    return dict(confidence=mean_conf, accuracy=accuracy, count=count, ece=ece)


@torch.inference_mode()
def speed(model, batch_size=1000, repeats=10):
    """Median milliseconds for one image, and images per second in batches, on the CPU."""
    model.eval()
    one, batch = torch.rand(1, 1, IMAGE_SIZE, IMAGE_SIZE), torch.rand(batch_size, 1, IMAGE_SIZE, IMAGE_SIZE)

    def median_seconds(x):
        model(x)  # warm up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    return dict(latency_ms=1000 * median_seconds(one), images_per_second=batch_size / median_seconds(batch))
