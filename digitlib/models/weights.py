"""Shipped weights: NAME.safetensors (tensors, no pickle) beside NAME.json (how to rebuild and how it was made)."""

import functools
import hashlib
import json
import tempfile
from pathlib import Path

import safetensors.torch
import torch
from filelock import FileLock
from safetensors import SafetensorError

from digitlib.constants import SHA256_KEY, TRAINED_DIR, WEIGHTS_DIR
from digitlib.errors import DigitlibError
from digitlib.files import read_json, save_json, write_atomic  # noqa: F401 -- weights.write_atomic etc. for callers
from digitlib.models.zoo import ARCHITECTURES, VARIANTS, build, count_params
from digitlib.reading.answers import temperature_problem

REQUIRED_KEYS = ("arch", "args", "temperature")
MAX_META_BYTES = 1_000_000  # a NAME.json is a few kB: a larger one is refused before it is parsed
MAX_PARAMS = 10_000_000  # a model with more parameters is refused before any is allocated (the shipped: under 1M)


def paths(name, folder=WEIGHTS_DIR):
    folder = Path(folder)
    return folder / f"{name}.safetensors", folder / f"{name}.json"


def retrain_hint(name, folder=WEIGHTS_DIR):
    if name == "personal":  # fine-tuned on the corrections, not trained from scratch
        return "make it again with: python -m digitlib finetune"
    out = "" if Path(folder).resolve() == TRAINED_DIR.resolve() else f" --out {folder}"
    return f"retrain it with: python -m digitlib train --model {name}{out}"


def lock(name, folder=WEIGHTS_DIR):
    """A lock between processes on model NAME in folder, held while its pair of files is written or read.

    Its file lives in the temporary folder, keyed by the folder's path, so that the weights folder holds only weights.
    """
    locks = Path(tempfile.gettempdir()) / "digitlib-locks"
    locks.mkdir(exist_ok=True)
    key = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:16]
    return FileLock(locks / f"{key}-{name}.lock")


def save(model, name, meta, folder=WEIGHTS_DIR):
    """Write NAME.safetensors, then NAME.json with its sha256 (the commit point); return the metadata written.

    meta must hold REQUIRED_KEYS. A save interrupted between the two files leaves a pair that load() refuses.
    """
    tensors_path, meta_path = paths(name, folder)
    data = safetensors.torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})
    meta = {**meta, SHA256_KEY: hashlib.sha256(data).hexdigest()}
    with lock(name, folder):
        write_atomic(tensors_path, data)
        save_json(meta_path, meta)
    return meta


def meta_problem(meta):
    """Why metadata is unusable (a missing key, an unknown arch, args that do not build, a bad temperature), or None."""
    if not isinstance(meta, dict):
        return "not a JSON object"
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        return "no " + ", ".join(missing)
    arch, args, temperature = meta["arch"], meta["args"], meta["temperature"]
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        return f"unknown arch {arch!r}"
    if not isinstance(args, dict):
        return f"args {args!r} is not a JSON object"
    try:
        with torch.device("meta"):  # shapes without storage: crafted arguments cannot allocate gigabytes here
            params = count_params(build(arch, args))
    except Exception as e:  # noqa: BLE001 -- whatever the constructor makes of bad arguments
        reason = str(e).partition("\n")[0]
        return f"args {json.dumps(args)} do not build a {arch}: {type(e).__name__}: {reason}"
    if params > MAX_PARAMS:
        return f"args {json.dumps(args)} make a {arch} of {params:,} parameters, over the limit of {MAX_PARAMS:,}"
    return temperature_problem(temperature)


def read_meta(name, folder=WEIGHTS_DIR):
    """The checked metadata of a model, or a DigitlibError naming the file and the command that retrains it."""
    _, meta_path = paths(name, folder)
    try:
        if (size := meta_path.stat().st_size) > MAX_META_BYTES:
            raise DigitlibError(
                f"corrupt weights metadata {meta_path} ({size:,} bytes, over the limit of "
                f"{MAX_META_BYTES:,}); {retrain_hint(name, folder)}"
            )
        meta = read_json(meta_path)
        problem = meta_problem(meta)
    except FileNotFoundError:
        raise DigitlibError(f"no weights metadata {meta_path}; {retrain_hint(name, folder)}") from None
    except (ValueError, RecursionError):
        problem = "not JSON"
    if problem:
        raise DigitlibError(f"corrupt weights metadata {meta_path} ({problem}); {retrain_hint(name, folder)}")
    return meta


def load(name, folder=WEIGHTS_DIR, device="cpu"):
    """Rebuild a model from NAME.json and NAME.safetensors alone, in eval mode."""
    tensors_path, meta_path = paths(name, folder)
    hint = retrain_hint(name, folder)
    with lock(name, folder):  # never between a writer's two files
        meta = read_meta(name, folder)
        try:
            data = tensors_path.read_bytes()
        except FileNotFoundError:
            raise DigitlibError(f"no weights file {tensors_path}; {hint}") from None
    try:
        state = safetensors.torch.load(data)
    except (SafetensorError, ValueError):
        raise DigitlibError(f"corrupt weights file {tensors_path}; {hint}") from None
    if SHA256_KEY in meta and hashlib.sha256(data).hexdigest() != meta[SHA256_KEY]:
        raise DigitlibError(
            f"weights file {tensors_path} is not the one {meta_path} was written with (an interrupted save?); {hint}"
        )
    model = build(meta["arch"], meta["args"])
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise DigitlibError(
            f"weights file {tensors_path} does not match the architecture in {meta_path}; {hint}"
        ) from None
    return model.to(device).eval()


@functools.lru_cache(maxsize=16)
def load_cached(name, folder=WEIGHTS_DIR):
    """load() on the CPU, once per process and model."""
    return load(name, folder)


def trained(folder=WEIGHTS_DIR):
    """Names of the registered models that have weights in folder, in registry order."""
    return [name for name in VARIANTS if all(p.exists() for p in paths(name, folder))]
