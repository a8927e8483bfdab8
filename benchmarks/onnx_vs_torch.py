"""ONNX Runtime against PyTorch for one drawing: latency of the probabilities on one thread, and a fresh
process's memory.

Run on an otherwise idle machine: .venv/bin/python benchmarks/onnx_vs_torch.py [--model best] [--repeats 1000]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch

from digitlib.data.synth import mnist_digits
from digitlib.models.predictor import Predictor
from digitlib.reading.onnx_model import OnnxModel
from digitlib.reading.preprocess import to_mnist_input

# Each runs in a fresh interpreter, reads one input, then reports its memory: ONNX Runtime alone, or torch.
LOADERS = {
    "onnxruntime": "import numpy as np\nfrom digitlib.reading.onnx_model import OnnxModel\n"
    "OnnxModel(MODEL).probs(np.zeros((1, 1, 28, 28), np.float32))",
    "torch (weights.load)": "import torch\nfrom digitlib.models.weights import load\ntorch.set_num_threads(1)\n"
    "load(MODEL)(torch.zeros(1, 1, 28, 28))",
    "torch (Predictor)": "import torch\nfrom digitlib.models.predictor import Predictor\ntorch.set_num_threads(1)\n"
    "Predictor(MODEL).probs(torch.zeros(1, 1, 28, 28))",
}
REPORT = (
    "import json, sys, psutil\nm = psutil.Process().memory_full_info()\n"
    "print(json.dumps({'uss': m.uss, 'rss': m.rss, 'torch': 'torch' in sys.modules}))"
)


def latency(model, repeats):
    """Median and minimum microseconds for the probabilities of one drawing, both runtimes interleaved."""
    torch.set_num_threads(1)
    x = torch.from_numpy(to_mnist_input(mnist_digits("test")[0][0])[None])
    runtimes = {"onnxruntime": lambda: OnnxModel(model, threads=1).probs, "torch": lambda: Predictor(model).probs}
    runtimes = {k: make() for k, make in runtimes.items()}
    inputs = {"onnxruntime": x.numpy(), "torch": x}
    times = {k: [] for k in runtimes}
    for _ in range(repeats):
        for k, probs in runtimes.items():
            start = time.perf_counter()
            probs(inputs[k])
            times[k].append((time.perf_counter() - start) * 1e6)
    return {k: (statistics.median(t[repeats // 10 :]), min(t)) for k, t in times.items()}  # first tenth: warm-up


def memory(model, code):
    out = subprocess.run(
        [sys.executable, "-c", code.replace("MODEL", repr(model)) + "\n" + REPORT],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--model", default="best", help="shipped model")
    p.add_argument("--repeats", type=int, default=1000, help="calls per runtime")
    args = p.parse_args()
    for k, (median, fastest) in latency(args.model, args.repeats).items():
        print(f"{args.model} probs, one drawing, 1 thread, {k:<12} median {median:7.0f} us, min {fastest:7.0f} us")
    for name, code in LOADERS.items():
        m = memory(args.model, code)
        print(
            f"fresh process, {name:<21} USS {m['uss'] / 2**20:4.0f} MiB, RSS {m['rss'] / 2**20:4.0f} MiB "
            f"(torch imported: {m['torch']})"
        )


if __name__ == "__main__":
    main()
