"""Where tensors go and in what precision they are trained: the device asked for, else the fastest one this machine
has; the precision asked for, else the fastest one that device computes natively."""

import contextlib
import functools
from pathlib import Path

import torch

from digitlib.errors import DigitlibError

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# /proc/cpuinfo flags of x86 CPUs that multiply bfloat16 natively (AVX-512 BF16; AMX tiles). Without them oneDNN
# emulates bfloat16 with float32 arithmetic and conversions, which is slower than float32 alone.
NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


def pick_device(device=None):
    """The given device, else cuda, then mps, then cpu."""
    if device:
        available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
        if not available.get(str(device).split(":")[0]):
            raise DigitlibError(
                f"device {device!r} is not available here; choose from "
                + ", ".join(d for d, ok in available.items() if ok)
            )
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@functools.cache
def cpuinfo_field(key, cpuinfo="/proc/cpuinfo"):
    """The value of the first `key` line the CPU reports (Linux); None where it cannot be read."""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(key)), None)


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The feature flags the CPU reports (Linux); an empty set where they cannot be read."""
    return frozenset((cpuinfo_field("flags", cpuinfo) or "").split())


def cpu_name(cpuinfo="/proc/cpuinfo"):
    """The CPU's model name and the bfloat16 units it has, for benchmark reports: "AMD EPYC (avx512_bf16)"."""
    name = cpuinfo_field("model name", cpuinfo) or "unknown CPU"
    return f"{name} ({', '.join(sorted(cpu_flags(cpuinfo) & NATIVE_BF16_FLAGS)) or 'no native bf16'})"


def cpu_has_bf16():
    """Whether PyTorch's CPU kernels (oneDNN) compute bfloat16 natively here, so bf16 autocast pays."""
    return torch.backends.mkldnn.is_available() and bool(cpu_flags() & NATIVE_BF16_FLAGS)


def pick_precision(device, precision="auto"):
    """ "bf16", "fp16" or "fp32": the one asked for, or for "auto" the fastest this device computes natively:
    bf16 on CUDA GPUs that have it, else fp16; bf16 on CPUs with AVX-512 BF16 or AMX; fp32 everywhere else."""
    if precision not in PRECISIONS:
        raise DigitlibError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu" and cpu_has_bf16():
        return "bf16"
    return "fp32"


def autocast(device, precision):
    """A context running the forward pass in `precision` ("bf16", "fp16" or "fp32", as pick_precision gives)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=AUTOCAST_DTYPES[precision])
