"""Train the sequence reader (digitlib.reading.sequence) with CTC loss on numbers made of MNIST training digits.

Each strip is 1 to MOST_DIGITS digits of one MNIST split, written left to right as a hurried hand would: each digit
scaled (SCALE of the box) and raised or lowered (BASELINE), the gaps from well apart to pushed into each other (GAP,
in the narrower neighbour's width: -0.3 is 30% into each other), the whole slanted (SLANT) and its strokes sometimes
thickened; then brought to a strip through the very steps reading takes (digitlib.reading.preprocess's strip_ink,
then strip_input). Distorting each digit as `best`'s training does read fewer numbers right
(benchmarks/TRAINING.md).

A share of the strips (PEN) are MNIST's digits written as pictures instead: each digit's skeleton drawn with a round
pen on paper, touching or apart, as digitlib.data.synth writes numbers, and read back from the picture by reading's
whole preprocessing (find_ink first). The even strokes and round ends of a pen are what drawings and photos show and
MNIST's bitmaps lack. Among those, a share of the symbols (NON_DIGITS) are letters and symbols written with the same
pen, class NON_DIGIT, so that a letter in a number reads as none of the digits (stroke templates and the handwriting
fonts trained on, never digitlib.data.synth's held-out fonts). The model is chosen on strips of the validation
split, never MNIST's test set. `python -m digitlib train-sequence` runs train().
"""

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import safetensors.torch
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn
from tqdm.auto import tqdm

from digitlib.constants import SHA256_KEY
from digitlib.data import negatives, synth
from digitlib.data.mnist import load_mnist
from digitlib.files import save_json, write_atomic
from digitlib.models.onnx_export import onnx_bytes
from digitlib.reading.onnx_model import file_sha256
from digitlib.reading.preprocess import around, find_ink, strip_ink
from digitlib.reading.resample import crop_to_ink, resize
from digitlib.reading.sequence import (
    BLANK,
    HEIGHT,
    INPUT,
    NAME,
    NON_DIGIT,
    OUTPUT,
    SEQUENCE_DIR,
    STRIDE,
    decode,
    padded,
    strip_input,
)
from digitlib.training.device import autocast, pick_precision

MOST_DIGITS = 5
BOX = 28  # digits are composed at MNIST's scale: this many pixels for a digit of scale 1
SCALE = (0.75, 1.05)
BASELINE = 0.08  # standard deviation of a digit's shift up or down, in BOX
GAP = (-0.3, 0.6)
TOUCHING = 0.6  # the share of gaps drawn from GAP's part below zero
SLANT = 0.25  # the greatest shear, either way
THICKER = 0.3  # the share of strips whose strokes are thickened by a pixel
PEN = 2 / 3  # the share of strips written with a pen (pen_strip)
PEN_TOUCHING = 0.6  # the share of those whose digits touch
NON_DIGITS = 0.1  # the share of a pen strip's symbols that are letters or symbols (class NON_DIGIT)
PEN_CHUNK = 1000  # pen strips are made this many to a process, each chunk from a seed of its own
BATCH = 64
LEARNING_RATE = 3e-3


class SequenceNet(nn.Module):
    """Strip [N, 1, 28, W] (W a multiple of 4) -> logits [N, 12, W // 2] (ten digits, "not a digit", then the blank):
    conv layers look at the symbols' shapes, then 1-D convs along the width look a digit or so either side."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d((2, 1)),
            nn.Conv2d(64, 96, 3, padding=1), nn.BatchNorm2d(96), nn.ReLU(),
        )  # fmt: skip
        self.along = nn.Sequential(
            nn.Conv1d(96 * HEIGHT // 4, 192, 5, padding=2), nn.BatchNorm1d(192), nn.ReLU(),
            nn.Conv1d(192, 192, 5, padding=2), nn.BatchNorm1d(192), nn.ReLU(),
            nn.Conv1d(192, BLANK + 1, 1),
        )  # fmt: skip

    def forward(self, x):
        f = self.conv(x)
        n, c, h, w = f.shape
        return self.along(f.reshape(n, c * h, w))


def number_strip(crops, labels, rng):
    """A strip [HEIGHT, W] of 1 to MOST_DIGITS digits and their classes (a tuple). crops, labels: digits cropped to
    their ink and their classes."""
    picked = [(crops[i], labels[i]) for i in rng.integers(0, len(crops), int(rng.integers(1, MOST_DIGITS + 1)))]
    canvas = np.zeros((2 * BOX, 2 * BOX * (MOST_DIGITS + 1)), np.float32)
    x, previous = BOX / 2, None
    for crop, _ in picked:
        h = max(2, round(BOX * 0.72 * rng.uniform(*SCALE)))  # MNIST's ink box is ~20 of its 28 pixels
        w = max(1, round(crop.shape[1] * h / crop.shape[0]))
        if previous is not None:
            apart = rng.random() > TOUCHING
            x += rng.uniform(0, GAP[1]) * BOX if apart else rng.uniform(GAP[0], 0) * min(w, previous)
        top = int(np.clip(round(BOX / 2 + rng.normal(0, BASELINE) * BOX), 0, canvas.shape[0] - h))
        left = max(0, round(x))
        area = np.s_[top : top + h, left : left + w]
        canvas[area] = np.maximum(canvas[area], resize(crop, h, w))
        x, previous = left + w, w
    slant = rng.uniform(-SLANT, SLANT)  # column shift per row, about the middle row
    canvas = ndimage.affine_transform(canvas, [[1, 0], [slant, 1]], offset=[0, -slant * BOX], order=1)
    if rng.random() < THICKER:
        canvas = ndimage.grey_dilation(canvas, size=2)
    mask = canvas > 0.1
    return strip_input(strip_ink(canvas, mask)), tuple(label for _, label in picked)


def make(split, n, seed):
    """n (strip, classes) of one MNIST split, the same for the same seed."""
    x, y = load_mnist(split)
    crops, labels, rng = [crop_to_ink(image) for image in x[:, 0].numpy()], y.numpy(), np.random.default_rng(seed)
    return [number_strip(crops, labels, rng) for _ in range(n)]


def pen_strip(digits, rng):
    """A strip of 1 to MOST_DIGITS symbols written with a pen as digitlib.data.synth writes numbers, read back from the
    picture as reading does, and their classes (a tuple): digits of digits (images uint8 [N, 28, 28], labels [N]), a
    share NON_DIGITS of them letters or symbols instead."""
    kinds = ["letters", "symbols"] + (["font letters"] if synth.fonts() else [])
    symbols = [
        (negatives.shape(str(rng.choice(kinds)), rng)[0], NON_DIGIT) if rng.random() < NON_DIGITS else (shape, label)
        for shape, label, _ in synth.shapes(int(rng.integers(1, MOST_DIGITS + 1)), rng, digits, ("mnist",))
    ]
    image = synth.written_number([shape for shape, _ in symbols], rng, touching=rng.random() < PEN_TOUCHING)
    ink, mask, _ = around(*find_ink(image))
    return strip_input(strip_ink(ink, mask)), tuple(label for _, label in symbols)


def pen_chunk(split, n, seed):
    digits, rng = synth.mnist_digits(split), np.random.default_rng(seed)
    return [pen_strip(digits, rng) for _ in range(n)]


def make_pen(split, n, seed):
    """n pen strips of one MNIST split, the same for the same seed: made in chunks, each from a seed of its own,
    across the CPU's cores (in fresh processes: forking one that has run torch can hang)."""
    sizes = [min(PEN_CHUNK, n - i) for i in range(0, n, PEN_CHUNK)]
    seeds = [[seed, i] for i in range(len(sizes))]  # numpy's Generator takes a list as a seed sequence
    with ProcessPoolExecutor(mp_context=multiprocessing.get_context("spawn")) as pool:
        return [s for chunk in pool.map(pen_chunk, [split] * len(sizes), sizes, seeds) for s in chunk]


def batch(made):
    """Strips padded to one width [N, 1, 28, W], their steps [N], targets (digits, concatenated) and lengths [N]."""
    width = padded(max(s.shape[1] for s, _ in made))
    x = torch.zeros(len(made), 1, HEIGHT, width)
    for i, (s, _) in enumerate(made):
        x[i, 0, :, : s.shape[1]] = torch.from_numpy(s)
    steps = torch.tensor([padded(s.shape[1]) // STRIDE for s, _ in made])
    targets = torch.tensor([c for _, classes in made for c in classes])
    return x, steps, targets, torch.tensor([len(digits) for _, digits in made])


def ctc_loss(model, made):
    x, steps, targets, lengths = batch(made)
    log_probs = model(x).float().permute(2, 0, 1).log_softmax(2)  # [T, N, 11]
    return F.ctc_loss(log_probs, targets, steps, lengths, blank=BLANK, zero_infinity=True)


def read_right(model, made):
    """The fraction of strips whose digits the model reads exactly (greedy decoding, as reading does)."""
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(made), 256):
            part = made[i : i + 256]
            x, steps, _, _ = batch(part)
            probs = model(x).float().softmax(1).permute(0, 2, 1).numpy()
            for p, n, (_, classes) in zip(probs, steps.tolist(), part):
                right += tuple(r.digit for r in decode(p[:n])) == classes
    return right / len(made)


def by_width(made, rng):
    """Batches of BATCH strips of similar width (less padding to compute), in a random order."""
    order = sorted(rng.permutation(len(made)), key=lambda i: made[i][0].shape[1] // 16 + rng.random())
    batches = [order[i : i + BATCH] for i in range(0, len(order) - BATCH + 1, BATCH)]
    return [batches[i] for i in rng.permutation(len(batches))]


def to_onnx(model, sha256):
    """ONNX bytes of the reader with a dynamic batch and width, and the sha256 of its safetensors as metadata."""
    axes = {INPUT: {0: "batch", 3: "width"}, OUTPUT: {0: "batch", 2: "steps"}}
    return onnx_bytes(model, torch.zeros(1, 1, HEIGHT, 64), [INPUT], [OUTPUT], axes, {SHA256_KEY: sha256})


def train(out=SEQUENCE_DIR, samples=60_000, epochs=6, seed=0, progress=True):
    """Train the sequence reader on `samples` strips (a share PEN of them written with a pen) and write
    out/sequence.safetensors, sequence.json and sequence.onnx; return the metadata (with the share of validation strips
    read right, of each kind)."""
    torch.manual_seed(seed)
    started = time.perf_counter()
    pens = round(samples * PEN)
    made = make("train", samples - pens, seed) + make_pen("train", pens, seed)
    model, precision = SequenceNet(), pick_precision("cpu")
    optimizer = torch.optim.AdamW(model.parameters(), LEARNING_RATE, weight_decay=1e-4)
    rng = np.random.default_rng(seed + 1)
    plan = [by_width(made, rng) for _ in range(epochs)]
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=sum(map(len, plan)))
    for epoch, batches in enumerate(plan):
        model.train()
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
        for ids in bar:
            with autocast("cpu", precision):
                loss = ctc_loss(model, [made[i] for i in ids])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    seconds = time.perf_counter() - started
    val, val_pen = read_right(model, make("val", 2000, seed + 2)), read_right(model, make_pen("val", 2000, seed + 2))
    data = safetensors.torch.save({k: v.contiguous() for k, v in model.state_dict().items()})
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / f"{NAME}.safetensors", data)
    write_atomic(out / f"{NAME}.onnx", to_onnx(model, file_sha256(out / f"{NAME}.safetensors")))
    meta = {
        "samples": samples,
        "epochs": epochs,
        "seed": seed,
        "precision": precision,
        "train_seconds": round(seconds, 1),
        "val_strips_read_right": val,  # 2,000 strips of MNIST validation digits
        "val_pen_strips_read_right": val_pen,  # and 2,000 written with a pen
    }
    save_json(out / f"{NAME}.json", meta)
    return meta


def load(folder=SEQUENCE_DIR):
    """The sequence reader in PyTorch, from folder/sequence.safetensors."""
    model = SequenceNet()
    model.load_state_dict(safetensors.torch.load((folder / f"{NAME}.safetensors").read_bytes()))
    return model.eval()
