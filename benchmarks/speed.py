"""Speed figures for the README and issue notes: `fast` training over several seeds, and predict latency.

Run on an otherwise idle machine: .venv/bin/python benchmarks/speed.py [--seeds 5] [--repeats 200]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from digitlib.data import synth
from digitlib.data.mnist import load_mnist
from digitlib.models.predictor import Predictor
from digitlib.training.train import train_variant


def summary(values, unit):
    return f"median {statistics.median(values):.2f}{unit}, min {min(values):.2f}{unit}, max {max(values):.2f}{unit}"


def bench_fast(seeds):
    seconds, accuracy = [], []
    with tempfile.TemporaryDirectory() as out:
        for seed in range(seeds):
            meta = train_variant("fast", seed=seed, out=out, progress=False)
            seconds.append(meta["train_seconds"])
            accuracy.append(meta["test_accuracy"] * 100)
            print(
                f"  fast seed {seed}: {meta['train_seconds']:.2f}s, test accuracy {meta['test_accuracy']:.2%}",
                flush=True,
            )
    print(
        f"fast, 1 epoch, {seeds} seeds, {torch.get_num_threads()} threads: training {summary(seconds, 's')}; "
        f"test accuracy {summary(accuracy, '%')}"
    )


def drawing(path):
    """A 280x280 PNG of an MNIST test digit in dark pen on white, as the dashboard's canvas makes."""
    x, _ = load_mnist("test", limit=1)
    digit = (x[0, 0].numpy() * 255).round().astype(np.uint8)
    Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BICUBIC).save(path)


def photo(path):
    """A 3000x3000 JPEG phone photo of a 2 written with a 3 px ballpoint, lit unevenly."""
    rng = np.random.default_rng(0)
    cover = synth.ink_layer(synth.template_shape(2, rng), (3000, 3000), (900, 900, 1200), 3)
    sheet = synth.paper((3000, 3000), rng, lighting=0.2)
    synth.finish(synth.compose(sheet, (60, 60, 70), ndimage.gaussian_filter(cover, 0.8))).save(path, quality=85)


def bench_predict(repeats, model, make, name):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        make(path)
        predictor = Predictor(model)
        predictor.predict(path)  # warm-up
        ms = []
        for _ in range(repeats):
            start = time.perf_counter()
            predictor.predict(path)
            ms.append((time.perf_counter() - start) * 1000)
    print(
        f"predict {model} on {name}, model loaded, {repeats} runs: {summary(ms, ' ms')}, "
        f"p95 {np.percentile(ms, 95):.2f} ms"
    )


def bench_rejection(repeats, make, name, model="best"):
    """predict with the rejector (today's reader) against without it (every input taken for a digit, as before issue
    30), interleaved run by run so that both meet the same load."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        make(path)
        with_it, without_it = Predictor(model), Predictor(model)
        without_it.rejects = lambda xs: np.zeros(len(xs), bool)
        ms = {"with": [], "without": []}
        for i in range(repeats + 1):  # the first pair warms up
            for key, predictor in [("with", with_it), ("without", without_it)][:: 1 if i % 2 else -1]:
                start = time.perf_counter()
                predictor.predict(path)
                if i:
                    ms[key].append((time.perf_counter() - start) * 1000)
    a, b = statistics.median(ms["with"]), statistics.median(ms["without"])
    print(
        f"predict {model} on {name}, {repeats} interleaved runs: with the rejector median {a:.2f} ms, without "
        f"{b:.2f} ms ({(a / b - 1) * 100:+.1f}%)"
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="training runs of `fast`")
    p.add_argument("--repeats", type=int, default=200, help="predictions timed per model")
    p.add_argument("--rejection", action="store_true", help="only predict with the rejector against without it")
    args = p.parse_args()
    if args.rejection:
        bench_rejection(args.repeats, drawing, "drawing-280x280.png")
        bench_rejection(max(1, args.repeats // 4), photo, "photo-3000x3000.jpg")
        raise SystemExit
    if args.repeats:
        for name in ("best", "fast"):
            bench_predict(args.repeats, name, drawing, "drawing-280x280.png")
        bench_predict(max(1, args.repeats // 4), "best", photo, "photo-3000x3000.jpg")
    if args.seeds:
        bench_fast(args.seeds)
