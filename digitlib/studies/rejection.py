"""Notebook 09's study of what a digit network does not know: its scores on digits and on generated non-digits,
ROC curves, and what the rejector's threshold costs real digits. The figures are matplotlib; the sets are drawn by
digitlib.data.negatives with the benchmark's seeds (benchmarks/not_a_digit.py), never training's or validation's.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.metrics import roc_auc_score, roc_curve

from digitlib.data import negatives, synth
from digitlib.reading.onnx_model import OnnxModel, exported
from digitlib.reading.rejection import rejector

SEED = 3000  # benchmarks/not_a_digit.py's: neither training (1000) nor validation (2000) drew these
DIGITS_SEED = 3100
SURE = 0.9  # "90% sure": how sure a model says it is


def non_digits(n=200):
    """{kind: (inputs [M, 1, 28, 28], found [n])} of every kind of negative, the held-out fonts' letters included."""
    kinds = negatives.KINDS + negatives.HELD_OUT_KINDS
    return {kind: negatives.negative_inputs(kind, n, SEED + i) for i, kind in enumerate(kinds)}


def drawn_digits(n=40):
    """{condition: inputs [M, 1, 28, 28]} of MNIST test digits, templates and fonts drawn in each synth condition."""
    return {c: negatives.digit_inputs(c, n, DIGITS_SEED + i, "test")[0] for i, c in enumerate(synth.CONDITIONS)}


def what_models_say(sets, names=None):
    """Rows: per shipped model and set of inputs, the share read as some digit at SURE or more and the median top
    probability: a digit network is sure of itself on anything."""
    rows = []
    for name in names or exported():
        if name == "rejector":
            continue
        model = OnnxModel(name)
        for kind, x in sets.items():
            top = model.probs(x).max(1) if len(x) else np.zeros(0)
            sure = (top >= SURE).mean()
            rows.append({"model": name, "set": kind, f"read at {SURE:.0%} or more": sure, "median top": np.median(top)})
    return rows


def scores(x, model):
    """Per approach, scores [N] for inputs x: higher is less like a digit (as benchmarks/not_a_digit.py)."""
    logits = model.logits(x).astype(np.float64)
    return {
        "max softmax": -softmax(logits / model.temperature, axis=1).max(1),
        "energy": -logsumexp(logits, axis=1),
        "rejector": rejector().not_digit_probs(x),
    }


def roc_rows(digit_scores, other_scores):
    """Rows: per approach and kind, AUROC and the share of non-digits accepted when 95% of the digits are kept."""
    rows = []
    for kind, by_approach in other_scores.items():
        for approach, s in by_approach.items():
            d = digit_scores[approach]
            y = np.r_[np.zeros(len(d)), np.ones(len(s))]
            rows.append(
                {
                    "kind": kind,
                    "approach": approach,
                    "AUROC": roc_auc_score(y, np.r_[d, s]),
                    "accepted at 95% kept": (s <= np.quantile(d, 0.95)).mean(),
                }
            )
    return rows


def plot_distributions(digit_scores, other_scores, approach, threshold=None):
    """Histograms of one approach's score for digits and for all the non-digits together, and a threshold's line."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    others = np.concatenate([s[approach] for s in other_scores.values()])
    both = np.concatenate([digit_scores[approach], others])
    bins = np.linspace(both.min(), both.max(), 60)
    ax.hist(digit_scores[approach], bins, density=True, alpha=0.6, label="MNIST test digits")
    ax.hist(others, bins, density=True, alpha=0.6, label="letters, symbols, doodles, scribbles, paper")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
    ax.set(xlabel=f"{approach} score (higher: less like a digit)", ylabel="density", yscale="log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_roc(digit_scores, other_scores):
    """ROC curves of each approach: digits against all the non-digits together."""
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    for approach, d in digit_scores.items():
        s = np.concatenate([o[approach] for o in other_scores.values()])
        fpr, tpr, _ = roc_curve(np.r_[np.zeros(len(d)), np.ones(len(s))], np.r_[d, s])
        ax.plot(fpr, tpr, label=approach)
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="digits rejected", ylabel="non-digits rejected", title="ROC: digits against non-digits")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def cost_rows(digit_sets, mnist_test):
    """Rows: per set of real digits, the share the rejector's threshold rejects."""
    rows = [{"digits": "MNIST test", "count": len(mnist_test), "rejected": rejector().rejects(mnist_test).mean()}]
    for condition, x in digit_sets.items():
        rows.append({"digits": condition, "count": len(x), "rejected": rejector().rejects(x).mean()})
    return rows


def mistakes(other_sets, digit_sets, mnist_test, most=20):
    """(inputs [M, 1, 28, 28], titles) of what the rejector still gets wrong: non-digits it accepts, then digits it
    rejects, with their not-a-digit probability."""
    xs, titles = [], []
    r = rejector()
    for kind, (x, _) in other_sets.items():
        for xi, p in zip(x, r.not_digit_probs(x)):
            if p <= r.threshold and len(xs) < most // 2:
                xs.append(xi)
                titles.append(f"{kind}\np={p:.2f}")
    for name, x in {"MNIST test": mnist_test, **digit_sets}.items():
        for xi, p in zip(x, r.not_digit_probs(x)):
            if p > r.threshold and len(xs) < most:
                xs.append(xi)
                titles.append(f"{name} digit\np={p:.2f}")
    return (np.stack(xs) if xs else np.zeros((0, 1, 28, 28), np.float32)), titles
