"""Milliseconds per training step of a variant, in settings taken in turn in one process: memory layout and threads.

Each round trains every setting for --steps steps on random batches of MNIST (bf16 where the CPU has it, as `fit`
trains); the medians over rounds are printed. Interleaving is what makes settings comparable on a machine whose speed
swings from minute to minute.

.venv/bin/python benchmarks/step_time.py fast [--rounds 8] [--steps 60]
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from digitlib.data.mnist import load_mnist
from digitlib.models.zoo import build, variant
from digitlib.training.device import autocast, pick_precision

SETTINGS = {  # name: (channels-last, threads)
    "channels-last, 2 threads": (True, 2),
    "default layout, 2 threads": (False, 2),
    "channels-last, 1 thread": (True, 1),
}


def trainer(name, channels_last):
    """A fresh model of the variant and its optimizer, in the given layout."""
    v = variant(name)
    torch.manual_seed(0)
    model = build(v.arch, v.args).to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    return model, torch.optim.AdamW(model.parameters(), lr=v.recipe.lr, fused=True), v.recipe


def steps(model, optimizer, recipe, data, n, threads, generator):
    """Milliseconds per step over n training steps."""
    (x_train, y_train), precision = data, pick_precision("cpu")
    torch.set_num_threads(threads)
    model.train()
    start = time.perf_counter()
    for _ in range(n):
        idx = torch.randint(0, len(x_train), (recipe.batch_size,), generator=generator)
        with autocast("cpu", precision):
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx], label_smoothing=recipe.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / n * 1e3


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", default="fast", help="a registered variant (default: fast)")
    p.add_argument("--rounds", type=int, default=8, help="rounds, each timing every setting once (default: 8)")
    p.add_argument("--steps", type=int, default=60, help="steps per setting per round (default: 60)")
    args = p.parse_args()
    data, generator = load_mnist("train"), torch.Generator().manual_seed(0)
    trainers = {s: trainer(args.model, cl) for s, (cl, _) in SETTINGS.items()}
    for s, (_, threads) in SETTINGS.items():  # warm up: oneDNN builds its kernels on first use
        steps(*trainers[s], data, 20, threads, generator)
    times = {s: [] for s in SETTINGS}
    for _ in range(args.rounds):
        for s, (_, threads) in SETTINGS.items():
            times[s].append(steps(*trainers[s], data, args.steps, threads, generator))
    for s, t in times.items():
        print(f"{s}: median {statistics.median(t):.2f} ms a step ({', '.join(f'{x:.2f}' for x in t)})")
