"""Train the rejector (digitlib.reading.rejection): a small CNN that tells a digit from anything else, through
train.fit.

Digits: MNIST's training split as it is, and through the preprocessing as readers see real pictures: drawn in
digitlib.data.synth's conditions, drawn as on the dashboard's canvas, cut out of written numbers, and shapes that read
as digits (negatives.DIGIT_LIKE). Not digits: digitlib.data.negatives' kinds, drawn in the training conditions. The
threshold keeps KEEP of the validation digits (the same kinds, from MNIST's validation split); MNIST's test set and the
held-out fonts are never looked at here. `python -m digitlib train-rejector` runs train().
"""

import time
from dataclasses import replace

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from digitlib.data import negatives, synth
from digitlib.data.mnist import load_mnist
from digitlib.models import onnx_export, weights
from digitlib.models.zoo import AFFINE, Recipe, build, count_params
from digitlib.reading.rejection import DIGIT, NAME, NOT_DIGIT, REJECTOR_DIR
from digitlib.training.train import fit

# 32-64-128 for 8 epochs against 16-32-64 for 4, on the validation sets: 96.1% of the non-digits rejected (every kind
# 92% or more) against 92.2%, as many validation digits rejected (14 of 13,400)
ARGS = dict(stages=((32,), (64,), (128,)), hidden=(128,), dropout=0.1, batchnorm=True, act="relu", classes=2)
RECIPE = Recipe(epochs=8, batch_size=128, lr=3e-3)
# Training conditions: the two slowest to draw (big photos) and grey squared paper are only for validation and tests
TRAIN_CONDITIONS = ("clean pen", "marker", "shadowed photo", "chalk", "pressure", "tiny", "grey ruled")
TRAIN_SEED, VAL_SEED = 1000, 2000  # seeds of the generated sets; the benchmark's and the tests' are others
NEGATIVES = 1500  # per kind, for training
DRAWN_DIGITS = 300  # per condition, for training
VAL_NEGATIVES, VAL_DIGITS = 300, 100  # per kind, per condition
CANVAS_DIGITS, VAL_CANVAS = 15000, 2000  # MNIST digits drawn as on the dashboard's canvas, or photographed
NUMBERS, VAL_NUMBERS = 300, 100  # written numbers, each digit's input as a reader sees it
# Ruled lines that the preprocessing removes leave strokes broken like a scribble's: more of these digits (squared
# paper too, though the preprocessing was never tuned on it)
RULED, RULED_DIGITS = ("grey ruled", "grey squared"), 600
REPEAT = 3  # the drawn sets are repeated (each time distorted anew) so that they weigh against MNIST's 50,000
KEEP = 0.999  # of the validation digits, the threshold keeps at least this fraction


def drawn_digits(n, seed, split, conditions):
    """Inputs [M, 1, 28, 28] of digits drawn in the conditions (synth) and of digit-like letters, n per condition."""
    parts = [negatives.digit_inputs(c, n, seed + i, split)[0] for i, c in enumerate(conditions)]
    like = negatives.cached(
        f"digit_like-{n}-{seed}", lambda: negatives.inputs(im for im, _, _ in negatives.digit_like(n, seed))
    )
    return np.concatenate([*parts, like[0]])


def canvas_drawing(digit, rng):
    """An MNIST digit (uint8 [28, 28]) as a person hands it over: enlarged to 200-400 px, its ink dark on white, the
    pen as MNIST's, thinner or thicker; half of them photographed (tinted paper, uneven light, blur, noise, now and
    then ruled lines or a shadow), as tests/drawings.py draws them."""
    side = int(rng.integers(200, 400))
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)) > 127
    pen = int(rng.integers(-2, 3)) * side // 100
    if pen:
        ink = ndimage.binary_dilation(ink, iterations=pen) if pen > 0 else ndimage.binary_erosion(ink, iterations=-pen)
    if rng.random() < 0.5:
        return Image.fromarray(np.where(ink, 0, 255).astype(np.uint8))
    sheet = synth.paper((side, side), rng, (180, 235), tuple(rng.uniform(0.8, 1.0, 3)), rng.uniform(0, 0.45), 6)
    if rng.random() < 0.3:
        sheet = synth.compose(sheet, (150, 160, 200), synth.ruled((side, side), rng, side / 10, 0, 2))
    if rng.random() < 0.3:
        rows, cols = np.mgrid[:side, :side]
        sheet *= np.where(rows + cols < rng.uniform(1, 1.5) * side, 1.0, rng.uniform(0.5, 0.7))[..., None]
    rgb = synth.compose(sheet, tuple(rng.uniform(20, 140, 3)), ink.astype(np.float32))
    return synth.finish(ndimage.gaussian_filter(rgb, (rng.uniform(0.5, 2),) * 2 + (0,)), jpeg=rng.choice([None, 85]))


def canvas_digits(n, seed, split):
    """Inputs of n MNIST digits of a split drawn as on a canvas (canvas_drawing), through the preprocessing."""
    digits = synth.mnist_digits(split)[0]

    def make():
        rng = np.random.default_rng(seed)
        return negatives.inputs(canvas_drawing(digits[i], rng) for i in rng.choice(len(digits), n, replace=False))

    return negatives.cached(f"canvas-photo-{n}-{seed}-{split}", make)[0]


def number_pieces(n, seed, split):
    """Inputs of the digits of numbers of 2 to 5 digits (n, half of them touching) that the rejector sees when a
    reader reads them (those the sequence reader does not read)."""
    from digitlib.reading.preprocess import number_parts

    def make():
        mnist = synth.mnist_digits(split)
        numbers = synth.numbers(n // 2, seed, mnist) + synth.numbers(n - n // 2, seed + 1, mnist, touching=False)
        pieces = [part.x for image, _ in numbers for part in number_parts(image) if part.probs is None]
        return np.stack(pieces).astype(np.float32), np.ones(len(pieces), bool)

    return negatives.cached(f"parts-{n}-{seed}-{split}", make)[0]


def validation_digits():
    """Inputs of the drawn validation digits (MNIST's validation split in every condition, on a canvas, in numbers)."""
    return np.concatenate(
        [
            drawn_digits(VAL_DIGITS, VAL_SEED, "val", tuple(synth.CONDITIONS)),
            canvas_digits(VAL_CANVAS, VAL_SEED, "val"),
            number_pieces(VAL_NUMBERS, VAL_SEED, "val"),
        ]
    )


def not_digits(n, seed, conditions):
    """Inputs [M, 1, 28, 28] of every kind of negative, n pictures each (those without ink dropped)."""
    return np.concatenate(
        [negatives.negative_inputs(k, n, seed + i, conditions)[0] for i, k in enumerate(negatives.KINDS)]
    )


def labelled(digits, others):
    """(x, y) tensors: digits labelled DIGIT, others NOT_DIGIT."""
    x = torch.from_numpy(np.concatenate([digits, others]).astype(np.float32))
    y = torch.cat([torch.full((len(digits),), DIGIT), torch.full((len(others),), NOT_DIGIT)])
    return x, y


def not_digit_probs(model, x):
    """The trained model's probability [N] that each input is not a digit."""
    with torch.inference_mode():
        return torch.cat([model(x[i : i + 1024]).softmax(1)[:, NOT_DIGIT] for i in range(0, len(x), 1024)]).numpy()


def train(out=REJECTOR_DIR, epochs=None, seed=0, progress=True):
    """Train the rejector, choose its threshold on the validation sets, write out/rejector.safetensors, .json and
    .onnx; return the metadata."""
    torch.manual_seed(seed)
    started = time.perf_counter()
    mnist_train = load_mnist("train")[0].numpy()
    drawn = np.concatenate(
        [
            drawn_digits(DRAWN_DIGITS, TRAIN_SEED, "train", TRAIN_CONDITIONS),
            drawn_digits(DRAWN_DIGITS, TRAIN_SEED + 100, "train", TRAIN_CONDITIONS),
            *[negatives.digit_inputs(c, RULED_DIGITS, TRAIN_SEED + 200 + i, "train")[0] for i, c in enumerate(RULED)],
            canvas_digits(CANVAS_DIGITS, TRAIN_SEED, "train"),
            number_pieces(NUMBERS, TRAIN_SEED, "train"),
        ]
    )
    others = not_digits(NEGATIVES, TRAIN_SEED, TRAIN_CONDITIONS)
    train_data = labelled(np.concatenate([mnist_train, *[drawn] * REPEAT]), np.concatenate([others] * REPEAT))
    mnist_val = load_mnist("val")[0].numpy()
    val_drawn = validation_digits()
    val_others = not_digits(VAL_NEGATIVES, VAL_SEED, tuple(synth.CONDITIONS))
    val_data = labelled(np.concatenate([mnist_val, val_drawn]), val_others)
    prepared = time.perf_counter() - started
    recipe = replace(RECIPE, epochs=epochs or RECIPE.epochs)
    model = build("ConvNet", ARGS)
    history = fit(model, recipe, train_data, val_data, seed=seed, device="cpu", progress=progress)
    model.eval()
    digits_p = not_digit_probs(model, val_data[0][val_data[1] == DIGIT])
    others_p = not_digit_probs(model, val_data[0][val_data[1] == NOT_DIGIT])
    threshold = float(max(np.quantile(digits_p, KEEP), 0.5))
    meta = dict(
        name=NAME,
        description="Rejector: a digit or not, 32-64-128 CNN with batch norm",
        arch="ConvNet",
        args=ARGS,
        params=count_params(model),
        recipe=recipe.to_dict(),
        seed=seed,
        temperature=1.0,
        threshold=threshold,
        train_images=len(train_data[1]),
        prepare_seconds=round(prepared, 1),
        train_seconds=round(sum(h["seconds"] for h in history), 1),
        val_digits_rejected=float((digits_p > threshold).mean()),
        val_mnist_rejected=float((not_digit_probs(model, torch.from_numpy(mnist_val)) > threshold).mean()),
        val_not_digits_rejected=float((others_p > threshold).mean()),
        history=history,
    )
    out.mkdir(parents=True, exist_ok=True)
    meta = weights.save(model, NAME, meta, out)
    onnx_export.export(NAME, out)
    return meta


PERSONAL_RECIPE = Recipe(epochs=3, batch_size=64, lr=3e-4, augment=AFFINE, channels_last=False, precision="fp32")
REPLAY = 1000  # MNIST training digits replayed, and about as many generated non-digits
REPLAY_SEED = 5000


def finetune(x_digits, x_others, out, seed=0, replay=REPLAY, max_batches=None, progress=False):
    """The shipped rejector fine-tuned on a person's corrections (x_digits: their digits, x_others: their drawings
    labelled not a digit, each [N, 1, 28, 28]) with MNIST digits and generated non-digits replayed, written to
    out/rejector/ with the shipped threshold, where their personal model's reader finds it (rejection.folder_for).
    replay: MNIST digits replayed, and about as many non-digits; max_batches: per epoch (smoke runs)."""
    model = weights.load(NAME, REJECTOR_DIR)
    shipped = weights.read_meta(NAME, REJECTOR_DIR)
    replayed = not_digits(max(1, replay // len(negatives.KINDS)), REPLAY_SEED, TRAIN_CONDITIONS)
    repeat = max(1, replay // max(len(x_others), 1) // 4)  # the corrections weigh about a quarter of the non-digits
    train_data = labelled(
        np.concatenate([load_mnist("train", limit=replay)[0].numpy(), x_digits]),
        np.concatenate([replayed, *[x_others] * repeat]),
    )
    val_data = labelled(load_mnist("val", limit=replay)[0].numpy(), x_others)
    history = fit(
        model,
        PERSONAL_RECIPE,
        train_data,
        val_data,
        seed=seed,
        device="cpu",
        max_batches=max_batches,
        progress=progress,
    )
    meta = {
        **{k: shipped[k] for k in ("arch", "args", "temperature", "threshold")},
        "name": NAME,
        "description": f"the shipped rejector fine-tuned on {len(x_others)} drawings labelled not a digit",
        "recipe": PERSONAL_RECIPE.to_dict(),
        "history": history,
    }
    folder = out / NAME
    folder.mkdir(parents=True, exist_ok=True)
    meta = weights.save(model.eval(), NAME, meta, folder)
    onnx_export.export(NAME, folder)
    return meta
