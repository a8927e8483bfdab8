"""Train the cutter (digitlib.reading.cutter) on numbers made of MNIST training digits written into each other.

Each training strip is 1 to 5 MNIST digits, each cropped to its ink and scaled to 75-100% of the strip's height,
laid left to right with gaps from -18% of the height (overlapping, as touching digits do) to +35%. The target is 1
at the 2-column frame holding each boundary: halfway between one digit's right edge and the next one's left edge.
Strips of one digit, wide ones included, teach it where not to cut. `python -m digitlib train-cutter` runs train().
"""

import time

import numpy as np
import safetensors.torch
import torch
import torch.nn.functional as F
from torch import nn

from digitlib.constants import SHA256_KEY
from digitlib.data.mnist import load_mnist
from digitlib.files import save_json, write_atomic
from digitlib.models.onnx_export import onnx_bytes
from digitlib.reading.cutter import (
    BOX,
    CUTTER_DIR,
    HEIGHT,
    INPUT,
    NAME,
    OUTPUT,
    PAD,
    STRIDE,
    peaks,
    strip_input,
)
from digitlib.reading.onnx_model import file_sha256
from digitlib.reading.resample import crop_to_ink, ink_box
from digitlib.training.device import autocast, pick_precision

MOST_DIGITS = 5
DIGIT_HEIGHT = (0.75, 1.0)  # of the strip's height
GAP = (-0.18, 0.35)  # between neighbours, in the strip's height
POSITIVE_WEIGHT = 5.0  # a boundary frame is rare; weigh it in the loss as this many frames
BATCH = 64
LEARNING_RATE = 3e-3


class Cutter(nn.Module):
    """Strip [N, 1, 28, W] (W a multiple of 4) -> boundary logits [N, 1, W // 2]: conv layers look at the digit's
    shapes, then 1-D convs along the width look about two digits either side."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d((2, 1)),
            nn.Conv2d(64, 96, 3, padding=1), nn.BatchNorm2d(96), nn.ReLU(),
        )  # fmt: skip
        self.along = nn.Sequential(
            nn.Conv1d(96 * HEIGHT // 4, 160, 3, padding=1), nn.ReLU(),
            nn.Conv1d(160, 160, 3, padding=1), nn.ReLU(),
            nn.Conv1d(160, 1, 1),
        )  # fmt: skip

    def forward(self, x):
        f = self.conv(x)
        n, c, h, w = f.shape
        return self.along(f.reshape(n, c * h, w))


def digit_crops(x):
    """MNIST digits [N, 1, 28, 28] cropped to their ink: a list of 2-D float32 arrays."""
    return [crop_to_ink(image) for image in x[:, 0].numpy()]


def number_strip(crops, labels, rng):
    """A strip of 1 to MOST_DIGITS digits written into each other, and its boundaries (strip columns)."""
    canvas = np.zeros((BOX, 2 * BOX * MOST_DIGITS), np.float32)
    x, spans = 0.0, []
    for i in rng.integers(0, len(crops), int(rng.integers(1, MOST_DIGITS + 1))):
        crop = crops[i]
        h = max(1, round(BOX * rng.uniform(*DIGIT_HEIGHT)))
        w = max(1, round(crop.shape[1] * h / crop.shape[0]))
        digit = F.interpolate(torch.from_numpy(crop)[None, None], size=(h, w), mode="bilinear")[0, 0].numpy()
        top, left = int(rng.integers(0, BOX - h + 1)), max(0, round(x))
        if left + w > canvas.shape[1]:
            break
        canvas[top : top + h, left : left + w] = np.maximum(canvas[top : top + h, left : left + w], digit)
        spans.append((left, left + w))
        x = left + w + rng.uniform(*GAP) * BOX
    top, bottom, left, _ = ink_box(canvas)
    scale = BOX / (bottom - top)  # strip_input scales the ink's box to BOX high
    bounds = [PAD + ((a[1] + b[0]) / 2 - left) * scale for a, b in zip(spans, spans[1:])]
    return strip_input(canvas), bounds


def batch(strips, bounds):
    """Strips padded to one width (a multiple of 4) [N, 1, 28, W], and their boundary targets [N, W // 2]."""
    width = -(-max(s.shape[1] for s in strips) // 4) * 4
    x = torch.zeros(len(strips), 1, HEIGHT, width)
    y = torch.zeros(len(strips), width // STRIDE)
    for i, (s, b) in enumerate(zip(strips, bounds)):
        x[i, 0, :, : s.shape[1]] = torch.from_numpy(s)
        for column in b:
            y[i, min(int(column // STRIDE), y.shape[1] - 1)] = 1
    return x, y


def make(split, n, seed):
    """n strips of one MNIST split, with their boundaries and their digit counts; the same for the same seed."""
    x, y = load_mnist(split)
    crops, rng = digit_crops(x), np.random.default_rng(seed)
    made = [number_strip(crops, y.numpy(), rng) for _ in range(n)]
    return [s for s, _ in made], [b for _, b in made]


def count_accuracy(model, strips, bounds):
    """The fraction of strips in which the cutter finds as many boundaries as there are, each within a frame."""
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(strips), 256):
            x, _ = batch(strips[i : i + 256], bounds[i : i + 256])
            for p, b in zip(torch.sigmoid(model(x)[:, 0]).numpy(), bounds[i : i + 256]):
                found = peaks(p)
                right += len(found) == len(b) and all(abs(STRIDE * t - c) <= 2 * STRIDE for t, c in zip(found, b))
    return right / len(strips)


def to_onnx(model, sha256):
    """ONNX bytes of the cutter with a dynamic batch and width, and the sha256 of its safetensors as metadata."""
    axes = {INPUT: {0: "batch", 3: "width"}, OUTPUT: {0: "batch", 2: "frames"}}
    return onnx_bytes(model, torch.zeros(1, 1, HEIGHT, 64), [INPUT], [OUTPUT], axes, {SHA256_KEY: sha256})


def train(out=CUTTER_DIR, samples=60_000, epochs=4, seed=0, progress=True):
    """Train the cutter and write out/cutter.safetensors, cutter.json and cutter.onnx; return the metadata."""
    torch.manual_seed(seed)
    started = time.perf_counter()
    strips, bounds = make("train+val", samples, seed)
    model, precision = Cutter(), pick_precision("cpu")
    optimizer = torch.optim.AdamW(model.parameters(), LEARNING_RATE, weight_decay=1e-4)
    steps = epochs * (samples // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=steps)
    rng = np.random.default_rng(seed + 1)
    for epoch in range(epochs):
        model.train()
        order, total = rng.permutation(samples), 0.0
        for b in range(samples // BATCH):
            ids = order[b * BATCH : (b + 1) * BATCH]
            x, y = batch([strips[i] for i in ids], [bounds[i] for i in ids])
            with autocast("cpu", precision):
                logits = model(x)
            loss = F.binary_cross_entropy_with_logits(logits.float()[:, 0], y, pos_weight=torch.tensor(POSITIVE_WEIGHT))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: loss {total / (samples // BATCH):.4f}", flush=True)
    seconds = time.perf_counter() - started
    held_out = count_accuracy(model, *make("test", 2000, seed))
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
        "held_out_strips_cut_right": held_out,  # 2,000 strips of MNIST test digits
    }
    save_json(out / f"{NAME}.json", meta)
    return meta


def load(folder=CUTTER_DIR):
    """The cutter in PyTorch, from folder/cutter.safetensors."""
    model = Cutter()
    model.load_state_dict(safetensors.torch.load((folder / f"{NAME}.safetensors").read_bytes()))
    return model.eval()
