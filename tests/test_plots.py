"""Every figure of digitlib.studies.plots draws from realistic input and is titled and labelled."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from digitlib.data.mnist import load_mnist  # noqa: E402
from digitlib.models import weights  # noqa: E402
from digitlib.reading import answers  # noqa: E402
from digitlib.studies import (
    explain,  # noqa: E402
    metrics,
    plots,
)
from digitlib.studies.explore import ink_stats  # noqa: E402
from digitlib.studies.robustness import robustness  # noqa: E402


@pytest.fixture(scope="module")
def data():
    x, y = load_mnist("test", limit=200)
    model = weights.load("compact")
    probs = answers.probs(metrics.test_logits(model)[0][:200])
    return x, y, model, probs


def titled(fig):
    """True when the figure or each of its panels has a title."""
    panels = [ax for ax in fig.axes if ax.has_data() and ax.get_label() != "<colorbar>"]
    title = bool(fig.get_suptitle()) or all(ax.get_title() for ax in panels)
    plt.close(fig)
    return title


def test_image_figures(data):
    x, y, model, probs = data
    assert titled(plots.digit_grid(x[:12], titles=[str(int(d)) for d in y[:12]], title="grid"))
    assert titled(plots.samples_per_class(x, y, per_class=3))
    assert titled(plots.class_means(x[:10, 0], x[:10, 0]))
    assert titled(plots.misclassified(x, y, np.eye(10)[(y + 1) % 10], n=5))  # every answer wrong: five shown
    assert titled(plots.misclassified(x, y, np.eye(10)[y], n=5))  # no mistakes: an empty grid, titled
    assert titled(plots.filters(explain.first_filters(model)))
    assert titled(plots.feature_maps(x[0], explain.feature_maps(model, x[0])))
    assert titled(plots.overlays(x[:3], [explain.saliency(model, i) for i in x[:3]], ["a", "b", "c"], "saliency"))
    rows = {
        "SmoothGrad": [explain.saliency(model, i) for i in x[:3]],
        "occlusion": [explain.occlusion(model, i) for i in x[:3]],
    }
    fig = plots.overlay_rows(x[:3], rows, ["a", "b", "c"], "attributions")
    assert titled(fig) and [ax.get_ylabel() for ax in fig.axes[::3]] == list(rows)


def test_chart_figures_label_their_axes(data):
    x, y, model, probs = data
    history = weights.read_meta("compact")["history"]
    report = metrics.classification_report(y.numpy(), probs.argmax(1))
    figures = [
        plots.class_balance({"test": y}),
        plots.pixel_histogram(x, 0.13, 0.31),
        plots.learning_curves({"compact": history}),
        plots.sweep_curves([dict(group="g", label="a", history=history)]),
        plots.tradeoff([dict(label="a", params=10, train_seconds=1, val_accuracy=0.9)]),
        plots.confusion(report["confusion"]),
        plots.confusion_grid({"a": report["confusion"], "b": report["confusion"]}, ncols=3),
        plots.per_class({"compact": report["per_class"]}),
        plots.reliability({"compact": metrics.reliability(probs, y.numpy())}),
        plots.robustness(robustness(model, x[:20], y[:20])),
        plots.embeddings({"2-D": np.random.default_rng(0).normal(size=(200, 2))}, y),
    ]
    figures.append(plots.ink_distributions(ink_stats(x, stroke_sample=20)))
    for fig in figures:
        charts = [ax for ax in fig.axes if ax.has_data() and ax.get_label() != "<colorbar>"]
        assert charts and all(ax.get_xlabel() for ax in charts), fig
        assert titled(fig)
