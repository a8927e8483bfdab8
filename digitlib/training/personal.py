"""A personal model: a shipped model fine-tuned on a person's corrections mixed with replayed MNIST digits.

The corrections alone would teach the network one hand and let it forget MNIST's (catastrophic forgetting); replaying
MNIST training digits beside them keeps both. Training is digitlib.training.train.fit with the base model's
augmentation; some corrections of each digit are held out to measure the result, and the model is written as
personal.safetensors, personal.json and personal.onnx beside the corrections, where the dashboard finds it.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from digitlib.constants import NUM_CLASSES
from digitlib.data.corrections import CORRECTIONS_DIR, NOT_A_DIGIT_LABEL, PERSONAL, arrays, counts, read
from digitlib.data.hand import DEMO_SEED, demo_hand
from digitlib.data.mnist import load_mnist
from digitlib.errors import DigitlibError
from digitlib.models import weights
from digitlib.models.infer import evaluate, predict_logits
from digitlib.models.onnx_export import export
from digitlib.models.zoo import AFFINE, Recipe
from digitlib.training import rejector as rejector_train
from digitlib.training.sweeps import SWEEPS_DIR
from digitlib.training.train import fit, measured_meta

BASE = "best"
# Gentle: a tenth of best's peak learning rate, a few short epochs; best's augmentation; fp32 so a CPU run repeats.
FINETUNE = Recipe(
    epochs=4, batch_size=64, lr=3e-4, label_smoothing=0.1, augment=AFFINE, channels_last=False, precision="fp32"
)
MIX = 3000  # training examples per epoch: the corrections, repeated, and the MNIST digits replayed
REPLAY = 2000  # of them MNIST training digits (0: the corrections alone fill the epoch)
HOLD_OUT = 0.2  # of each digit's corrections, held out to measure the result
VAL = 2000  # MNIST validation digits scored after each epoch and used to fit the temperature


def held_out(y, fraction=HOLD_OUT, seed=0):
    """Indices of about `fraction` of each digit's samples in labels y [N] (rounded down: a digit with fewer than
    1 / fraction samples keeps them all for training), chosen at random by seed."""
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(y == d))[: int(fraction * (y == d).sum())] for d in range(NUM_CLASSES)]
    return np.sort(np.concatenate(picked)).astype(np.int64)


def folds(y, k, seed=0):
    """k disjoint held-out index sets covering labels y [N], each digit's samples dealt out evenly (stratified)."""
    rng = np.random.default_rng(seed)
    out = [[] for _ in range(k)]
    for d in range(NUM_CLASSES):
        for i, index in enumerate(rng.permutation(np.flatnonzero(y == d))):
            out[i % k].append(index)
    return [np.sort(np.array(f, dtype=np.int64)) for f in out]


def training_mix(x, y, replay=REPLAY, size=MIX, seed=0, limit=None):
    """Tensors (x [size, 1, 28, 28], y [size]): the corrections x [N, 1, 28, 28], y [N] (numpy) repeated to fill
    size - replay places, and `replay` MNIST training digits drawn at random by seed. limit: of MNIST (smoke runs)."""
    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
    if len(x) == 0:
        raise DigitlibError("no corrections to fine-tune on")
    repeat = torch.arange(size - replay) % len(x)
    xs, ys = [x[repeat]], [y[repeat]]
    if replay:
        x_mnist, y_mnist = load_mnist("train", limit=limit)
        pick = torch.randperm(len(x_mnist), generator=torch.Generator().manual_seed(seed))[:replay]
        xs.append(x_mnist[pick])
        ys.append(y_mnist[pick])
    return torch.cat(xs), torch.cat(ys)


def finetune(base, x, y, *, replay=REPLAY, recipe=FINETUNE, seed=0, limit=None, max_batches=None, progress=False):
    """The model named base, fine-tuned by recipe on corrections x [N, 1, 28, 28], y [N] (numpy) mixed with `replay`
    MNIST digits; (model, per-epoch history)."""
    model = weights.load(base).train()
    val = load_mnist("val", limit=min(VAL, limit or VAL))
    mix = training_mix(x, y, replay, seed=seed, limit=limit)
    history = fit(model, recipe, mix, val, seed=seed, max_batches=max_batches, progress=progress)
    return model.eval(), history


def readings(model, x):
    """The digits model reads in inputs x [N, 1, 28, 28] (numpy): a list of N ints."""
    if len(x) == 0:
        return []
    return predict_logits(model, torch.as_tensor(x, dtype=torch.float32)).argmax(1).tolist()


def share_right(read, y):
    """The fraction of readings equal to labels y; None for none."""
    return float(np.mean(np.asarray(read) == np.asarray(y))) if len(y) else None


def trust(held):
    """How far to trust an accuracy measured on `held` held-out corrections, in a sentence."""
    if held == 0:
        return (
            "no correction was held out (a digit needs 5 to hold one out), so nothing measures how well it reads "
            "your hand yet"
        )
    step = 100 / held
    rough = "a rough sign only" if held < 50 else "a fair measure"
    return f"measured on {held} held-out corrections, each worth {step:.1f} points: {rough}"


def make_personal(
    folder=CORRECTIONS_DIR,
    *,
    out=None,
    base=BASE,
    replay=REPLAY,
    epochs=None,
    seed=0,
    limit=None,
    max_batches=None,
    progress=True,
):
    """Fine-tune base on the corrections in folder (some of each digit held out), measure it before and after on the
    held-out corrections and on MNIST's test set, and write personal.safetensors, .json and .onnx to folder. Returns
    the metadata written. out: write them there instead. limit, max_batches: smoke runs."""
    samples, _ = read(folder)
    if not samples:
        raise DigitlibError(
            f"no corrections in {folder}: correct a few readings in the dashboard, or import some with: "
            "python -m digitlib corrections --import FILE"
        )
    x, y = arrays(samples)
    others = x[y == NOT_A_DIGIT_LABEL]  # drawings labelled not a digit teach the personal rejector, not the model
    x, y = x[y != NOT_A_DIGIT_LABEL], y[y != NOT_A_DIGIT_LABEL]
    test = held_out(y, seed=seed)
    train = np.setdiff1d(np.arange(len(y)), test)
    recipe = replace(FINETUNE, epochs=epochs) if epochs else FINETUNE
    before = weights.load(base)
    run = dict(seed=seed, limit=limit, max_batches=max_batches, progress=progress)
    model, history = finetune(base, x[train], y[train], replay=replay, recipe=recipe, **run)
    x_test, y_test = load_mnist("test", limit=limit)
    x_val, y_val = load_mnist("val", limit=min(VAL, limit or VAL))
    base_meta = weights.read_meta(base)
    description = f"{base} fine-tuned on {len(train)} corrections with {replay} MNIST digits replayed"
    about = dict(name=PERSONAL, description=description, arch=base_meta["arch"], args=base_meta["args"])
    data = dict(val=(x_val, y_val), test=(x_test, y_test))
    device = next(model.parameters()).device
    meta = measured_meta(
        model, about, recipe, history, seed=seed, **data, device=device, smoke=bool(limit or max_batches)
    )
    meta.update(
        base=base,
        replay=replay,
        mix=MIX,
        corrections=len(y),
        per_digit=counts(samples),
        held_out=len(test),
        held_out_accuracy_before=share_right(readings(before, x[test]), y[test]),
        held_out_accuracy=share_right(readings(model, x[test]), y[test]),
        mnist_test_accuracy_before=evaluate(before, x_test, y_test)[1],
        trust=trust(len(test)),
    )
    out = folder if out is None else out
    if len(others):
        meta["not_a_digit"] = len(others)
        smoke = dict(replay=60, max_batches=max_batches) if limit else {}  # a smoke run: a few of each
        rejector_train.finetune(x[train], others, Path(out), seed=seed, **smoke)
    meta = weights.save(model, PERSONAL, meta, out)
    export(PERSONAL, out)
    return meta


# --- the study behind notebooks/08_your_handwriting: k-fold fine-tuning on the demo hand, with and without replay --

STUDY = "handwriting"
K = 5


def study_path(name=STUDY, folder=SWEEPS_DIR):
    """Where the study `name` keeps its results: folder/NAME.json."""
    return Path(folder) / f"{name}.json"


def run_study(name=STUDY, *, out=SWEEPS_DIR, k=K, seed=0, epochs=None, limit=None, max_batches=None, progress=True):
    """Fine-tune BASE k times on the demo hand (digitlib.data.hand), each time holding out another fifth of it, with
    REPLAY MNIST digits replayed and with none; record every held-out reading and MNIST test accuracy, and write the
    results to out/NAME.json (weights/sweeps/handwriting.json by default). Returns them as stored."""
    x, y = arrays(demo_hand())
    recipe = replace(FINETUNE, epochs=epochs) if epochs else FINETUNE
    base = weights.load(BASE)
    x_test, y_test = load_mnist("test", limit=limit)
    results = dict(
        base=BASE,
        demo_seed=DEMO_SEED,
        labels=y.tolist(),
        k=k,
        recipe=recipe.to_dict(),
        mix=MIX,
        before=dict(readings=readings(base, x), mnist_test_accuracy=evaluate(base, x_test, y_test)[1]),
        folds=[],
    )
    for i, test in enumerate(folds(y, k, seed)):
        train = np.setdiff1d(np.arange(len(y)), test)
        fold = dict(held_out=test.tolist())
        for condition, replay in [("replay", REPLAY), ("no_replay", 0)]:
            if progress:
                print(f"fold {i + 1}/{k}, {condition}")
            model, history = finetune(
                BASE, x[train], y[train], replay=replay, recipe=recipe, seed=seed, limit=limit, max_batches=max_batches
            )
            fold[condition] = dict(
                readings=readings(model, x[test]),
                mnist_test_accuracy=evaluate(model, x_test, y_test)[1],
                seconds=round(sum(h["seconds"] for h in history), 2),
            )
        results["folds"].append(fold)
    weights.save_json(study_path(name, out), results)
    return load_study(name, out)


def load_study(name=STUDY, folder=SWEEPS_DIR):
    """The stored results of run_study, or a DigitlibError naming the file and how to make it."""
    path = study_path(name, folder)
    try:
        return weights.read_json(path)
    except (FileNotFoundError, ValueError):
        raise DigitlibError(f"no readable study results {path}; run digitlib.training.personal.run_study()") from None


def study_table(study):
    """Per condition (base, replay, no replay): held-out accuracy on the demo hand and MNIST test accuracy, as the
    mean and range over the folds (the base model is measured once)."""
    y = np.array(study["labels"])
    rows = [
        dict(
            model=f"{study['base']} (before)",
            hand_accuracy=share_right(study["before"]["readings"], y),
            hand_lowest=None,
            mnist_test_accuracy=study["before"]["mnist_test_accuracy"],
            mnist_lowest=None,
        )
    ]
    for condition, label in [
        ("replay", f"fine-tuned, {REPLAY} MNIST digits replayed"),
        ("no_replay", "fine-tuned, no replay"),
    ]:
        hand = [share_right(f[condition]["readings"], y[f["held_out"]]) for f in study["folds"]]
        mnist = [f[condition]["mnist_test_accuracy"] for f in study["folds"]]
        rows.append(
            dict(
                model=label,
                hand_accuracy=float(np.mean(hand)),
                hand_lowest=min(hand),
                mnist_test_accuracy=float(np.mean(mnist)),
                mnist_lowest=min(mnist),
            )
        )
    return rows


def held_out_readings(study, condition):
    """Every demo-hand sample's reading when it was held out, fine-tuned under condition: an array [N] of digits."""
    out = np.full(len(study["labels"]), -1)
    for f in study["folds"]:
        out[f["held_out"]] = f[condition]["readings"]
    return out
