"""Time-to-99% against a peer: `fast` (as `python -m digitlib train --model fast` trains it) and the one-epoch recipe
of tuomaso/train_mnist_fast, trained in turn on this machine for each seed; medians and their ratio.

The peer is rebuilt from its published description: Conv 1->24 5x5, max-pool, ReLU, Conv 24->32 3x3, max-pool, ReLU,
FC 800->256, ReLU, FC 256->10; Adam, lr 1e-2, betas (0.7, 0.9), one-cycle without momentum cycling; batches of 256;
one unshuffled epoch over the 60,000 training images, normalised and held in memory (shuffled once, as they were when
saved); float32, as published. Both times count the training loop only, not loading or evaluation. On a GPU both
hold their data on it, and both are warmed up once before the timed runs (CUDA's start-up and cuDNN's first calls
would otherwise land on whichever recipe runs first).

.venv/bin/python benchmarks/peers.py [--seeds 5] [--quick] [--device cuda]
"""

import argparse
import math
import os
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn

from digitlib.constants import MNIST_MEAN, MNIST_STD
from digitlib.data.mnist import load_mnist
from digitlib.training.device import cpu_name, pick_device
from digitlib.training.train import train_variant


def peer_model():
    """tuomaso/train_mnist_fast's net: 1x28x28 -> conv 24 -> pool -> conv 32 -> pool -> 800 -> 256 -> 10 logits."""
    return nn.Sequential(
        nn.Conv2d(1, 24, 5),
        nn.MaxPool2d(2),
        nn.ReLU(),  # -> 24x12x12
        nn.Conv2d(24, 32, 3),
        nn.MaxPool2d(2),
        nn.ReLU(),  # -> 32x5x5
        nn.Flatten(),
        nn.Linear(800, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    )


def sync(device):
    """Wait for the device's queued work, so that a timer reads the time it took."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_peer(seed, max_batches=None, limit=None, device="cpu", batch_size=256, lr=1e-2):
    """Train the peer's recipe once: (training seconds, test accuracy)."""
    device = torch.device(device)
    torch.manual_seed(seed)
    x, y = load_mnist("train+val", limit=limit)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    x, y = ((x[order] - MNIST_MEAN) / MNIST_STD).contiguous().to(device), y[order].to(device)
    model = peer_model().to(device)
    steps = math.ceil(len(x) / batch_size)
    if max_batches:
        steps = min(steps, max_batches)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.7, 0.9))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, cycle_momentum=False)
    model.train()
    sync(device)
    start = time.perf_counter()
    for step in range(steps):
        batch = slice(step * batch_size, (step + 1) * batch_size)
        loss = F.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    sync(device)
    seconds = time.perf_counter() - start
    x_test, y_test = load_mnist("test", limit=limit)
    model.eval()
    with torch.no_grad():
        logits = model(((x_test - MNIST_MEAN) / MNIST_STD).to(device)).cpu()
    accuracy = (logits.argmax(1) == y_test).float().mean().item()
    return seconds, accuracy


def train_fast(seed, max_batches=None, limit=None, device="cpu"):
    """Train `fast` by its recipe, as the CLI does, into a temporary folder: (training seconds, test accuracy)."""
    with tempfile.TemporaryDirectory() as out:
        meta = train_variant(
            "fast", seed=seed, out=out, limit=limit, max_batches=max_batches, device=device, progress=False
        )
    return meta["train_seconds"], meta["test_accuracy"]


def load():
    """The load average over 1, 5 and 15 minutes: other work on the machine slows both recipes."""
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def compare(seeds, max_batches=None, limit=None, device="cpu"):
    """Train fast and the peer in turn for each seed; print each run, the medians and the ratio; return the medians."""
    device = pick_device(device)
    runs = {"fast": [], "peer": []}
    where = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{torch.get_num_threads()} threads of {cpu_name()}"
    )
    print(f"torch {torch.__version__}, {where}, load average {load()}", flush=True)
    recipes = [("fast", train_fast), ("peer", train_peer)]
    if device.type == "cuda":
        for name, train in recipes:
            seconds, _ = train(0, max_batches=20, limit=limit, device=device)
            print(f"  warm-up: {name} 20 batches in {seconds:.2f}s", flush=True)
    for seed in seeds:
        for name, train in recipes:
            seconds, accuracy = train(seed, max_batches=max_batches, limit=limit, device=device)
            runs[name].append((seconds, accuracy))
            print(f"  {name} seed {seed}: {seconds:.2f}s, test accuracy {accuracy:.2%} (load {load()})", flush=True)
    medians = {name: statistics.median(s for s, _ in r) for name, r in runs.items()}
    for name, r in runs.items():
        accuracies = [a for _, a in r]
        print(
            f"{name}: median {medians[name]:.2f}s of training; "
            f"test accuracy median {statistics.median(accuracies):.2%}, lowest {min(accuracies):.2%}"
        )
    print(
        f"peer / fast: {medians['peer'] / medians['fast']:.2f}x (medians of {len(seeds)} seeds; load average {load()})"
    )
    return medians


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1, each training both recipes once (default: 5)")
    p.add_argument("--quick", action="store_true", help="one seed, for a smoke test")
    p.add_argument("--max-batches", type=int, default=None, help="stop each run after this many batches (default: all)")
    p.add_argument("--device", default="cpu", help="cpu (the default) or cuda: where both recipes train")
    args = p.parse_args()
    compare(range(1 if args.quick else args.seeds), max_batches=args.max_batches, device=args.device)
