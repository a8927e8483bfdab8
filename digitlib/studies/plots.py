"""The notebooks' figures (matplotlib and seaborn). Each function draws one figure and returns it."""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.colors import LogNorm
from matplotlib.ticker import MaxNLocator

from digitlib.constants import CLASSES
from digitlib.studies.explain import most_active

COLORS = plt.get_cmap("tab10").colors  # one colour per digit class


def _images(x):
    """Images as a numpy array [N, H, W] from a tensor or array [N, 1, H, W] or [N, H, W]."""
    x = np.asarray(x)
    return x[:, 0] if x.ndim == 4 else x


def digit_grid(x, titles=None, ncols=10, title=None, size=1.2):
    """Images x [N, 1, 28, 28] in a grid, white ink on black as the network sees them, each with an optional title."""
    x = _images(x)
    nrows = max(1, -(-len(x) // ncols))  # one empty row for no images (a model with no mistakes to show)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * (1.3 if titles else 1)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(x):
            ax.imshow(x[i], cmap="gray", vmin=0, vmax=1)
            if titles:
                ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def samples_per_class(x, y, per_class=10, title="Examples of each digit"):
    """The first per_class images of every class, one row per digit."""
    y = np.asarray(y)
    picks = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(len(CLASSES))])
    fig = digit_grid(np.asarray(x)[picks], ncols=per_class, title=title, size=0.9)
    for c, ax in enumerate(fig.axes[::per_class]):
        ax.axis("on")
        ax.set(xticks=[], yticks=[])
        ax.set_ylabel(CLASSES[c], rotation=0, labelpad=12, fontsize=12)
    return fig


def class_balance(labels):
    """Images per class in each split; labels: {split name: label array}."""
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(labels)
    for i, (split, y) in enumerate(labels.items()):
        counts = np.bincount(np.asarray(y), minlength=len(CLASSES))
        ax.bar(
            np.arange(len(CLASSES)) + (i - (len(labels) - 1) / 2) * width, counts, width, label=f"{split} ({len(y):,})"
        )
    ax.set(xticks=range(len(CLASSES)), xticklabels=CLASSES, xlabel="digit", ylabel="images", title="Images per class")
    ax.legend()
    return fig


def pixel_histogram(x, mean, std):
    """Histogram of all pixel values, with their mean and standard deviation marked."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.hist(np.asarray(x).ravel(), bins=64, log=True, color="gray")
    ax.axvline(mean, color="C3", label=f"mean {mean:.4f}")
    ax.axvspan(mean - std, mean + std, color="C3", alpha=0.15, label=f"mean \u00b1 std ({std:.4f})")
    ax.set(xlabel="pixel value (0 paper, 1 ink)", ylabel="pixels (log scale)", title="Pixel intensities")
    ax.legend()
    return fig


def class_means(means, variances):
    """Each class's mean image (top) and per-pixel variance (bottom)."""
    means, variances = np.asarray(means), np.asarray(variances)
    fig, axes = plt.subplots(2, len(CLASSES), figsize=(13, 3.2))
    for c in range(len(CLASSES)):
        axes[0, c].imshow(means[c], cmap="gray")
        axes[1, c].imshow(variances[c], cmap="magma")
        axes[0, c].set_title(CLASSES[c])
    for ax in axes.flat:
        ax.set(xticks=[], yticks=[])
    axes[0, 0].set_ylabel("mean")
    axes[1, 0].set_ylabel("variance")
    fig.suptitle("The average digit of each class, and where its pixels vary most")
    fig.tight_layout()
    return fig


def ink_distributions(stats):
    """Histograms of bounding-box size, centre of mass and stroke width (from digitlib.studies.explore.ink_stats)."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.5))
    sizes = np.arange(0.5, 29.5)
    axes[0].hist([stats["height"], stats["width"]], bins=sizes, label=["height", "width"])
    axes[0].set(xlabel="bounding box (pixels)", ylabel="images", title="Size of the ink")
    axes[1].hist([stats["centre_row"], stats["centre_col"]], bins=24, label=["row", "column"])
    axes[1].set(xlabel="centre of mass (pixel)", ylabel="images", title="Position of the ink")
    axes[2].hist(stats["stroke"][~np.isnan(stats["stroke"])], bins=40, color="C2")
    axes[2].set(xlabel="stroke width (pixels)", ylabel="images", title="Thickness of the pen")
    for ax in axes[:2]:
        ax.legend()
    fig.tight_layout()
    return fig


def embeddings(points, y, title="t-SNE map, coloured by the true digit"):
    """2-D maps side by side; points: {panel title: [N, 2]}; each class in its colour, labelled at its median."""
    y = np.asarray(y)
    fig, axes = plt.subplots(1, len(points), figsize=(6.5 * len(points), 6), squeeze=False)
    for ax, (name, xy) in zip(axes[0], points.items()):
        for c in range(len(CLASSES)):
            ax.scatter(*xy[y == c].T, s=4, color=COLORS[c], label=CLASSES[c])
            ax.text(
                *np.median(xy[y == c], 0),
                CLASSES[c],
                fontsize=16,
                weight="bold",
                ha="center",
                va="center",
                bbox=dict(facecolor="white", alpha=0.7, edgecolor=COLORS[c]),
            )
        ax.set(title=name, xticks=[], yticks=[], xlabel="t-SNE 1", ylabel="t-SNE 2")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def learning_curves(histories, title="Learning curves"):
    """Loss and accuracy per epoch; histories: {label: per-epoch history}. Dashed: training, solid: validation."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for i, (label, history) in enumerate(histories.items()):
        epochs = [h["epoch"] for h in history]
        for ax, key in zip(axes, ["loss", "accuracy"]):
            ax.plot(epochs, [h[f"train_{key}"] for h in history], "--", color=COLORS[i % 10])
            ax.plot(epochs, [h[f"val_{key}"] for h in history], "-o", ms=3, color=COLORS[i % 10], label=label)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss (dashed: training, solid: validation)")
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="Accuracy (dashed: training, solid: validation)")
    axes[1].set_ylim(max(0.9, axes[1].get_ylim()[0]), 1.0)
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def sweep_curves(results, title="Validation accuracy per epoch"):
    """One panel per group of a sweep (digitlib.training.sweeps), a line per model."""
    groups = list(dict.fromkeys(r["group"] for r in results))
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4), squeeze=False, sharey=True)
    for ax, group in zip(axes[0], groups):
        for r in (r for r in results if r["group"] == group):
            ax.plot(
                [h["epoch"] for h in r["history"]],
                [h["val_accuracy"] for h in r["history"]],
                "-o",
                ms=3,
                label=r["label"],
            )
        ax.set(title=f"varying {group}", xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0, 0].set_ylabel("validation accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def tradeoff(rows, accuracy="val_accuracy", title="Size and training time against accuracy"):
    """Accuracy against parameters and against training seconds; rows: dicts with label, params, train_seconds."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharey=True)
    for ax, key, xlabel in [
        (axes[0], "params", "parameters (log scale)"),
        (axes[1], "train_seconds", "training seconds on this CPU (log scale)"),
    ]:
        for i, r in enumerate(rows):
            ax.scatter(r[key], r[accuracy], color=COLORS[i % 10], s=40)
            ax.annotate(r["label"], (r[key], r[accuracy]), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set(xscale="log", xlabel=xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(accuracy.replace("_", " "))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(matrix, title="Confusion matrix", ax=None, cbar=True):
    """Counts of true (rows) against predicted (columns) digits on a log colour scale, so single mistakes show."""
    matrix = np.asarray(matrix)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 6.5))
    sns.heatmap(
        matrix,
        mask=matrix == 0,
        norm=LogNorm(vmin=1, vmax=matrix.max()),
        cmap="viridis",
        annot=True,
        fmt="d",
        annot_kws=dict(fontsize=8),
        xticklabels=CLASSES,
        yticklabels=CLASSES,
        square=True,
        cbar=cbar,
        ax=ax,
    )
    ax.set(xlabel="predicted digit", ylabel="true digit", title=title, facecolor="white")
    return ax.figure


def confusion_grid(matrices, ncols=4):
    """Several confusion matrices; matrices: {model name: matrix}."""
    nrows = -(-len(matrices) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.6 * nrows), squeeze=False)
    for ax, (name, matrix) in zip(axes.flat, matrices.items()):
        confusion(matrix, title=name, ax=ax, cbar=False)
    for ax in axes.flat[len(matrices) :]:
        ax.axis("off")
    fig.suptitle("Confusion matrices (rows: true digit, columns: predicted; log colour scale)")
    fig.tight_layout()
    return fig


def per_class(reports, metric="f1"):
    """One per-class metric (precision, recall or f1) for each model; reports: {model: per_class dict}."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for i, (name, report) in enumerate(reports.items()):
        ax.plot(range(len(CLASSES)), [report[c][metric] for c in CLASSES], "-o", ms=4, color=COLORS[i % 10], label=name)
    ax.set(
        xticks=range(len(CLASSES)),
        xticklabels=CLASSES,
        xlabel="digit",
        ylabel=metric,
        title=f"Per-class {metric} on the test set",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return fig


def misclassified(x, y, probs, n=30, ncols=10):
    """The first n test images a model got wrong, titled with the truth and its top three guesses."""
    y, probs = np.asarray(y), np.asarray(probs)
    wrong = np.flatnonzero(probs.argmax(1) != y)[:n]
    titles = []
    for i in wrong:
        top = np.argsort(-probs[i])[:3]
        titles.append(f"true {y[i]}\n" + " ".join(f"{d}:{probs[i, d]:.2f}" for d in top))
    return digit_grid(
        np.asarray(x)[wrong], titles=titles, ncols=ncols, size=1.5, title="Misclassified (true digit; top 3 guesses)"
    )


def reliability(curves):
    """Reliability diagram: accuracy against confidence per bin; curves: {model:
    digitlib.studies.metrics.reliability()}."""
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot([0, 1], [0, 1], ":", color="gray", label="perfectly calibrated")
    for i, (name, r) in enumerate(curves.items()):
        used = r["count"] > 0
        ax.plot(
            r["confidence"][used],
            r["accuracy"][used],
            "-o",
            ms=4,
            color=COLORS[i % 10],
            label=f"{name} (ECE {r['ece']:.4f})",
        )
    ax.set(
        xlabel="confidence (top probability)",
        ylabel="accuracy",
        title="Reliability diagram (test set)",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def robustness(rows, title="Accuracy on distorted test digits"):
    """Accuracy per distortion level, as fed and after preprocessing; rows from
    digitlib.studies.robustness.robustness()."""
    kinds = list(dict.fromkeys(r["distortion"] for r in rows))
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), sharey=True)
    for ax, kind in zip(axes, kinds):
        sel = [r for r in rows if r["distortion"] == kind]
        ax.plot([r["level"] for r in sel], [r["accuracy"] for r in sel], "-o", label="as fed")
        ax.plot([r["level"] for r in sel], [r["preprocessed"] for r in sel], "-s", label="after preprocessing")
        ax.set(xlabel=kind, title=kind.split(" (")[0])
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def filters(weight, ncols=8):
    """First-layer conv kernels [C, 1, k, k]: red weighs ink positively, blue negatively."""
    w = np.asarray(weight)[:, 0]
    nrows = -(-len(w) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.1, nrows * 1.2), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(w):
            limit = np.abs(w[i]).max()
            ax.imshow(w[i], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(str(i), fontsize=8)
    fig.suptitle(f"The {len(w)} first-layer filters ({w.shape[1]}x{w.shape[2]})")
    fig.tight_layout()
    return fig


def feature_maps(x, maps, per_layer=8):
    """The input x [1, 28, 28], then per conv layer (a row) its per_layer most active feature maps [C, H, W]."""
    maps = [np.asarray(m) for m in maps]
    fig, axes = plt.subplots(len(maps), per_layer + 1, figsize=((per_layer + 1) * 1.2, len(maps) * 1.35), squeeze=False)
    for row, m in zip(axes, maps):
        row[0].imshow(np.asarray(x)[0], cmap="gray")
        for ax, c in zip(row[1:], most_active(m, per_layer)):
            ax.imshow(m[c], cmap="viridis")
            ax.set_title(f"ch {int(c)}", fontsize=7)
        for ax in row:
            ax.set(xticks=[], yticks=[])
    for i, (row, m) in enumerate(zip(axes, maps)):
        row[0].set_ylabel(f"conv {i + 1}\n{m.shape[1]}x{m.shape[2]}", fontsize=8)
    fig.suptitle("Input (left) and the most active feature maps of each conv layer")
    fig.tight_layout()
    return fig


def overlays(x, heats, titles, title):
    """Inputs [N, 1, 28, 28] with a heatmap [N, 28, 28] in [0, 1] laid over each."""
    return overlay_rows(x, {"": heats}, titles, title)


def overlay_rows(x, rows, titles, title):
    """Inputs [N, 1, 28, 28] once per row, each with that row's heatmap laid over it.

    rows: {row label: N heatmaps [28, 28] in [0, 1]}, e.g. one row per attribution method.
    """
    x = _images(x)
    fig, axes = plt.subplots(len(rows), len(x), figsize=(1.6 * len(x), 0.2 + 1.8 * len(rows)), squeeze=False)
    for r, (label, heats) in enumerate(rows.items()):
        for ax, img, heat in zip(axes[r], x, heats):
            ax.imshow(img, cmap="gray")
            ax.imshow(np.asarray(heat), cmap="inferno", alpha=0.6, vmin=0, vmax=1)
            ax.set(xticks=[], yticks=[])
            ax.spines[:].set_visible(False)  # like axis("off"), but keeps the row label
        axes[r, 0].set_ylabel(label)
    for ax, t in zip(axes[0], titles):
        ax.set_title(t, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def stages(examples, labels, title="From a picture to what the network sees"):
    """One row per picture, one column per step: examples are {step: image} dicts
    (digitlib.reading.preprocess.stages)."""
    steps = list(examples[0])
    fig, axes = plt.subplots(
        len(examples), len(steps), figsize=(2 * len(steps), 2 * len(examples)), squeeze=False, layout="constrained"
    )  # room for the title above the steps' names
    for row, example, label in zip(axes, examples, labels):
        for ax, step in zip(row, steps):
            image = np.asarray(example[step])
            ax.imshow(image, cmap="gray", vmin=0, vmax=255 if image.dtype == np.uint8 else 1)
            ax.set(xticks=[], yticks=[])
            ax.spines[:].set_visible(False)
        row[0].set_ylabel(label)
    for ax, step in zip(axes[0], steps):
        ax.set_title(step)
    fig.suptitle(title)
    return fig


def per_digit_accuracy(readings, y, title="Share of each digit read right"):
    """Per-digit accuracy of several sets of readings of the same samples; readings: {name: digits [N]}, y: labels."""
    y = np.asarray(y)
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(readings)
    for i, (name, read) in enumerate(readings.items()):
        right = [np.mean(np.asarray(read)[y == c] == c) for c in range(len(CLASSES))]
        ax.bar(np.arange(len(CLASSES)) + (i - (len(readings) - 1) / 2) * width, right, width, label=name)
    ax.set(xticks=range(len(CLASSES)), xticklabels=CLASSES, xlabel="digit", ylabel="read right", ylim=(0, 1.05))
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=9)
    return fig


def number_reading(picture, strip, steps, digits, title="How the sequence reader reads digits that touch"):
    """A picture of a number with a mark where each of its digits (Predictions) was read; the strip the sequence
    reader looks along in its widest piece; its probabilities at every step (ten digits, "not a digit" and the blank,
    "no symbol here"), each symbol it reads marked where its probability peaks."""
    from digitlib.reading.sequence import BLANK, NON_DIGIT, STRIDE, decode

    fig, axes = plt.subplots(3, 1, figsize=(8, 6.5), gridspec_kw={"height_ratios": [2, 1, 2]})
    axes[0].imshow(picture, cmap="gray")
    height, width = np.asarray(picture).shape[:2]
    for p in digits:
        axes[0].axvline(p.centre * width, color="tab:orange", lw=1.5, ymin=0, ymax=0.12)
        label = "?" if p.digit is None else str(p.digit)
        axes[0].text(p.centre * width, height, label, color="tab:orange", ha="center", va="top", fontweight="bold")
    axes[0].set_title("the picture, and where each digit was read")
    axes[1].imshow(strip, cmap="gray", aspect="auto", extent=(0, strip.shape[1], strip.shape[0], 0))
    axes[1].set_title("the strip the sequence reader looks along (28 px high)")
    im = axes[2].imshow(
        steps.T, cmap="Blues", aspect="auto", vmin=0, vmax=1, extent=(0, strip.shape[1], BLANK + 0.5, -0.5)
    )
    axes[2].set_yticks(range(BLANK + 1), [*map(str, range(NON_DIGIT)), "not a digit", "blank"])
    axes[2].set_title("probability of each class at every step; each digit read marked where it is surest")
    for r in decode(steps):
        for ax in axes[1:]:
            ax.axvline(r.column, color="tab:orange", lw=1.5)
        label = "?" if r.digit == NON_DIGIT else str(r.digit)
        axes[2].text(r.column, r.digit, label, color="tab:orange", ha="center", va="center", fontweight="bold")
    axes[2].set_xlabel(f"strip column (one step every {STRIDE} columns)")
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[2], fraction=0.03)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
