"""Corrections saved as samples: whole or not at all, never overwriting one another, and said plainly when they fail."""

import errno
import multiprocessing
import zipfile

import numpy as np
import pytest
from PIL import Image

from digitlib import corrections
from digitlib.errors import DigitlibError
from digitlib.ink import render

STROKES = [(16, [(200.0, 60.0), (280.0, 40.0), (280.0, 240.0)])]


def sample_input(seed=0):
    return np.random.default_rng(seed).random((1, 28, 28), dtype=np.float32)


def save(folder, label=4, seed=0, **kwargs):
    probs = np.eye(10)[9] * 0.9 + 0.01
    return corrections.save(
        label, sample_input(seed), render(STROKES), strokes=STROKES, model="best", probs=probs, folder=folder, **kwargs
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

    monkeypatch.setattr(corrections, "save_json", full)
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


@pytest.mark.parametrize("label", [-1, 10, 3.0, "3", True])
def test_a_label_that_is_not_a_digit_is_refused(tmp_path, label):
    with pytest.raises(DigitlibError, match="must be a digit"):
        save(tmp_path, label=label)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value, on", [(None, True), ("on", True), ("off", False), ("OFF", False), ("0", False)])
def test_saving_is_on_unless_the_environment_switches_it_off(monkeypatch, value, on):
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
    assert corrections.import_archive(archive, there) == (3, 0)
    assert corrections.import_archive(archive, there) == (0, 3)  # already there: not doubled
    samples, _ = corrections.read(there)
    assert corrections.counts(samples) == [0, 0, 0, 2, 0, 0, 0, 0, 1, 0]
    assert sorted(s.id for s in samples) == sorted(s.id for s in corrections.read(here)[0])


def test_an_archive_with_a_broken_sample_or_no_samples_is_refused(tmp_path):
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")
    with pytest.raises(DigitlibError, match="is not an archive of corrections"):
        corrections.import_archive(not_zip, tmp_path / "c")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("../../evil.json", "{}")
    with pytest.raises(DigitlibError, match="holds no corrections"):
        corrections.import_archive(empty, tmp_path / "c")
    broken = tmp_path / "broken.zip"
    sample_id = "0" * 32
    with zipfile.ZipFile(broken, "w") as z:
        for suffix in (".png", ".npy", ".json"):
            z.writestr(f"corrections/{sample_id}{suffix}", "garbage")
    with pytest.raises(DigitlibError, match="cannot be read"):
        corrections.import_archive(broken, tmp_path / "c")
    assert not (tmp_path / "c").exists() or list((tmp_path / "c").iterdir()) == []
