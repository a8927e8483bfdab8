"""Small training experiments behind the training notebooks: models that differ in one way, trained alike.

Each sweep's results (histories, parameters, time, validation accuracy) are kept in weights/sweeps/NAME.json
so a notebook can show them in seconds; run_sweep() reproduces them. Choices are made on the validation split.
"""

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from digitlib.constants import WEIGHTS_DIR
from digitlib.data.augment import random_affine
from digitlib.data.mnist import data_checksum, load_mnist
from digitlib.errors import DigitlibError
from digitlib.models import weights
from digitlib.models.infer import evaluate
from digitlib.models.zoo import AFFINE, SHIFT, Recipe, build, count_params, variant
from digitlib.training.device import pick_device, pick_precision
from digitlib.training.train import fit

SWEEPS_DIR = WEIGHTS_DIR / "sweeps"


@dataclass(frozen=True)
class Trial:
    """One model of a sweep: group (what is varied), label, architecture, arguments and recipe."""

    group: str
    label: str
    arch: str
    args: dict
    recipe: Recipe = field(default_factory=Recipe)
    same_as: str | None = None  # a shipped variant trained exactly like this trial, whose run it can reuse


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


AUGMENTED = "small"  # the variant the augment sweep trains: cnn2 ranked the three alike in 4 to 5 times the time


def augment_trials():
    """AUGMENTED by its recipe (no augmentation), then with random shifts, and with shifts, rotation and scale, in the
    fastest precision the machine has (bf16 on the CPU the stored results come from)."""
    v = variant(AUGMENTED)
    return [
        Trial("augmentation", "none", v.arch, v.args, v.recipe, same_as=AUGMENTED),
        *[
            Trial("augmentation", label, v.arch, v.args, replace(v.recipe, augment=augment))
            for label, augment in [("shift", SHIFT), ("affine", AFFINE)]
        ],
    ]


SWEEPS = {"fc": fc_trials, "augment": augment_trials}


def sweep_path(name, folder=SWEEPS_DIR):
    return Path(folder) / f"{name}.json"


def as_json(x):
    return json.loads(json.dumps(x))


def earlier_run(trial, recipe, seed, folder=WEIGHTS_DIR):
    """(model, history) of the shipped variant trial.same_as when it was trained exactly as the trial would be (same
    architecture, arguments, recipe, seed, data, device and precision; not a smoke run), else None.

    Notebook 03 retrains AUGMENTED before the augment sweep, whose "none" trial is the same run: it is not repeated.
    """
    if not trial.same_as:
        return None
    try:
        meta = weights.read_meta(trial.same_as, folder)
        device = pick_device()
        wanted = dict(
            arch=trial.arch,
            args=as_json(trial.args),
            recipe=as_json(recipe.to_dict()),
            seed=seed,
            data_md5=data_checksum(),
            device=str(device),
            precision=pick_precision(device, recipe.precision),
            smoke=False,
        )
        if any(meta.get(k) != v for k, v in wanted.items()):
            return None
        return weights.load(trial.same_as, folder), meta["history"]
    except DigitlibError:  # missing or unreadable: train it
        return None


def run_sweep(
    name, *, seed=0, out=SWEEPS_DIR, epochs=None, limit=None, max_batches=None, progress=True, shipped=WEIGHTS_DIR
):
    """Train every trial of a sweep and write out/NAME.json; returns its results (a list of dicts) as stored.

    A trial that is a shipped variant's exact run (Trial.same_as, found in `shipped`) reuses that run's weights and
    history instead of training again.

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
        recipe = replace(trial.recipe, epochs=epochs) if epochs else trial.recipe
        reused = None if limit or max_batches else earlier_run(trial, recipe, seed, shipped)
        if reused:
            model, history = reused
            if progress:
                print(f"the same run as {trial.same_as}: its weights are scored, not trained again")
        else:
            torch.manual_seed(seed)
            model = build(trial.arch, trial.args, images=train_data[0])
            history = fit(
                model, recipe, train_data, (x_val, y_val), seed=seed, max_batches=max_batches, progress=progress
            )
        results.append(
            dict(
                group=trial.group,
                label=trial.label,
                arch=trial.arch,
                args=trial.args,
                recipe=recipe.to_dict(),
                params=count_params(model),
                train_seconds=round(sum(h["seconds"] for h in history), 2),
                val_accuracy=evaluate(model, x_val, y_val)[1],  # in float32, as the history's may not be
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
        raise DigitlibError(f"no sweep results {path}; run digitlib.training.sweeps.run_sweep({name!r})") from None
    except ValueError:
        raise DigitlibError(f"corrupt sweep results {path}; run digitlib.training.sweeps.run_sweep({name!r})") from None
