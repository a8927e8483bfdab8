"""Small training experiments behind the training notebooks: models that differ in one way, trained alike.

Each sweep's results (histories, parameters, time, validation accuracy) are kept in weights/sweeps/NAME.json
so a notebook can show them in seconds; run_sweep() reproduces them. Choices are made on the validation split.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from digitlib import weights
from digitlib.augment import random_affine
from digitlib.constants import WEIGHTS_DIR
from digitlib.data import load_mnist
from digitlib.errors import DigitlibError
from digitlib.infer import evaluate
from digitlib.models import AFFINE, SHIFT, Recipe, build, count_params
from digitlib.train import fit

SWEEPS_DIR = WEIGHTS_DIR / "sweeps"


@dataclass(frozen=True)
class Trial:
    """One model of a sweep: group (what is varied), label, architecture, arguments and recipe."""

    group: str
    label: str
    arch: str
    args: dict
    recipe: Recipe = field(default_factory=Recipe)


# The stored fc results were trained in float32 in the default layout, before mixed precision: a rerun repeats that.
STORED_AS = dict(channels_last=False, precision="fp32")


def fc_trials():
    """Width, depth and dropout of the fully connected net, 10 epochs each, no augmentation."""
    recipe = Recipe(epochs=10, lr=2e-3, **STORED_AS)
    widths = [(64, 32, 16), (128, 64, 32), (256, 128, 64), (512, 256, 128), (1024, 512, 256)]
    depths = [(256,) * n for n in range(1, 5)]
    trials = [Trial("width", "-".join(map(str, h)), "MLP", dict(hidden=h, dropout=0.1), recipe) for h in widths]
    trials += [Trial("depth", f"{len(h)} x 256", "MLP", dict(hidden=h, dropout=0.1), recipe) for h in depths]
    trials += [
        Trial("dropout", f"dropout {p}", "MLP", dict(hidden=(256, 128, 64), dropout=p), recipe)
        for p in (0.0, 0.1, 0.3, 0.5)
    ]
    return trials


def augment_trials():
    """The 2-conv CNN (cnn2) trained 8 epochs with no augmentation, random shifts, and shifts, rotation and scale, in
    the fastest precision the machine has (bf16 on the CPU the stored results come from)."""
    args = dict(stages=((32,), (64,)), hidden=(128,))
    return [
        Trial("augmentation", label, "ConvNet", args, Recipe(augment=augment))
        for label, augment in [("none", None), ("shift", SHIFT), ("affine", AFFINE)]
    ]


SWEEPS = {"fc": fc_trials, "augment": augment_trials}


def sweep_path(name, folder=SWEEPS_DIR):
    return Path(folder) / f"{name}.json"


def run_sweep(name, *, seed=0, out=SWEEPS_DIR, epochs=None, limit=None, max_batches=None, progress=True):
    """Train every trial of a sweep and write out/NAME.json; returns its results (a list of dicts) as stored.

    Besides plain validation accuracy each model is scored on a distorted copy of the validation split
    (random rotation, scale and shift, the same copy for every model): how much it relies on MNIST's centring.
    """
    if name not in SWEEPS:
        raise DigitlibError(f"unknown sweep {name!r}; choose from {', '.join(SWEEPS)}")
    train_data, (x_val, y_val) = load_mnist("train", limit=limit), load_mnist("val", limit=limit)
    x_distorted = random_affine(x_val, AFFINE, torch.Generator().manual_seed(seed))
    results = []
    for trial in SWEEPS[name]():
        if progress:
            print(f"{trial.group}: {trial.label}")
        torch.manual_seed(seed)
        model = build(trial.arch, trial.args)
        recipe = replace(trial.recipe, epochs=epochs) if epochs else trial.recipe
        history = fit(model, recipe, train_data, (x_val, y_val), seed=seed, max_batches=max_batches, progress=progress)
        results.append(
            dict(
                group=trial.group,
                label=trial.label,
                arch=trial.arch,
                args=trial.args,
                recipe=recipe.to_dict(),
                params=count_params(model),
                train_seconds=round(sum(h["seconds"] for h in history), 2),
                val_accuracy=history[-1]["val_accuracy"],
                val_accuracy_distorted=evaluate(model, x_distorted, y_val)[1],
                history=history,
            )
        )
    weights.save_json(sweep_path(name, out), results)
    return load_sweep(name, out)  # as stored: tuples become lists


def load_sweep(name, folder=SWEEPS_DIR):
    """The stored results of a sweep, or a DigitlibError naming the file and how to make it."""
    path = sweep_path(name, folder)
    try:
        return weights.read_json(path)
    except FileNotFoundError:
        raise DigitlibError(f"no sweep results {path}; run digitlib.sweeps.run_sweep({name!r})") from None
    except ValueError:
        raise DigitlibError(f"corrupt sweep results {path}; run digitlib.sweeps.run_sweep({name!r})") from None
