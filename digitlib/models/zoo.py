"""The model zoo: two architectures and a registry of named variants, each with its training recipe.

Every model takes pixels in [0, 1] (white ink on black, [N, 1, 28, 28]) and normalises them itself,
so training, evaluation and the dashboard cannot feed it differently.
"""

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from digitlib.constants import DEFAULT_MODEL, IMAGE_SIZE, MNIST_MEAN, MNIST_STD, NUM_CLASSES  # noqa: F401
from digitlib.errors import DigitlibError


@dataclass(frozen=True)
class Augment:
    """Distortions drawn per image (digitlib.data.augment): rotation (degrees), shift (fraction of the side), scale
    range; and, when not 0, elastic wobble (pixels), stroke width change (chance each of +-1 px), blur (largest sigma)
    and uneven pressure (faintest ink, as a fraction of the strongest)."""

    degrees: float = 10
    translate: float = 0.1
    scale: tuple = (0.9, 1.1)
    elastic: float = 0.0
    stroke: float = 0.0
    blur: float = 0.0
    pressure: float = 0.0


@dataclass(frozen=True)
class Recipe:
    """How a variant is trained: AdamW with a one-cycle learning-rate schedule, in mixed precision where it pays."""

    epochs: int = 8
    batch_size: int = 128
    lr: float = 2e-3  # peak of the one-cycle schedule
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    augment: Augment | None = None
    channels_last: bool | None = None  # NHWC memory layout; None: where it pays (with bf16 or fp16, see train.fit)
    precision: str = "auto"  # "bf16", "fp16", "fp32", or "auto": the fastest the device has (device.pick_precision)
    clean_epochs: int = 0  # the last epochs see the digits undistorted, as the test set has them

    def to_dict(self):
        return asdict(self)


class Normalize(nn.Module):
    """Standardise pixels with MNIST's mean and standard deviation."""

    def forward(self, x):
        return (x - MNIST_MEAN) / MNIST_STD


def activation(name):
    return {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.1)}[name]


def dense_layers(width, hidden, dropout, act, classes=NUM_CLASSES):
    """Linear, activation and dropout for each hidden width, then the layer that outputs a logit per class."""
    layers = []
    for h in hidden:
        layers += [nn.Linear(width, h), activation(act), nn.Dropout(dropout)]
        width = h
    return layers + [nn.Linear(width, classes)]


class MLP(nn.Module):
    """Fully connected: 784 pixels -> hidden layers -> 10 logits."""

    kind = "fc"

    def __init__(self, hidden=(256, 128, 64), dropout=0.0, act="relu"):
        super().__init__()
        self.net = nn.Sequential(
            Normalize(), nn.Flatten(), *dense_layers(IMAGE_SIZE * IMAGE_SIZE, hidden, dropout, act)
        )

    def forward(self, x):
        return self.net(x)  # [N, 1, 28, 28] -> [N, 10]


class WhitenedConv(nn.Conv2d):
    """A first conv whose filters are set from the training images, not learned: the leading eigenvectors of the
    image patches' covariance, each divided by the square root of its eigenvalue, so that its outputs are uncorrelated
    and alike in size (airbench's whitening layer for CIFAR-10). Nothing before it learns, so training does no
    backward pass through it."""

    IMAGES = 5000  # the first training images: enough for a 25-by-25 covariance

    def __init__(self, channels, kernel, stride):
        super().__init__(1, channels, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.weight.requires_grad_(False)

    def whiten(self, x, eps=5e-4):
        """Set the filters from normalised images x [N, 1, H, W]."""
        patches = F.unfold(x.double(), self.kernel_size, padding=self.padding, stride=self.stride)
        patches = patches.transpose(1, 2).flatten(0, 1)  # [patches, kernel * kernel]
        values, vectors = torch.linalg.eigh(patches.T @ patches / len(patches))  # ascending
        top = torch.arange(len(values) - 1, len(values) - 1 - self.out_channels, -1)
        self.weight.copy_((vectors[:, top] / torch.sqrt(values[top] + eps)).T.reshape(self.weight.shape))


class ConvNet(nn.Module):
    """Conv stages (each: 3x3 convs, then 2x2 max-pool) -> fully connected head -> 10 logits.

    stages: channels of the convs in each stage, e.g. ((32,), (64, 64)).
    stem_stride=2 makes the very first conv a strided 5x5 that downsamples in place of the first pool.
    strided=True makes every stage's first conv stride 2 in place of the pool after the stage: a quarter of the work
    for that conv and everything after it in the stage, and no pooling to do.
    whitened_stem=True makes the very first conv a WhitenedConv, without batch norm: prepare() sets it.
    classes: logits out (10 digits; 2 for the rejector, digitlib.training.rejector: a digit or not).
    """

    kind = "cnn"

    def __init__(
        self,
        stages=((32,), (64,)),
        hidden=(128,),
        dropout=0.25,
        batchnorm=False,
        act="leaky_relu",
        stem_stride=1,
        strided=False,
        whitened_stem=False,
        classes=NUM_CLASSES,
    ):
        super().__init__()
        layers, width = [Normalize()], 1
        for i, stage in enumerate(stages):
            pool = not strided and not (i == 0 and stem_stride > 1)
            for j, channels in enumerate(stage):
                stem = i == j == 0 and stem_stride > 1
                kernel = 5 if stem else 3
                stride = stem_stride if stem else 2 if strided and j == 0 else 1
                if i == j == 0 and whitened_stem:
                    layers.append(WhitenedConv(channels, kernel, stride))
                else:
                    layers.append(
                        nn.Conv2d(width, channels, kernel, stride=stride, padding=kernel // 2, bias=not batchnorm)
                    )
                    if batchnorm:
                        layers.append(nn.BatchNorm2d(channels))
                layers.append(activation(act))
                width = channels
            if pool:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        with torch.no_grad():  # flattened size, whatever the stages
            width = self.features(torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE)).numel()
        head = dense_layers(width, hidden, dropout, act, classes)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), *head)

    def prepare(self, x):
        """Set what is set from the training images x [N, 1, 28, 28] rather than learned: a whitened stem."""
        with torch.no_grad():
            for layer in self.features:
                if isinstance(layer, WhitenedConv):
                    layer.whiten(self.features[0](x[: layer.IMAGES]))

    def forward(self, x):
        return self.head(self.features(x))  # [N, 1, 28, 28] -> [N, C, h, w] -> [N, 10]


ARCHITECTURES = {"MLP": MLP, "ConvNet": ConvNet}


@dataclass(frozen=True)
class Variant:
    """A named model: architecture, its arguments and how to train it."""

    name: str
    description: str
    arch: str
    args: dict
    recipe: Recipe = field(default_factory=Recipe)


SHIFT = Augment(degrees=0, translate=0.08, scale=(1.0, 1.0))
AFFINE = Augment(degrees=12, translate=0.1, scale=(0.85, 1.15))
# Epochs and learning rates set on validation (bf16, seed 0; benchmarks/TRAINING.md): cnn1 and cnn2 lose 0.08 to 0.17
# points in 4 or 5 epochs; cnn3 in 4, compact and small in 4 at a higher rate, stay within 0.04 of their longer runs.
TEACHING = Recipe(epochs=6)

VARIANTS = {
    v.name: v
    for v in [
        Variant(
            "fc",
            "Fully connected 784-256-128-64-10, ReLU",
            "MLP",
            dict(hidden=(256, 128, 64), dropout=0.1),
            Recipe(epochs=20, lr=2e-3, augment=SHIFT),
        ),
        Variant(
            "cnn1",
            "1 conv layer (32), LeakyReLU, max-pool, dropout",
            "ConvNet",
            dict(stages=((32,),), hidden=(128,)),
            TEACHING,
        ),
        Variant(
            "cnn2",
            "2 conv layers (32, 64), LeakyReLU, max-pool, dropout",
            "ConvNet",
            dict(stages=((32,), (64,)), hidden=(128,)),
            TEACHING,
        ),
        Variant(
            "cnn3",
            "3 conv layers (32, 64, 128), LeakyReLU, max-pool, dropout",
            "ConvNet",
            dict(stages=((32,), (64,), (128,)), hidden=(128,)),
            Recipe(epochs=4, lr=3e-3),
        ),
        Variant(
            "compact",
            "Compact 8-16-32 channel CNN",
            "ConvNet",
            dict(stages=((8,), (16,), (32,)), hidden=(), dropout=0.1),
            Recipe(epochs=4, lr=8e-3),
        ),
        Variant(
            "small",
            "Small 2-conv CNN (8, 16 channels) with two fully connected layers",
            "ConvNet",
            dict(stages=((8,), (16,)), hidden=(64,), dropout=0.1),
            Recipe(epochs=4, lr=8e-3),
        ),
        Variant(
            "fast",
            "All-strided 16-32-64-128 CNN with batch norm: 99% in one CPU epoch",
            "ConvNet",
            dict(
                stages=((16,), (32,), (64,), (128,)),
                hidden=(),
                dropout=0.0,
                batchnorm=True,
                act="relu",
                stem_stride=2,
                strided=True,
                whitened_stem=True,
            ),
            Recipe(epochs=1, batch_size=128, lr=4e-2, label_smoothing=0.1, channels_last=True),
        ),
        Variant(
            "best",
            "VGG-style 32x2-64x2-128x2 CNN, batch norm, affine augmentation",
            "ConvNet",
            dict(stages=((32, 32), (64, 64), (128, 128)), hidden=(256,), dropout=0.3, batchnorm=True, act="relu"),
            # seeds 0-4, validation mean: two convs in the first stage 99.68% against one 99.66% (never lower on a
            # seed; about 15 s more); the last epoch undistorted 99.66% against 99.61% with every epoch distorted
            Recipe(epochs=12, lr=3e-3, label_smoothing=0.1, augment=AFFINE, clean_epochs=1),
        ),
    ]
}


def variant(name):
    if name not in VARIANTS:
        raise DigitlibError(f"unknown model {name!r}; choose from {', '.join(VARIANTS)}")
    return VARIANTS[name]


def build(arch, args, images=None):
    """A fresh model from an architecture name and its arguments (as stored beside the weights). images: the training
    images [N, 1, 28, 28], to train it from scratch: what is set from them rather than learned (a whitened stem) is set;
    without them, such parts wait for weights to be loaded."""
    if arch not in ARCHITECTURES:
        raise DigitlibError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    model = ARCHITECTURES[arch](**args)
    if images is not None and hasattr(model, "prepare"):
        model.prepare(images)
    return model


def conv_outputs(model):
    """For each conv layer of model, the module whose output is its feature map, as the next layer sees it: the
    activation after it (past any batch norm), else the conv itself. Empty for a model without conv layers."""
    modules = list(model.modules())
    return [
        next((n for n in modules[i + 1 :] if isinstance(n, (nn.ReLU, nn.LeakyReLU))), m)
        for i, m in enumerate(modules)
        if isinstance(m, nn.Conv2d)
    ]


def count_params(model):
    return sum(p.numel() for p in model.parameters())
