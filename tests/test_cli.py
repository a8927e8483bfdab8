"""Every command of python -m digitlib, and each kind of bad input: one plain line, never a traceback."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from drawings import drawing
from odd_files import BINARY, encode, odd_names, unreadable, variants
from PIL import Image

from digitlib.apps import cli
from digitlib.apps.cli import main
from digitlib.constants import ROOT
from digitlib.models import weights
from digitlib.models.zoo import VARIANTS
from digitlib.reading import images as images_module
from digitlib.reading.images import display_name

# the CLI under test is the digitlib beside these tests, whichever copy is installed
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def run(*args, cwd=None):
    """Run the CLI from an unrelated folder (paths must not depend on it)."""
    return subprocess.run(
        [sys.executable, "-m", "digitlib", *args], capture_output=True, text=True, cwd=cwd or "/", env=ENV, timeout=600
    )


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


def test_where_names_the_clone_folders_and_digitlib_data_moves_the_data(tmp_path):
    def where(**env):
        clean = {k: v for k, v in ENV.items() if k != "DIGITLIB_DATA"}
        result = subprocess.run(
            [sys.executable, "-m", "digitlib", "where", "--json"],
            capture_output=True,
            text=True,
            cwd="/",
            env={**clean, **env},
            timeout=600,
        )
        return json.loads(result.stdout)

    assert where() == {
        "package": str(ROOT / "digitlib"),
        "clone": True,
        "weights": str(ROOT / "weights"),
        "train_out": str(ROOT / "weights"),
        "data": str(ROOT / "data"),
    }
    assert where(DIGITLIB_DATA=str(tmp_path))["data"] == str(tmp_path)


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


@pytest.mark.parametrize(
    "bad, message",
    [
        ("missing", "no such file"),
        ("empty", "empty file"),
        ("text", "not a readable image"),
        ("truncated", "truncated or corrupt"),
        ("bomb", "over the limit"),
    ],
)
def test_predict_reports_a_bad_file_and_still_reads_the_others(images, bad, message, tmp_path):
    path = tmp_path / "missing.png" if bad == "missing" else images[bad]
    result = run("predict", str(path), str(images["plain"]), "--json")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["file"] == str(path) and rows[0]["digit"] is None and message in rows[0]["error"]
    assert rows[1]["digit"] == images["plain_label"] and rows[1]["error"] is None
    plain = run("predict", str(path))
    assert plain.returncode == 1 and plain.stdout.startswith(f"{path}: error: {message}")
    assert plain.stdout.count(str(path)) == 1 and "Traceback" not in plain.stderr


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, mnist_test):
    """Files of every odd kind, seeded: [(path, expected)]; expected is the label, None for no digit, or the error."""
    folder = tmp_path_factory.mktemp("matrix")
    digits, labels = mnist_test
    files = []

    def add(name, data, expected):
        (folder / name).write_bytes(data)
        files.append((str(folder / name), expected))

    for i, name in enumerate(variants(Image.new("L", (28, 28)), Image.new("L", (28, 28)))):
        gray = (
            drawing(digits[i]) if name in BINARY else drawing(digits[i], "photo").convert("L")
        )  # binary: pen on paper
        odd = variants(gray, drawing(digits[i + 1]))
        add(name, odd[name], int(labels[i]))
    for i, name in enumerate(odd_names(), start=20):
        add(name, encode(drawing(digits[i]), "PNG"), int(labels[i]))
    for name, (data, fragment) in unreadable(drawing(digits[0])).items():
        add(name, data, fragment)
    add("blank.png", encode(Image.new("L", (280, 280), 255), "PNG"), None)
    add("locked.png", encode(drawing(digits[0]), "PNG"), "cannot read (Permission denied)")
    (folder / "locked.png").chmod(0)  # root reads it all the same: the test also refuses it by monkeypatching
    add("memory.png", encode(drawing(digits[0]), "PNG"), "unexpected MemoryError")
    (folder / "a_folder.png").mkdir()
    os.mkfifo(folder / "pipe.png")
    (folder / "dangling.png").symlink_to(folder / "gone.png")
    files += [
        (str(folder / "a_folder.png"), "is a directory"),
        (str(folder / "pipe.png"), "not a regular file"),
        (str(folder / "dangling.png"), "no such file"),
        (str(folder / "missing.png"), "no such file"),
    ]
    return files


def strict_json(line):
    """One JSON object, refusing NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


@pytest.fixture
def refusing_open(monkeypatch):
    """Reading locked.png fails as without permission (tests run as root), memory.png as out of memory."""

    def fake_open(path, *args, **kwargs):
        errors = {"locked.png": PermissionError(13, "Permission denied", str(path)), "memory.png": MemoryError()}
        if os.path.basename(path) in errors:
            raise errors[os.path.basename(path)]
        return open(path, *args, **kwargs)

    monkeypatch.setattr(images_module, "open", fake_open, raising=False)


def test_predict_gives_every_file_one_strict_json_row(matrix, refusing_open, capsys):
    assert len(matrix) >= 25
    assert main(["predict", *[path for path, _ in matrix], "--json"]) == 1
    out, err = capsys.readouterr()
    rows = [strict_json(line) for line in out.splitlines()]
    assert [r["file"] for r in rows] == [display_name(path) for path, _ in matrix]
    assert "Traceback" not in err
    for row, (path, expected) in zip(rows, matrix):
        if isinstance(expected, str):
            assert row["digit"] is None and expected in row["error"] and row["file"] not in row["error"], row
        else:
            assert row["digit"] == expected and row["error"] is None, row


def test_predict_prints_one_line_per_file_naming_it_once(matrix, refusing_open, capsys):
    assert main(["predict", *[path for path, _ in matrix]]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(matrix)
    for line, (path, expected) in zip(lines, matrix):
        name = display_name(path)
        assert line.startswith(f"{name}: ") and line.count(name) == 1
        assert (f": error: {expected}" in line) if isinstance(expected, str) else ("error" not in line)


def test_predict_survives_any_exception_and_model_output(images, monkeypatch, capsys):
    from digitlib.models.predictor import Prediction, Predictor

    def broken(self, image):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(Predictor, "predict", broken)
    assert main(["predict", str(images["plain"]), "--json"]) == 1
    assert strict_json(capsys.readouterr().out)["error"] == "unexpected RuntimeError: something nobody expected"
    monkeypatch.setattr(Predictor, "predict", lambda self, image: Prediction(3, np.full(10, np.nan), None))
    assert main(["predict", str(images["plain"]), "--json"]) == 1
    assert "not finite" in strict_json(capsys.readouterr().out)["error"]


def test_predict_in_a_process_over_every_odd_file_prints_no_traceback(matrix):
    result = subprocess.run(
        [sys.executable, "-m", "digitlib", "predict", "--json", *[os.fsencode(p) for p, _ in matrix]],
        capture_output=True,
        cwd="/",
        timeout=600,
    )
    rows = [strict_json(line) for line in result.stdout.decode("ascii").splitlines()]
    assert result.returncode == 1 and len(rows) == len(matrix) and result.stderr == b""


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
    out = " ".join(run("train", "--help").stdout.split())  # argparse wraps lines at the terminal's width
    assert "(default: 0)" in out and "--dry-run" in out and "(default: None)" not in out


def test_bad_training_arguments_are_one_line(tmp_path):
    result = run("train", "--model", "fast", "--epochs", "0", "--out", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr and "at least 1" in result.stderr
    assert_one_line_error(
        run("train", "--model", "fast", "--device", "tpu", "--dry-run", "--out", str(tmp_path)), "not available"
    )


def folder_hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in Path(folder).rglob("*") if p.is_file()}


def test_a_dry_run_without_out_leaves_the_weights_folder_untouched(tmp_path, monkeypatch, capsys):
    shipped = folder_hashes(ROOT / "weights")
    monkeypatch.setattr(cli, "TRAINED_DIR", tmp_path)  # the default --out, should a dry run still write there
    assert cli.main(["train", "--model", "fast", "--dry-run", "--device", "cpu"]) == 0
    assert "temporary folder" in capsys.readouterr().out
    assert cli.main(["train", "--model", "fast", "--dry-run", "--device", "cpu", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["weights"] is None  # nothing kept
    assert list(tmp_path.iterdir()) == []
    assert folder_hashes(ROOT / "weights") == shipped


def test_two_trainings_into_one_folder_at_once_leave_a_valid_pair(tmp_path):
    command = [
        sys.executable,
        "-m",
        "digitlib",
        "train",
        "--model",
        "compact",
        "--dry-run",
        "--json",
        "--device",
        "cpu",
        "--out",
        str(tmp_path),
    ]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/", env=ENV)
        for _ in range(2)
    ]
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


def test_json_output_is_strict_json_or_a_one_line_error(tmp_path):
    copy_of_fast(tmp_path, test_accuracy=float("nan"))
    result = run("models", "--json", "--weights", str(tmp_path))
    if result.returncode == 0:
        strict_json(result.stdout)
    else:
        assert_one_line_error(result, "JSON")


def test_plain_output_words_confidence_as_the_dashboard_does():
    sure, unsure = [0.0] * 10, [0.05] * 10
    sure[7], sure[1] = 0.99999, 0.00001
    unsure[1], unsure[7], unsure[0] = 0.4, 0.25, 0.0
    assert cli.plain({"file": "a.png", "digit": 7, "probabilities": sure, "error": None}) == "a.png: 7 (99.9% sure)"
    assert (
        cli.plain({"file": "b.png", "digit": 1, "probabilities": unsure, "error": None})
        == "b.png: 1 (not sure: 1 or 7?)"
    )
    digits = [{"digit": 7, "probabilities": sure}, {"digit": 1, "probabilities": unsure}]
    row = {"file": "c.png", "number": "71", "digits": digits, "error": None}
    assert cli.plain(row) == "c.png: 71 (7 99.9% sure; 1 not sure: 1 or 7?)"
