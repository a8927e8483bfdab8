"""Where tensors go: the device asked for, else the fastest one this machine has."""

import torch

from digitlib.errors import DigitlibError


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
