"""Test-set metrics of a model, computed with scikit-learn."""

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from digitlib.constants import CLASSES, NUM_CLASSES
from digitlib.data import load_mnist
from digitlib.train import predict_logits


def test_metrics(model, split="test"):
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows: true, columns: predicted)."""
    x, y = load_mnist(split)
    y_pred = predict_logits(model, x).argmax(1).numpy()
    y_true = y.numpy()
    labels = np.arange(NUM_CLASSES)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return dict(
        accuracy=float((y_pred == y_true).mean()),
        per_class={c: dict(precision=float(p), recall=float(r), f1=float(f), support=int(s))
                   for c, p, r, f, s in zip(CLASSES, precision, recall, f1, support)},
        confusion=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    )
