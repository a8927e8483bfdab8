"""How a model copes with digits unlike MNIST's: shifted, rotated, thinner or thicker strokes.

Each distortion is applied to test images, which are then read two ways: fed to the network as they are,
and first put back into the MNIST convention by digitlib.reading.preprocess (as the CLI and the dashboard do).
"""

import torch

from digitlib.constants import IMAGE_SIZE
from digitlib.data import synth
from digitlib.data.augment import affine, dilate
from digitlib.models.infer import evaluate
from digitlib.reading.preprocess import naive_input, to_mnist_input


def shifted(x, pixels):
    """Images [N, 1, 28, 28] moved `pixels` right and down."""
    return affine(x, pixels=pixels)


def rotated(x, degrees):
    """Images rotated anticlockwise about their centre."""
    return affine(x, degrees=degrees)


def restroked(x, pixels):
    """Strokes made `pixels` thicker on every side by grey dilation with a 3x3 square."""
    for _ in range(pixels):
        x = dilate(x)
    return x


DISTORTIONS = {
    # MNIST digits mostly lie in rows and columns 4 to 23: larger shifts would cut many off
    "shift (pixels right and down)": (shifted, [0, 1, 2, 3, 4]),
    "rotation (degrees)": (rotated, [0, 15, 30, 45]),
    "stroke (pixels thicker)": (restroked, [0, 1, 2, 3]),
}


def as_input(image):
    """to_mnist_input for one image as a tensor; a blank [1, 28, 28] when it finds no digit."""
    x = to_mnist_input(image)
    return torch.from_numpy(x) if x is not None else torch.zeros(1, IMAGE_SIZE, IMAGE_SIZE)


def preprocessed(x):
    """Each image put through digitlib.reading.preprocess.to_mnist_input; a blank result stays blank."""
    return torch.stack([as_input(img[0].numpy()) for img in x])


def robustness(model, x, y):
    """Rows of (distortion, level, accuracy as fed, accuracy after preprocessing) for labelled images x, y."""
    rows = []
    for name, (distort, levels) in DISTORTIONS.items():
        for level in levels:
            xd = distort(x, level)
            rows.append(
                dict(
                    distortion=name,
                    level=level,
                    accuracy=evaluate(model, xd, y)[1],
                    preprocessed=evaluate(model, preprocessed(xd), y)[1],
                )
            )
    return rows


def real_conditions(model, mnist, n=30, seed=0, sources=("templates", "mnist")):
    """Rows of (condition, accuracy fed a naive 28x28 resize, accuracy after preprocessing) on the pictures of
    digitlib.data.synth: n per condition, shapes from the given sources."""
    rows = []
    for condition in synth.CONDITIONS:
        samples = synth.samples(condition, n, seed=seed, mnist=mnist, sources=sources)
        y = torch.tensor([label for _, label, _ in samples])
        naive = torch.stack([torch.from_numpy(naive_input(image)) for image, _, _ in samples])
        ours = torch.stack([as_input(image) for image, _, _ in samples])
        rows.append(
            dict(condition=condition, naive=evaluate(model, naive, y)[1], preprocessed=evaluate(model, ours, y)[1])
        )
    return rows
