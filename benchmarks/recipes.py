"""Try a change to a variant's recipe or architecture: train it over seeds and print validation and test accuracy and
the training time of each run, to be compared with the variant as it is (run both, interleaved by seed).

.venv/bin/python benchmarks/recipes.py best --seeds 0 1 2 --set dropout=0.4 --set lr=2e-3
.venv/bin/python benchmarks/recipes.py best --set 'augment={"degrees": 8, "translate": 0.08, "scale": [0.9, 1.1]}'

A --set KEY=VALUE changes the recipe field KEY (models.Recipe; augment takes models.Augment's fields) or else the
architecture's argument KEY; VALUE is JSON. Choose on validation accuracy: the test set only reports.
"""

import argparse
import json
import statistics
from dataclasses import fields, replace

import torch

from digitlib.data.mnist import load_mnist
from digitlib.models.infer import evaluate, predict_logits
from digitlib.models.zoo import Augment, Recipe, build, variant
from digitlib.reading.answers import accuracy
from digitlib.training.train import fit


def changed(name, settings):
    """The variant's (architecture arguments, recipe) with settings {key: value} applied."""
    v = variant(name)
    args, recipe = dict(v.args), v.recipe
    for key, value in settings.items():
        if key == "augment":
            recipe = replace(recipe, augment=Augment(**value) if value else None)
        elif key in {f.name for f in fields(Recipe)}:
            recipe = replace(recipe, **{key: value})
        else:
            args[key] = value
    return v.arch, args, recipe


def run(name, settings, seed):
    """Train once: (validation accuracy, test accuracy, seconds of training)."""
    arch, args, recipe = changed(name, settings)
    torch.manual_seed(seed)  # as train_variant does: the same seed gives the shipped variant's weights
    train_data = load_mnist("train")
    model = build(arch, args, images=train_data[0])
    x_val, y_val = load_mnist("val")
    history = fit(model, recipe, train_data, (x_val, y_val), seed=seed, progress=False)
    x_test, y_test = load_mnist("test")
    val = accuracy(predict_logits(model, x_val).argmax(1), y_val)
    return val, evaluate(model, x_test, y_test)[1], sum(h["seconds"] for h in history)


def setting(text):
    key, _, value = text.partition("=")
    return key, json.loads(value)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a registered variant, e.g. best or fast")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to train (default: 0 1 2)")
    p.add_argument("--set", type=setting, action="append", default=[], metavar="KEY=VALUE", help="a change (JSON)")
    args = p.parse_args()
    settings, runs = dict(args.set), []
    for seed in args.seeds:
        runs.append(run(args.model, settings, seed))
        val, test, seconds = runs[-1]
        print(f"{args.model} {json.dumps(settings)} seed {seed}: validation {val:.2%}, test {test:.2%}, {seconds:.1f}s")
    vals, tests, seconds = zip(*runs)
    print(
        f"{args.model} {json.dumps(settings)}: validation mean {statistics.mean(vals):.3%}, "
        f"test mean {statistics.mean(tests):.3%}, lowest {min(tests):.2%}; median {statistics.median(seconds):.2f}s"
    )
