"""Corrections saved as samples: whole or not at all, never overwriting one another, and said plainly when they fail."""

import errno
import io
import json
import multiprocessing
import zipfile

import numpy as np
import pytest
from PIL import Image

from digitlib.data import corrections
from digitlib.errors import DigitlibError
from digitlib.reading.strokes import HEIGHT, MAX_STROKE_POINTS, MAX_STROKES, PEN_RANGE, WIDTH, render

STROKES = [(16, [(200.0, 60.0), (280.0, 40.0), (280.0, 240.0)])]


def sample_input(seed=0):
    return np.random.default_rng(seed).random((1, 28, 28), dtype=np.float32)


def save(folder, label=4, seed=0, strokes=STROKES, **kwargs):
    probs = np.eye(10)[9] * 0.9 + 0.01
    return corrections.save(
        label, sample_input(seed), render(STROKES), strokes=strokes, model="best", probs=probs, folder=folder, **kwargs
    )


def test_a_saved_correction_keeps_the_drawing_its_input_label_and_reading(tmp_path):
    path = save(tmp_path, label=4)
    (sample,), broken = corrections.read(tmp_path)
    assert broken == [] and sample.label == 4 and path.stem == sample.id
    assert np.array_equal(sample.x, sample_input())
    meta = sample.meta
    assert (
        meta["model"] == "best"
        and meta["reading"] == 9
        and meta["strokes"] == [[16.0, [[200, 60], [280, 40], [280, 240]]]]
    )
    assert meta["time"].endswith("+00:00")
    assert Image.open(path.with_suffix(".png")).size == (560, 280)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{sample.id}{s}" for s in (".json", ".npy", ".png"))


def save_at_once(folder, barrier, label):
    barrier.wait()
    save(folder, label=label, seed=label)


def test_eight_visitors_saving_at_the_same_moment_leave_eight_complete_samples(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(8)
    workers = [context.Process(target=save_at_once, args=(tmp_path, barrier, d)) for d in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * 8
    samples, broken = corrections.read(tmp_path)
    assert broken == [] and sorted(s.label for s in samples) == list(range(8))
    for s in samples:  # each is its own, whole
        assert np.array_equal(s.x, sample_input(s.label))
    assert len(list(tmp_path.iterdir())) == 24  # no temporary file left behind


def test_saving_again_with_the_same_id_relabels_the_sample(tmp_path):
    first = save(tmp_path, label=4)
    save(tmp_path, label=7, sample_id=first.stem, relabel=True)
    (sample,), _ = corrections.read(tmp_path)
    assert sample.id == first.stem and sample.label == 7


def test_a_relabel_that_fails_keeps_the_sample_as_it_was(tmp_path, monkeypatch):
    first = save(tmp_path, label=4)

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(corrections, "write_atomic", full)
    with pytest.raises(DigitlibError, match="No space left on device$"):
        save(tmp_path, label=7, sample_id=first.stem, relabel=True)
    (sample,), broken = corrections.read(tmp_path)
    assert broken == [] and sample.label == 4 and np.array_equal(sample.x, sample_input(0))


def test_a_folder_that_cannot_be_written_is_one_line_and_leaves_nothing(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(DigitlibError, match=r"^could not save the correction in .*/file/corrections: Not a directory$"):
        save(blocked / "corrections")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_a_full_disk_is_one_line_and_leaves_no_half_sample(tmp_path, monkeypatch):
    written, write_atomic = [], corrections.write_atomic

    def fills_up(path, data):
        if path.suffix == ".npy":
            raise OSError(errno.ENOSPC, "No space left on device")
        write_atomic(path, data)
        written.append(path)

    monkeypatch.setattr(corrections, "write_atomic", fills_up)
    with pytest.raises(DigitlibError, match="No space left on device$"):
        save(tmp_path)
    assert written and list(tmp_path.iterdir()) == []  # the picture written first was removed again


def test_a_read_only_folder_is_one_line(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(DigitlibError, match="Permission denied$"):
            save(tmp_path)
    finally:
        tmp_path.chmod(0o755)


@pytest.mark.parametrize("label", [-1, 11, 3.0, "3", True])  # 10 is "not a digit"
def test_a_label_that_is_not_a_digit_is_refused(tmp_path, label):
    with pytest.raises(DigitlibError, match="must be a digit"):
        save(tmp_path, label=label)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value, on", [(None, False), ("on", True), ("ON", True), ("1", True), ("off", False)])
def test_saving_is_off_unless_the_environment_switches_it_on(monkeypatch, value, on):
    if value is None:
        monkeypatch.delenv(corrections.CORRECTIONS_ENV, raising=False)
    else:
        monkeypatch.setenv(corrections.CORRECTIONS_ENV, value)
    assert corrections.enabled() is on


def test_incomplete_and_broken_samples_are_not_read_as_samples(tmp_path):
    save(tmp_path, label=1)
    half = save(tmp_path, label=2)
    half.with_suffix(".npy").unlink()
    (tmp_path / "personal.json").write_text("{}")
    samples, broken = corrections.read(tmp_path)
    assert [s.label for s in samples] == [1] and broken == [half.stem]


def test_export_then_import_moves_every_sample_once(tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    for d in (3, 3, 8):
        save(here, label=d, seed=d)
    archive = tmp_path / "mine.zip"
    assert corrections.export(archive, here) == 3
    assert corrections.import_archive(archive, there) == (3, 0, [])
    assert corrections.import_archive(archive, there) == (0, 3, [])  # already there: not doubled
    samples, _ = corrections.read(there)
    assert corrections.counts(samples) == [0, 0, 0, 2, 0, 0, 0, 0, 1, 0]
    assert sorted(s.id for s in samples) == sorted(s.id for s in corrections.read(here)[0])


def test_an_archive_that_is_no_archive_or_holds_no_samples_is_refused(tmp_path):
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")
    with pytest.raises(DigitlibError, match="is not an archive of corrections"):
        corrections.import_archive(not_zip, tmp_path / "c")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("../../evil.json", "{}")
    with pytest.raises(DigitlibError, match="holds no corrections"):
        corrections.import_archive(empty, tmp_path / "c")
    assert not (tmp_path / "c").exists()


# --- bounds: what is saved, how much, and what an archive may hold ------------------------------------------


def largest_strokes(seed=0):
    """As many strokes and points as the dashboard keeps, each point a different place on the canvas."""
    rng = np.random.default_rng(seed)
    return [(PEN_RANGE[1], [(float(x), float(y)) for x, y in rng.random((MAX_STROKE_POINTS, 2)) * (WIDTH, HEIGHT)])] * (
        MAX_STROKES
    )


def noise(size, seed=0):
    """The least compressible picture: RGBA noise."""
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*size[::-1], 4), dtype=np.uint8), "RGBA")


def test_a_record_is_compact_and_a_large_upload_is_saved_no_larger_than_the_canvas(tmp_path):
    path = corrections.save(3, sample_input(), noise((2000, 1000)), model="best", folder=tmp_path)
    assert Image.open(path.with_suffix(".png")).size == (WIDTH, HEIGHT)
    assert b"\n" not in path.read_bytes() and b", " not in path.read_bytes()


def test_the_largest_sample_that_can_be_saved_is_exported_and_imported_back(tmp_path):
    """Any upload's picture at its largest (shrunk to the canvas's size, incompressible), with as many strokes and
    points as a drawing keeps (a sample has one or the other): within every bound on import."""
    here, there, archive = tmp_path / "here", tmp_path / "there", tmp_path / "all.zip"
    path = corrections.save(
        5, sample_input(), noise((WIDTH, HEIGHT)), strokes=largest_strokes(), model="best", probs=np.full(10, 0.1),
        folder=here,
    )  # fmt: skip
    sizes = [path.with_suffix(s).stat().st_size for s in (".png", ".json")]
    assert sizes[0] > 0.6e6 and sizes[1] > 0.5e6  # the largest there is, under MAX_PNG and MAX_JSON
    assert corrections.export(archive, here) == 1
    assert corrections.import_archive(archive, there) == (1, 0, [])
    (sample,), _ = corrections.read(there)
    assert (
        sample.meta == json.loads(path.read_text())
        and path.with_suffix(".png").read_bytes() == (there / f"{sample.id}.png").read_bytes()
    )


def test_strokes_past_the_dashboards_caps_are_refused(tmp_path):
    too_many = largest_strokes() + largest_strokes()[:1]
    too_long = [(16, [(1.0, 1.0)] * (MAX_STROKE_POINTS + 1))]
    for strokes in (too_many, too_long, [(16, [(WIDTH + 1, 0)])], [(1000, [(1, 1)])], [(16, [])]):
        with pytest.raises(DigitlibError):
            save(tmp_path, strokes=strokes)
    assert list(tmp_path.iterdir()) == []


def test_the_quota_bounds_the_samples_and_bytes_kept_and_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv(corrections.MAX_COUNT_ENV, "2")
    save(tmp_path, seed=1)
    save(tmp_path, seed=2)
    with pytest.raises(corrections.Full, match=r"^no more corrections are kept here: 2 samples, .* 2 samples or"):
        save(tmp_path, seed=3)
    monkeypatch.setenv(corrections.MAX_COUNT_ENV, "100")
    monkeypatch.setenv(corrections.MAX_MB_ENV, "0")
    with pytest.raises(corrections.Full, match="or 0 MB$"):
        save(tmp_path, seed=3)
    assert corrections.usage(tmp_path)[0] == 2 and len(list(tmp_path.iterdir())) == 6
    monkeypatch.setenv(corrections.MAX_MB_ENV, "lots")
    with pytest.raises(DigitlibError, match="^DIGITLIB_CORRECTIONS_MAX_MB must be a whole number, not 'lots'$"):
        save(tmp_path, seed=3)


def test_an_import_stops_at_the_quota_with_one_line(tmp_path, monkeypatch):
    here, there, archive = tmp_path / "here", tmp_path / "there", tmp_path / "all.zip"
    for seed in range(3):
        save(here, seed=seed)
    corrections.export(archive, here)
    monkeypatch.setenv(corrections.MAX_COUNT_ENV, "2")
    added, present, (line,) = corrections.import_archive(archive, there)
    assert (added, present) == (2, 0) and line.startswith("1 more not imported: no more corrections are kept here")


def test_a_rate_limit_allows_so_many_a_minute():
    now = [0.0]
    rate = corrections.RateLimit(3, 60, clock=lambda: now[0])
    assert [rate.allow() for _ in range(4)] == [True, True, True, False]
    now[0] = 59.9
    assert not rate.allow()
    now[0] = 60.0  # the first three are a minute old
    assert [rate.allow() for _ in range(4)] == [True, True, True, False]


def good_archive(path, n=2):
    """An archive of n good samples (ids 1..., 2...) written stored, so that its bytes can be edited; their ids."""
    ids = [str(i + 1) * 32 for i in range(n)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i, sample_id in enumerate(ids):
            folder = path.parent / f"good{i}"
            save(folder, label=i, seed=i, sample_id=sample_id)
            for suffix in (".png", ".npy", ".json"):
                z.write(folder / f"{sample_id}{suffix}", f"corrections/{sample_id}{suffix}")
    return ids


def add_sample(path, sample_id, png=None, npy=None, meta=None, names=None):
    """Add a sample to the archive at path, each file the good one unless given; names: the names used."""
    folder = path.parent / "good0"
    files = dict(zip((".png", ".npy", ".json"), (png, npy, meta)))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_STORED) as z:
        for suffix, data in files.items():
            good = next(folder.glob(f"*{suffix}")).read_bytes()
            name = (names or {}).get(suffix, f"corrections/{sample_id}{suffix}")
            z.writestr(name, good if data is None else data)


def edit_central(path, name, offset, value):
    """Overwrite bytes at offset in the central directory's entry of the member name (offsets as in APPNOTE)."""
    data = bytearray(path.read_bytes())
    at = data.rindex(name.encode()) - 46  # the central entry comes after the member's own header and data
    assert data[at : at + 4] == b"PK\x01\x02"
    data[at + offset : at + offset + len(value)] = value
    path.write_bytes(bytes(data))


def npy_claiming(shape):
    """.npy bytes whose header claims shape, padded to a sample's size."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buffer.getvalue().ljust(corrections.NPY_BYTES, b"\0")


BAD = "f" * 32


def bad_crc(path):
    add_sample(path, BAD)
    edit_central(path, f"corrections/{BAD}.png", 16, b"\0\0\0\0")


def lying_size(path):
    add_sample(path, BAD)
    edit_central(path, f"corrections/{BAD}.json", 24, (10).to_bytes(4, "little"))


def encrypted(path):
    add_sample(path, BAD)
    edit_central(path, f"corrections/{BAD}.npy", 8, b"\x01\x00")


def unknown_method(path):
    add_sample(path, BAD)
    edit_central(path, f"corrections/{BAD}.png", 10, (99).to_bytes(2, "little"))


MALFORMED = {
    "bad CRC": (bad_crc, "Bad CRC-32"),
    "a member lying about its size": (lying_size, "Bad CRC-32"),
    "an encrypted flag": (encrypted, "encrypted"),
    "an unknown compression method": (unknown_method, "compression method"),
    "deeply nested JSON": (lambda p: add_sample(p, BAD, meta=b"[" * 200_000 + b"]" * 200_000), "not JSON"),
    "an .npy header claiming 10^15 elements": (
        lambda p: add_sample(p, BAD, npy=npy_claiming((10**15,))),
        "not a float32 [1, 28, 28] .npy array",
    ),
    "an EPS named .png": (lambda p: add_sample(p, BAD, png=b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9"), "PNG"),
    "a PNG larger than the canvas": (lambda p: add_sample(p, BAD, png=corrections_png((600, 300))), "at most 560x280"),
    "a label that is no digit": (lambda p: add_sample(p, BAD, meta=b'{"label": 12, "time": "2026-01-01"}'), "0-9"),
    "names with a trailing newline": (
        lambda p: add_sample(p, BAD, names={s: f"corrections/{BAD}\n{s}" for s in (".png", ".npy", ".json")}),
        "not the name of a sample's file",
    ),
    "a record named with a trailing newline": (
        lambda p: add_sample(p, BAD, names={".json": f"corrections/{BAD}.json\n"}),
        "lacks its json",
    ),
}


def corrections_png(size):
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_sample_is_one_line_and_the_good_samples_are_imported(tmp_path, kind):
    make, said = MALFORMED[kind]
    archive = tmp_path / "mixed.zip"
    good = good_archive(archive)
    make(archive)
    added, present, skipped = corrections.import_archive(archive, tmp_path / "c")
    assert (added, present, len(skipped)) == (2, 0, 1) and said in skipped[0] and "\n" not in skipped[0]
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == sorted(
        f"{i}{s}" for i in good for s in (".png", ".npy", ".json")
    )
