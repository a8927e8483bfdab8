"""The corrections on the command line (what was collected, export, import) and the personal model made from them."""

import json

import numpy as np
from strokes import strokes
from test_cli import assert_one_line_error, run
from test_dashboard_app import draw

from digitlib.apps.dashboard import DigitDashboard
from digitlib.data import corrections
from digitlib.data.hand import demo_hand, save_demo
from digitlib.reading.strokes import render
from digitlib.training.personal import folds, held_out, trust


def save_some(folder, n):
    for s in demo_hand(per_digit=1)[:n]:
        corrections.save(s.label, s.x, render(s.meta["strokes"]), strokes=s.meta["strokes"], folder=folder)


def test_the_demo_hand_is_the_same_from_the_same_seed_and_balanced():
    a, b = demo_hand(), demo_hand()
    assert len(a) >= 300 and [s.id for s in a] == [s.id for s in b]
    assert all(np.array_equal(s.x, t.x) for s, t in zip(a, b))
    assert corrections.counts(a) == [40] * 10
    assert [s.id for s in demo_hand(seed=1)] != [s.id for s in a]


def test_corrections_counts_each_digit_and_exports_and_imports(tmp_path):
    here, there, archive = tmp_path / "here", tmp_path / "there", tmp_path / "mine.zip"
    save_some(here, 4)
    result = run("corrections", "--folder", str(here), "--export", str(archive), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["total"] == 4 and summary["per_digit"] == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert "exported 4 corrections" in result.stderr
    result = run("corrections", "--folder", str(there), "--import", str(archive))
    assert result.returncode == 0 and "imported 4 corrections" in result.stderr
    assert "4 corrections in" in result.stdout and "count      1    1    1    1    0" in result.stdout
    again = run("corrections", "--folder", str(there), "--import", str(archive))
    assert "imported 0 corrections" in again.stderr and "4 were already here" in again.stderr


def test_importing_a_file_that_is_no_archive_is_one_line(tmp_path):
    bad = tmp_path / "notes.zip"
    bad.write_text("hello")
    assert_one_line_error(run("corrections", "--folder", str(tmp_path / "c"), "--import", str(bad)), "notes.zip")
    assert_one_line_error(run("corrections", "--import", str(tmp_path / "none.zip")), "no such file")


def test_the_demo_hand_can_be_added_as_corrections(tmp_path):
    assert save_demo(tmp_path, per_digit=2) == 20
    samples, broken = corrections.read(tmp_path)
    assert len(samples) == 20 and broken == [] and corrections.counts(samples) == [2] * 10


def test_held_out_takes_a_fifth_of_each_digit_and_none_of_a_digit_with_few():
    y = np.array([0] * 10 + [1] * 4 + [2] * 5)
    test = held_out(y)
    assert np.bincount(y[test], minlength=3).tolist() == [2, 0, 1]
    assert held_out(np.array([3, 3, 7])).tolist() == []


def test_folds_cover_every_sample_once_and_are_stratified():
    y = np.repeat(np.arange(10), 8)
    parts = folds(y, 4)
    assert sorted(np.concatenate(parts).tolist()) == list(range(80))
    assert all(np.bincount(y[p], minlength=10).tolist() == [2] * 10 for p in parts)


def test_trust_says_how_much_a_held_out_figure_is_worth():
    assert "nothing measures" in trust(0)
    assert "each worth 10.0 points: a rough sign only" in trust(10)
    assert "a fair measure" in trust(80)


def test_finetuning_with_no_corrections_is_one_line(tmp_path):
    assert_one_line_error(run("finetune", "--folder", str(tmp_path), "--dry-run"), "no corrections in", "--import")


def test_finetuning_on_three_corrections_runs_says_what_to_trust_and_the_dashboard_reads_with_it(tmp_path):
    save_some(tmp_path, 3)
    result = run("finetune", "--folder", str(tmp_path), "--out", str(tmp_path), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["corrections"] == 3 and summary["held_out"] == 0 and summary["held_out_accuracy"] is None
    assert 0 <= summary["test_accuracy"] <= 1
    meta = json.loads((tmp_path / "personal.json").read_text())
    assert "nothing measures" in meta["trust"] and meta["base"] == "best" and meta["smoke"]
    app = DigitDashboard("fast", corrections_dir=tmp_path, personal=True)
    assert "personal" in app.model.options
    app.model.value = "personal"
    draw(app, strokes(7))
    assert app.predictor.name == "personal" and app.digit.value != "" and "error" not in app.status.value
    assert "Layer 6" in app.features.value  # best's architecture: six conv layers


def test_exporting_a_corrupt_personal_model_is_one_line(tmp_path):
    (tmp_path / "personal.json").write_text("{")
    assert_one_line_error(run("export", "--model", "personal", "--weights", str(tmp_path)), "corrupt weights metadata")


def test_importing_an_archive_with_a_bad_sample_says_one_line_for_it_and_imports_the_rest(tmp_path):
    from test_corrections import BAD, add_sample, good_archive

    archive = tmp_path / "mixed.zip"
    good_archive(archive)
    add_sample(archive, BAD, meta=b"[" * 100_000)
    result = run("corrections", "--folder", str(tmp_path / "c"), "--import", str(archive))
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"skipped sample {BAD}: its record is not JSON",
        f"imported 2 corrections from {archive} (0 were already here, 1 skipped)",
    ]
