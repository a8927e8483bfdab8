"""Corrections: drawings a person labelled ("wrong? it is a ..."), kept as samples to fine-tune a personal model.

A sample is three files in the corrections folder named by a random id: ID.png (the picture that was read), ID.npy
(the [1, 28, 28] float32 input the network saw) and ID.json (the label, the strokes, the model and its reading, the
time; compact). Each is written to a temporary file beside it and renamed into place, the JSON last: a sample is
listed only once its JSON exists, so visitors saving at once never overwrite or half-write one another. Numpy and
PIL only: the dashboard's kernel saves them.

Bounds: the folder holds at most DIGITLIB_CORRECTIONS_MAX samples and DIGITLIB_CORRECTIONS_MAX_MB megabytes, a
dashboard saves at most SAVES_PER_MINUTE new samples a minute, and a sample's three files are checked by one function,
`checked`, both when they are saved and when they are imported: whatever is saved can be exported and imported back.
"""

import collections
import io
import json
import os
import re
import time
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from digitlib.constants import DATA_DIR, IMAGE_SIZE, NUM_CLASSES
from digitlib.errors import DigitlibError
from digitlib.files import read_json, write_atomic
from digitlib.reading.strokes import HEIGHT, MAX_STROKE_POINTS, MAX_STROKES, PEN_RANGE, WIDTH

CORRECTIONS_ENV = "DIGITLIB_CORRECTIONS"  # "on" (or 1, true, yes) in the server's environment: the dashboard saves
PERSONAL_ENV = "DIGITLIB_PERSONAL"  # "on" in the server's environment: the dashboard offers the personal model
MAX_COUNT_ENV = "DIGITLIB_CORRECTIONS_MAX"  # samples the corrections folder may hold
MAX_MB_ENV = "DIGITLIB_CORRECTIONS_MAX_MB"  # megabytes their files may take
DEFAULT_MAX_COUNT = 5000  # about 75 MB of drawings (some 15 kB a sample); fine-tuning on them takes minutes
DEFAULT_MAX_MB = 500  # the bound when every sample is as large as allowed (1.3 MB): some 400 of them
NOT_A_DIGIT_LABEL = NUM_CLASSES  # the label 10: a drawing that is no digit ("not a digit" in the dashboard)
SAVES_PER_MINUTE = 10  # new samples one dashboard (one visitor's kernel) may save in any minute; relabels are free
ON = ("on", "1", "true", "yes")
CORRECTIONS_DIR = DATA_DIR / "corrections"  # data/corrections in a clone; the per-user data folder when installed
PERSONAL = "personal"  # the model fine-tuned on the corrections, written beside them
FORMAT = 1
ID = re.compile(r"[0-9a-f]{32}")
MEMBER = re.compile(r"corrections/([0-9a-f]{32})\.(png|npy|json)")  # the only names an archive's samples may have
FILE = re.compile(r"([0-9a-f]{32})\.(png|npy|json)")
MODEL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
INPUT_SHAPE = (1, IMAGE_SIZE, IMAGE_SIZE)
# what digitlib.reading.images.open_image and digitlib.reading.strokes.render give
PICTURE_MODES = ("L", "LA", "RGB", "RGBA")
# A saved picture fits the canvas, as the canvas shows an upload: enough to see what was read (the network sees 28 x
# 28), and a drawing is saved at the size it was drawn. Its PNG is then at most 0.63 MB (RGBA noise).
MAX_PNG = 1_000_000
MAX_JSON = 1_000_000  # compact; the most strokes and points the dashboard keeps make about 0.6 MB
MAX_JSON_READ = 3_000_000  # an archive of an earlier version wrote its records indented: at most 2.2 MB


def switched_on(name, default="off"):
    """Whether the environment variable name is on (on, 1, true, yes; any case)."""
    return os.environ.get(name, default).strip().lower() in ON


def enabled():
    """Whether the dashboard may save corrections: only where DIGITLIB_CORRECTIONS=on in its environment."""
    return switched_on(CORRECTIONS_ENV)


def personal_offered():
    """Whether the dashboard offers the personal model: only where DIGITLIB_PERSONAL=on in its environment."""
    return switched_on(PERSONAL_ENV)


@dataclass
class Sample:
    """A labelled drawing: label 0-9 or NOT_A_DIGIT_LABEL, x [1, 28, 28] float32 (the input seen), and its record
    (meta: the JSON)."""

    id: str
    label: int
    x: np.ndarray
    meta: dict


class Full(DigitlibError):
    """The corrections folder holds as much as its quota allows."""


class Imported(NamedTuple):
    """What import_archive did: samples added, samples already there, one line per sample (or file) skipped."""

    added: int
    present: int
    skipped: list


class RateLimit:
    """At most `count` events in any `seconds`; `allow()` says whether one more may happen now, and counts it."""

    def __init__(self, count=SAVES_PER_MINUTE, seconds=60.0, clock=time.monotonic):
        self.count, self.seconds, self.clock = count, seconds, clock
        self.times = collections.deque()

    def allow(self):
        now = self.clock()
        while self.times and now - self.times[0] >= self.seconds:
            self.times.popleft()
        if len(self.times) >= self.count:
            return False
        self.times.append(now)
        return True


def png_bytes(picture):
    """The picture as saved: a PNG that fits the canvas (a larger upload shrunk, its aspect kept)."""
    if picture.width > WIDTH or picture.height > HEIGHT:
        picture = picture.copy()
        picture.thumbnail((WIDTH, HEIGHT))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def npy_bytes(x):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(x, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


NPY_BYTES = len(npy_bytes(np.zeros(INPUT_SHAPE)))


def json_bytes(meta):
    return json.dumps(meta, separators=(",", ":")).encode()


def check_label(label):
    """The label as an int, or a DigitlibError unless it is a digit 0-9 or NOT_A_DIGIT_LABEL."""
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label <= NOT_A_DIGIT_LABEL:
        raise DigitlibError(
            f"a correction's label must be a digit 0-9 or {NOT_A_DIGIT_LABEL} (not a digit), not {label!r}"
        )
    return int(label)


def check(label, x):
    """The label as an int and x as a float32 [1, 28, 28] array in [0, 1], or a DigitlibError saying what is wrong."""
    label = check_label(label)
    x = np.asarray(x, dtype=np.float32)
    if x.shape != INPUT_SHAPE or not np.isfinite(x).all():
        raise DigitlibError(f"a correction's input must be finite [1, {IMAGE_SIZE}, {IMAGE_SIZE}], not {list(x.shape)}")
    return label, x


def number(value, low, high, what):
    """value as a float within [low, high], or a DigitlibError naming what it is."""
    numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not numeric or not low <= value <= high:
        raise DigitlibError(f"{what} must be a number from {low} to {high}")
    return float(value)


def check_strokes(strokes):
    """Strokes [(width, [(x, y), ...]), ...] as a sample keeps them ([[width, [[x, y], ...]], ...], points rounded to
    0.1 px), within the dashboard's caps (strokes, points, pen widths, the canvas); else a DigitlibError."""
    if not isinstance(strokes, (list, tuple)) or len(strokes) > MAX_STROKES:
        raise DigitlibError(f"a drawing's strokes must be a list of at most {MAX_STROKES}")
    kept = []
    for stroke in strokes:
        if not isinstance(stroke, (list, tuple)) or len(stroke) != 2 or not isinstance(stroke[1], (list, tuple)):
            raise DigitlibError("a stroke must be a pen width and a list of points")
        width, points = number(stroke[0], *PEN_RANGE, "a pen width"), stroke[1]
        if not 1 <= len(points) <= MAX_STROKE_POINTS:
            raise DigitlibError(f"a stroke must have 1 to {MAX_STROKE_POINTS} points")
        if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in points):
            raise DigitlibError("a point must be [x, y]")
        xy = [[round(number(x, 0, WIDTH, "x"), 1), round(number(y, 0, HEIGHT, "y"), 1)] for x, y in points]
        kept.append([width, xy])
    return kept


def check_probs(probs):
    """probs as a sample keeps them: None, or 10 probabilities rounded to 4 places."""
    if probs is None:
        return None
    if not isinstance(probs, (list, tuple, np.ndarray)) or len(probs) != NUM_CLASSES:
        raise DigitlibError(f"probabilities must be a list of {NUM_CLASSES}")
    return [round(number(p, 0, 1, "a probability"), 4) for p in probs]


def check_model(model):
    if model is not None and not (isinstance(model, str) and MODEL_NAME.fullmatch(model)):
        raise DigitlibError("a model's name must be letters, digits, '_', '.' or '-'")
    return model


def check_time(when):
    """An ISO 8601 time as a sample keeps it (UTC, to the second)."""
    try:
        return datetime.fromisoformat(when).astimezone(timezone.utc).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        raise DigitlibError("its time must be an ISO 8601 time") from None


def record(sample_id, label, strokes, model, probs, when):
    """A sample's JSON record, every field checked: the same for a sample saved and one imported."""
    probs = check_probs(probs)
    return dict(
        format=FORMAT,
        id=sample_id,
        label=check_label(label),
        model=check_model(model),
        reading=None if probs is None else int(np.argmax(probs)),
        probs=probs,
        strokes=check_strokes(strokes),
        time=check_time(when),
    )


def check_png(data):
    """A sample's picture: a PNG no larger than the canvas in a mode a reading takes; else a DigitlibError."""
    if len(data) > MAX_PNG or not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise DigitlibError(f"its picture is not a PNG of at most {MAX_PNG:,} bytes")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as picture:
            if picture.width > WIDTH or picture.height > HEIGHT or picture.mode not in PICTURE_MODES:
                raise DigitlibError(f"its picture is not at most {WIDTH}x{HEIGHT} in {', '.join(PICTURE_MODES)}")
            picture.load()
    except DigitlibError:
        raise
    except Exception as e:  # PIL raises many kinds (OSError, SyntaxError, ValueError, ...) on a crafted PNG
        raise DigitlibError(f"its picture cannot be read ({type(e).__name__})") from None


def check_npy(data):
    """A sample's input, from .npy bytes: the header is checked (float32 [1, 28, 28]) before any data is read."""
    f = io.BytesIO(data)
    try:
        if len(data) != NPY_BYTES or np.lib.format.read_magic(f) != (1, 0):
            raise ValueError
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
        if shape != INPUT_SHAPE or fortran_order or dtype != np.dtype("<f4"):
            raise ValueError
        x = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError:
        raise DigitlibError(f"its input is not a float32 {list(INPUT_SHAPE)} .npy array") from None
    return check(0, x)[1]


def check_json(meta):
    """A record as its JSON bytes, or a DigitlibError if they are over MAX_JSON."""
    data = json_bytes(meta)
    if len(data) > MAX_JSON:
        raise DigitlibError(f"its record is over {MAX_JSON:,} bytes")
    return data


def checked(png, npy, meta):
    """The three files of a sample as bytes (meta: its record) if they are within every bound; else a
    DigitlibError."""
    check_png(png)
    check_npy(npy)
    return png, npy, check_json(meta)


def limit(name, default):
    """A whole number from the environment variable name (default where unset); a DigitlibError if it is not."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise DigitlibError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def quota():
    """(samples, bytes) the corrections folder may hold: DIGITLIB_CORRECTIONS_MAX, DIGITLIB_CORRECTIONS_MAX_MB."""
    return limit(MAX_COUNT_ENV, DEFAULT_MAX_COUNT), limit(MAX_MB_ENV, DEFAULT_MAX_MB) * 1_000_000


def usage(folder):
    """(samples, bytes) the samples in folder hold: complete or not, temporary files aside."""
    count = size = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = FILE.fullmatch(entry.name)
                if name and entry.is_file(follow_symlinks=False):
                    count += name[2] == "json"
                    size += entry.stat(follow_symlinks=False).st_size
    except (FileNotFoundError, NotADirectoryError):
        pass
    return count, size


def make_room(folder, size):
    """Nothing if a new sample of size bytes fits the quota of folder; else Full, saying which bound is reached.
    (Two dashboards saving at the same moment may each pass: the quota is then exceeded by a sample or two.)"""
    max_count, max_bytes = quota()
    count, used = usage(folder)
    if count + 1 > max_count or used + size > max_bytes:
        raise Full(
            f"no more corrections are kept here: {count:,} samples, {used / 1e6:.1f} MB, and the limit is"
            f" {max_count:,} samples or {max_bytes / 1e6:.0f} MB"
        )


def write(folder, sample_id, png, npy, meta, relabel=False):
    """The three files of a sample (bytes, checked), the JSON last; a failure leaves none of them and says why in
    one line. relabel: the sample exists and only its JSON changes (png and npy unused; a failure then leaves the
    sample as it was)."""
    folder = Path(folder)
    if not relabel:
        make_room(folder, len(png) + len(npy) + len(meta))
    done = []
    try:
        for path, data in [] if relabel else [(folder / f"{sample_id}.png", png), (folder / f"{sample_id}.npy", npy)]:
            write_atomic(path, data)
            done.append(path)
        write_atomic(folder / f"{sample_id}.json", meta)
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
    sample_id: the sample's name (default a new one); relabel: that sample exists and only its record changes (the
    picture is then not used). Within the folder's quota; returns the path of its JSON."""
    label, x = check(label, x)
    sample_id = sample_id or uuid.uuid4().hex
    meta = record(sample_id, label, strokes, model, probs, datetime.now(timezone.utc).isoformat())
    if relabel:
        return write(folder, sample_id, None, None, check_json(meta), relabel=True)
    return write(folder, sample_id, *checked(png_bytes(picture), npy_bytes(x), meta))


def read(folder=CORRECTIONS_DIR):
    """(the complete samples in folder, oldest first; the names of the samples that cannot be read)."""
    samples, broken = [], []
    for path in sorted(Path(folder).glob("*.json")):
        if not ID.fullmatch(path.stem):
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
    """How many samples of each digit: a list of 10 (those labelled not a digit: not_digits)."""
    return np.bincount([s.label for s in samples if s.label < NUM_CLASSES], minlength=NUM_CLASSES).tolist()


def not_digits(samples):
    """How many samples are labelled not a digit."""
    return sum(s.label == NOT_A_DIGIT_LABEL for s in samples)


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


def open_archive(file):
    try:
        return zipfile.ZipFile(file)
    except FileNotFoundError:
        raise DigitlibError(f"no such file: {file}") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DigitlibError(f"{file} is not an archive of corrections ({e})") from None


def read_member(archive, member, most):
    """The bytes of an archive's member, at most `most` of them, or a DigitlibError: a member is read (and its CRC
    checked) within the error handling, whatever its headers claim."""
    try:
        with archive.open(member) as f:
            data = f.read(most + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as e:
        problem = "encrypted" if member.flag_bits & 1 else str(e).replace(repr(member), member.filename)
        raise DigitlibError(f"its {Path(member.filename).suffix} cannot be read ({problem})") from None
    if len(data) > most:
        raise DigitlibError(f"its {Path(member.filename).suffix} is over {most:,} bytes")
    return data


def read_sample(archive, sample_id, members):
    """The checked files (png, npy, JSON bytes) of the sample sample_id, from its members {suffix: ZipInfo}."""
    if sorted(members) != ["json", "npy", "png"]:
        raise DigitlibError(f"it lacks its {', '.join(s for s in ('png', 'npy', 'json') if s not in members)}")
    png = read_member(archive, members["png"], MAX_PNG)
    npy = read_member(archive, members["npy"], NPY_BYTES)
    try:
        meta = json.loads(read_member(archive, members["json"], MAX_JSON_READ))
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise DigitlibError("its record is not JSON") from None
    if not isinstance(meta, dict):
        raise DigitlibError("its record is not a JSON object")
    meta = record(sample_id, *(meta.get(k) for k in ("label", "strokes", "model", "probs", "time")))
    return checked(png, npy, meta)


def samples_in(archive):
    """({sample id: {suffix: ZipInfo}}, [a line per name under corrections/ that names no sample's file]): a name
    such as "corrections/ID.json\n" is a file its sample lacks, said once (by import_archive)."""
    samples, odd = {}, {}
    for member in archive.infolist():
        name = MEMBER.fullmatch(member.filename)
        if name:
            sample_id, suffix = name.groups()
            samples.setdefault(sample_id, {})[suffix] = member  # a name twice: the last, as zipfile reads it
        elif member.filename.startswith("corrections/") and not member.is_dir():
            odd.setdefault(member.filename.removeprefix("corrections/").split(".")[0], member.filename)
    return samples, [f"{name!r}: not the name of a sample's file" for stem, name in odd.items() if stem not in samples]


def import_archive(file, folder=CORRECTIONS_DIR):
    """Add the samples of an archive made by export() to folder: Imported(added, already there, skipped). Each
    sample is checked as save() checks one and written as it writes one; a sample that cannot be read or checked
    is skipped with a line and the others go on; once the folder's quota is reached the rest are skipped. Nothing
    is extracted by the names inside the archive."""
    added = present = 0
    with open_archive(file) as archive:
        samples, skipped = samples_in(archive)
        if not samples and not skipped:
            raise DigitlibError(f"{file} holds no corrections (made by: python -m digitlib corrections --export)")
        for n, (sample_id, members) in enumerate(sorted(samples.items())):
            if (Path(folder) / f"{sample_id}.json").exists():
                present += 1
                continue
            try:
                write(folder, sample_id, *read_sample(archive, sample_id, members))
            except Full as e:
                skipped.append(f"{len(samples) - n} more not imported: {e}")
                break
            except DigitlibError as e:
                skipped.append(f"sample {sample_id}: {e}")
                continue
            added += 1
    return Imported(added, present, skipped)
