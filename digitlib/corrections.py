"""Corrections: drawings a person labelled ("wrong? it is a ..."), kept as samples to fine-tune a personal model.

A sample is three files in the corrections folder named by a random id: ID.png (the picture that was read), ID.npy
(the [1, 28, 28] float32 input the network saw) and ID.json (the label, the strokes, the model and its reading, the
time). Each is written to a temporary file beside it and renamed into place, the JSON last: a sample is listed only
once its JSON exists, so visitors saving at once never overwrite or half-write one another. Numpy and PIL only: the
dashboard's kernel saves them.
"""

import io
import json
import os
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from digitlib.constants import DATA_DIR, IMAGE_SIZE, NUM_CLASSES
from digitlib.errors import DigitlibError
from digitlib.files import read_json, save_json, write_atomic

CORRECTIONS_ENV = "DIGITLIB_CORRECTIONS"  # "off" (or 0, false, no) in the server's environment: nothing is saved
OFF = ("off", "0", "false", "no")
CORRECTIONS_DIR = DATA_DIR / "corrections"  # data/corrections in a clone; the per-user data folder when installed
PERSONAL = "personal"  # the model fine-tuned on the corrections, written beside them
FORMAT = 1
ID = re.compile(r"^[0-9a-f]{32}$")
MAX_MEMBER = 2_000_000  # bytes: a sample's PNG is a few kB; an archive member claiming more is refused


def enabled():
    """Whether the dashboard may save corrections: unless DIGITLIB_CORRECTIONS is off in its environment."""
    return os.environ.get(CORRECTIONS_ENV, "on").strip().lower() not in OFF


@dataclass
class Sample:
    """A labelled drawing: label 0-9, x [1, 28, 28] float32 (the input seen), and its record (meta: the JSON)."""

    id: str
    label: int
    x: np.ndarray
    meta: dict


def png_bytes(picture):
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def npy_bytes(x):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(x, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def check(label, x):
    """The label as an int and x as a float32 [1, 28, 28] array in [0, 1], or a DigitlibError saying what is wrong."""
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < NUM_CLASSES:
        raise DigitlibError(f"a correction's label must be a digit 0-9, not {label!r}")
    x = np.asarray(x, dtype=np.float32)
    if x.shape != (1, IMAGE_SIZE, IMAGE_SIZE) or not np.isfinite(x).all():
        raise DigitlibError(f"a correction's input must be finite [1, {IMAGE_SIZE}, {IMAGE_SIZE}], not {list(x.shape)}")
    return int(label), x


def write(folder, sample_id, png, npy, meta, relabel=False):
    """The three files of a sample, the JSON last; a failure leaves none of them and says why in one line.
    relabel: the sample exists and only its JSON changes (a failure then leaves the sample as it was)."""
    folder = Path(folder)
    done = []
    try:
        for path, data in [] if relabel else [(folder / f"{sample_id}.png", png), (folder / f"{sample_id}.npy", npy)]:
            write_atomic(path, data)
            done.append(path)
        save_json(folder / f"{sample_id}.json", meta)
    except OSError as e:
        for path in done:
            path.unlink(missing_ok=True)
        raise DigitlibError(f"could not save the correction in {folder}: {e.strerror or e}") from None
    return folder / f"{sample_id}.json"


def save(
    label, x, picture, *, strokes=(), model=None, probs=None, folder=CORRECTIONS_DIR, sample_id=None, relabel=False
):
    """Save a correction: the label given to the picture (PIL) whose input the network saw was x [1, 28, 28], read
    by model with probabilities probs [10], drawn as strokes [(width, [(x, y), ...]), ...] ([] for an upload).
    sample_id: the sample's name (default a new one); relabel: that sample exists and only its label changes.
    Returns the path of its JSON."""
    label, x = check(label, x)
    sample_id = sample_id or uuid.uuid4().hex
    meta = dict(
        format=FORMAT,
        id=sample_id,
        label=label,
        model=model,
        reading=None if probs is None else int(np.argmax(probs)),
        probs=None if probs is None else [round(float(p), 4) for p in probs],
        strokes=[[float(w), [[round(float(a), 1), round(float(b), 1)] for a, b in points]] for w, points in strokes],
        time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return write(folder, sample_id, png_bytes(picture), npy_bytes(x), meta, relabel)


def read(folder=CORRECTIONS_DIR):
    """(the complete samples in folder, oldest first; the names of the samples that cannot be read)."""
    samples, broken = [], []
    for path in sorted(Path(folder).glob("*.json")):
        if not ID.match(path.stem):
            continue  # personal.json and anything else that is not a sample
        try:
            meta = read_json(path)
            label, x = check(meta["label"], np.load(path.with_suffix(".npy"), allow_pickle=False))
        except (OSError, ValueError, KeyError, TypeError, DigitlibError):
            broken.append(path.stem)
            continue
        samples.append(Sample(path.stem, label, x, meta))
    samples.sort(key=lambda s: (str(s.meta.get("time", "")), s.id))
    return samples, broken


def arrays(samples):
    """Inputs x [N, 1, 28, 28] float32 and labels y [N] int64 of samples."""
    x = np.stack([s.x for s in samples]) if samples else np.zeros((0, 1, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    return x, np.array([s.label for s in samples], dtype=np.int64)


def counts(samples):
    """How many samples of each digit: a list of 10."""
    return np.bincount([s.label for s in samples], minlength=NUM_CLASSES).tolist()


def export(file, folder=CORRECTIONS_DIR):
    """Write every complete sample of folder into a zip archive file (written atomically); return their count."""
    samples, _ = read(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for s in samples:
            for suffix in (".png", ".npy", ".json"):
                archive.write(Path(folder) / f"{s.id}{suffix}", f"corrections/{s.id}{suffix}")
    try:
        write_atomic(file, buffer.getvalue())
    except OSError as e:
        raise DigitlibError(f"could not write {file}: {e.strerror or e}") from None
    return len(samples)


def import_archive(file, folder=CORRECTIONS_DIR):
    """Add the samples of an archive made by export() to folder; (added, already there). Only complete, valid
    samples are taken, each written as save() writes one; nothing is extracted by the names inside the archive."""
    try:
        archive = zipfile.ZipFile(file)
    except FileNotFoundError:
        raise DigitlibError(f"no such file: {file}") from None
    except (zipfile.BadZipFile, OSError) as e:
        raise DigitlibError(f"{file} is not an archive of corrections ({e})") from None
    added = present = 0
    with archive:
        members = {m.filename: m for m in archive.infolist()}
        ids = sorted({Path(n).stem for n in members if n.startswith("corrections/") and ID.match(Path(n).stem)})
        if not ids:
            raise DigitlibError(f"{file} holds no corrections (made by: python -m digitlib corrections --export)")
        for sample_id in ids:
            names = [f"corrections/{sample_id}{suffix}" for suffix in (".png", ".npy", ".json")]
            if any(n not in members or members[n].file_size > MAX_MEMBER for n in names):
                raise DigitlibError(f"{file}: sample {sample_id} is incomplete or too large; nothing more imported")
            if (Path(folder) / f"{sample_id}.json").exists():
                present += 1
                continue
            png, npy, meta = (archive.read(n) for n in names)
            try:
                meta = json.loads(meta)
                check(meta["label"], np.load(io.BytesIO(npy), allow_pickle=False))
                Image.open(io.BytesIO(png)).verify()
            except (ValueError, KeyError, TypeError, OSError, DigitlibError):
                raise DigitlibError(f"{file}: sample {sample_id} cannot be read; nothing more imported") from None
            write(folder, sample_id, png, npy, {**meta, "id": sample_id})
            added += 1
    return added, present
