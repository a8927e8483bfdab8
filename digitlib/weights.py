"""Shipped weights: NAME.safetensors (tensors, no pickle) beside NAME.json (how to rebuild and how it was made)."""

import functools
import json
import os
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from digitlib.constants import WEIGHTS_DIR
from digitlib.errors import DigitlibError
from digitlib.models import VARIANTS, build


def paths(name, folder=WEIGHTS_DIR):
    folder = Path(folder)
    return folder / f"{name}.safetensors", folder / f"{name}.json"


def retrain_hint(name):
    return f"retrain it with: python -m digitlib train --model {name}"


def save_json(path, obj):
    """Write obj as JSON to path atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json.tmp").write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(path.with_suffix(".json.tmp"), path)


def read_json(path):
    return json.loads(Path(path).read_text())


def save(model, name, meta, folder=WEIGHTS_DIR):
    """Write NAME.safetensors and NAME.json atomically; meta must hold "arch" and "args"."""
    tensors_path, meta_path = paths(name, folder)
    tensors_path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, f"{tensors_path}.tmp")
    os.replace(f"{tensors_path}.tmp", tensors_path)
    save_json(meta_path, meta)


def read_meta(name, folder=WEIGHTS_DIR):
    """The metadata of a shipped model, or a DigitlibError naming the file."""
    _, meta_path = paths(name, folder)
    try:
        meta = read_json(meta_path)
        meta["arch"], meta["args"]
    except FileNotFoundError:
        raise DigitlibError(f"no weights metadata {meta_path}; {retrain_hint(name)}") from None
    except (ValueError, KeyError, TypeError):
        raise DigitlibError(f"corrupt weights metadata {meta_path}; {retrain_hint(name)}") from None
    return meta


def load(name, folder=WEIGHTS_DIR, device="cpu"):
    """Rebuild a model from NAME.json and NAME.safetensors alone, in eval mode."""
    tensors_path, _ = paths(name, folder)
    meta = read_meta(name, folder)
    model = build(meta["arch"], meta["args"])
    try:
        state = load_file(tensors_path, device=str(device))
    except FileNotFoundError:
        raise DigitlibError(f"no weights file {tensors_path}; {retrain_hint(name)}") from None
    except (SafetensorError, OSError, ValueError):
        raise DigitlibError(f"corrupt weights file {tensors_path}; {retrain_hint(name)}") from None
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise DigitlibError(f"weights file {tensors_path} does not match the architecture in its .json; "
                            f"{retrain_hint(name)}") from None
    return model.to(device).eval()


@functools.lru_cache(maxsize=16)
def load_cached(name, folder=WEIGHTS_DIR):
    """load() on the CPU, once per process and model."""
    return load(name, folder)


def shipped(folder=WEIGHTS_DIR):
    """Names of the registered models that have weights in folder, in registry order."""
    return [name for name in VARIANTS if all(p.exists() for p in paths(name, folder))]
