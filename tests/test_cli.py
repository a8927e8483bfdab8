"""Every command of python -m digitlib, and each kind of bad input: one plain line, never a traceback."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitlib import cli, weights
from digitlib.constants import ROOT
from digitlib.models import VARIANTS
from drawings import drawing


# the CLI under test is the digitlib beside these tests, whichever copy is installed
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def run(*args, cwd=None):
    """Run the CLI from an unrelated folder (paths must not depend on it)."""
    return subprocess.run([sys.executable, "-m", "digitlib", *args], capture_output=True, text=True,
                          cwd=cwd or "/", env=ENV, timeout=600)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for f in fragments:
        assert f in lines[0]


@pytest.fixture(scope="module")
def images(tmp_path_factory, mnist_test):
    folder = tmp_path_factory.mktemp("images")
    digits, labels = mnist_test
    files = {}
    for i, style in [(0, "plain"), (1, "inverted"), (2, "transparent")]:
        files[style] = folder / f"{style}.png"
        drawing(digits[i], style).save(files[style])
        files[style + "_label"] = int(labels[i])
    files["blank"] = folder / "blank.png"
    Image.new("L", (280, 280), 255).save(files["blank"])
    files["empty"] = folder / "empty.png"
    files["empty"].write_bytes(b"")
    files["text"] = folder / "notes.png"
    files["text"].write_text("this is not an image")
    files["truncated"] = folder / "truncated.png"
    files["truncated"].write_bytes(files["plain"].read_bytes()[:300])
    files["bomb"] = folder / "bomb.png"
    Image.new("1", (10_000, 10_000)).save(files["bomb"])  # 100 million pixels in a small file
    return files


def test_data_reports_its_source():
    result = run("data")
    assert result.returncode == 0
    assert "MNIST verified in" in result.stdout and "source:" in result.stdout


def test_models_lists_every_variant_with_its_shipped_accuracy():
    result = run("models", "--json")
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == list(VARIANTS)
    assert [r["name"] for r in rows if r["default"]] == ["best"]
    assert all(r["kind"] in ("fc", "cnn") and r["params"] > 0 and r["test_accuracy"] >= 0.98 for r in rows)
    assert "best" in run("models").stdout


def test_evaluate_json_is_consistent_with_its_confusion_matrix():
    result = run("evaluate", "--model", "fast", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    confusion = np.array(report["confusion"])
    assert report["model"] == "fast" and confusion.shape == (10, 10) and confusion.sum() == 10_000
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / 10_000)
    recalls = confusion.diagonal() / confusion.sum(1)
    precisions = confusion.diagonal() / confusion.sum(0)
    assert [report["per_class"][str(c)]["recall"] for c in range(10)] == pytest.approx(recalls)
    assert [report["per_class"][str(c)]["precision"] for c in range(10)] == pytest.approx(precisions)


def test_evaluate_prints_a_readable_report():
    out = run("evaluate", "--model", "fast").stdout
    assert "test accuracy" in out and "precision" in out and "confusion" in out


def test_predict_reads_each_good_file(images):
    result = run("predict", str(images["plain"]), str(images["inverted"]), str(images["transparent"]), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["digit"] for r in rows] == [images["plain_label"], images["inverted_label"], images["transparent_label"]]
    assert all(r["error"] is None and len(r["probabilities"]) == 10 for r in rows)
    assert sum(rows[0]["probabilities"]) == pytest.approx(1, abs=1e-4)


def test_predict_reports_a_blank_image_as_no_digit(images):
    result = run("predict", str(images["blank"]), "--json")
    assert result.returncode == 0
    row = json.loads(result.stdout)
    assert row["digit"] is None and row["error"] is None
    assert "no digit" in run("predict", str(images["blank"])).stdout


@pytest.mark.parametrize("bad, message", [("missing", "no such file"), ("empty", "empty file"),
                                          ("text", "not a readable image"), ("truncated", "truncated or corrupt"),
                                          ("bomb", "over the limit")])
def test_predict_reports_a_bad_file_and_still_reads_the_others(images, bad, message, tmp_path):
    path = tmp_path / "missing.png" if bad == "missing" else images[bad]
    result = run("predict", str(path), str(images["plain"]), "--json")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["digit"] is None and message in rows[0]["error"] and str(path) in rows[0]["error"]
    assert rows[1]["digit"] == images["plain_label"] and rows[1]["error"] is None
    plain = run("predict", str(path))
    assert plain.returncode == 1 and f"{path}: error: " in plain.stdout and "Traceback" not in plain.stderr


def test_unknown_model_is_one_line(images):
    assert_one_line_error(run("predict", str(images["plain"]), "--model", "resnet"), "unknown model 'resnet'", "best")
    assert_one_line_error(run("evaluate", "--model", "resnet"), "unknown model")
    assert_one_line_error(run("train", "--model", "resnet"), "unknown model")


def test_missing_weights_are_one_line_naming_the_file_and_the_fix(images, tmp_path):
    result = run("predict", str(images["plain"]), "--weights", str(tmp_path))
    assert_one_line_error(result, str(tmp_path / "best.json"), "python -m digitlib train --model best")


def test_corrupt_weights_are_one_line(images, tmp_path):
    for suffix in (".json", ".safetensors"):
        (tmp_path / f"fast{suffix}").write_bytes((ROOT / "weights" / f"fast{suffix}").read_bytes())
    (tmp_path / "fast.safetensors").write_bytes(b"\x00" * 64)
    assert_one_line_error(run("evaluate", "--model", "fast", "--weights", str(tmp_path)), "corrupt weights file")


def test_train_dry_run_writes_weights_and_a_json_summary(tmp_path):
    result = run("train", "--model", "compact", "--dry-run", "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {"model", "epochs", "seed", "train_seconds", "test_accuracy", "weights"}
    assert summary["model"] == "compact" and summary["weights"] == str(tmp_path / "compact.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compact.json", "compact.safetensors"]
    assert json.loads((tmp_path / "compact.json").read_text())["smoke"] is True


def test_help_states_every_default():
    out = run("train", "--help").stdout
    assert "(default: 0)" in out and "--dry-run" in out


def test_bad_training_arguments_are_one_line(tmp_path):
    result = run("train", "--model", "fast", "--epochs", "0", "--out", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr and "at least 1" in result.stderr
    assert_one_line_error(run("train", "--model", "fast", "--device", "tpu", "--dry-run", "--out", str(tmp_path)),
                          "not available")


def folder_hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in Path(folder).rglob("*") if p.is_file()}


def test_a_dry_run_without_out_leaves_the_weights_folder_untouched(tmp_path, monkeypatch, capsys):
    shipped = folder_hashes(ROOT / "weights")
    monkeypatch.setattr(cli, "WEIGHTS_DIR", tmp_path)  # the default --out, should a dry run still write there
    assert cli.main(["train", "--model", "fast", "--dry-run", "--device", "cpu"]) == 0
    assert "temporary folder" in capsys.readouterr().out
    assert cli.main(["train", "--model", "fast", "--dry-run", "--device", "cpu", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["weights"] is None  # nothing kept
    assert list(tmp_path.iterdir()) == []
    assert folder_hashes(ROOT / "weights") == shipped


def test_two_trainings_into_one_folder_at_once_leave_a_valid_pair(tmp_path):
    command = [sys.executable, "-m", "digitlib", "train", "--model", "compact", "--dry-run", "--json",
               "--device", "cpu", "--out", str(tmp_path)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/", env=ENV)
            for _ in range(2)]
    for r in runs:
        _, err = r.communicate(timeout=600)
        assert r.returncode == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compact.json", "compact.safetensors"]
    meta = json.loads((tmp_path / "compact.json").read_text())
    assert meta["safetensors_sha256"] == hashlib.sha256((tmp_path / "compact.safetensors").read_bytes()).hexdigest()
    weights.load("compact", tmp_path)


def copy_of_fast(folder, **change):
    """weights/fast.* copied into folder, with changes to its metadata."""
    meta = json.loads((ROOT / "weights" / "fast.json").read_text())
    (folder / "fast.json").write_text(json.dumps({**meta, **change}))
    (folder / "fast.safetensors").write_bytes((ROOT / "weights" / "fast.safetensors").read_bytes())


def test_a_zero_temperature_is_one_line_naming_the_file_not_nan_probabilities(images, tmp_path):
    copy_of_fast(tmp_path, temperature=0)
    result = run("predict", str(images["plain"]), "--model", "fast", "--weights", str(tmp_path), "--json")
    assert_one_line_error(result, str(tmp_path / "fast.json"), "temperature", "python -m digitlib train --model fast")
    assert "NaN" not in result.stdout


def strict_json(text):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_strict_json_or_a_one_line_error(tmp_path):
    copy_of_fast(tmp_path, test_accuracy=float("nan"))
    result = run("models", "--json", "--weights", str(tmp_path))
    if result.returncode == 0:
        strict_json(result.stdout)
    else:
        assert_one_line_error(result, "JSON")
