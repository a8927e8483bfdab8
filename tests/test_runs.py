from pathlib import Path

from digitlib.constants import WEIGHTS_DIR
from digitlib.models import onnx_export, weights
from digitlib.studies import stored_runs as runs
from digitlib.training import sweeps, train
from digitlib.training.sweeps import load_sweep


def test_notebook_training_cells_load_the_shipped_metadata_unless_told_to_train_and_export(monkeypatch):
    trained, exported = [], []
    monkeypatch.setattr(train, "train_variant", lambda name, **kw: trained.append((name, kw)) or {"retrained": name})
    monkeypatch.setattr(onnx_export, "export", lambda name, folder: exported.append((name, folder)))
    monkeypatch.delenv(runs.SMOKE_ENV, raising=False)
    assert runs.train_or_load("fast") == weights.read_meta("fast") and not trained and not exported
    assert runs.train_or_load("fast", train=True) == {"retrained": "fast"}
    assert trained == [("fast", {"out": WEIGHTS_DIR})] and exported == [("fast", WEIGHTS_DIR)]


def test_smoke_setting_trains_briefly_and_exports_into_a_temporary_folder(monkeypatch):
    monkeypatch.setenv(runs.SMOKE_ENV, "1")
    seen, exported = [], []
    real, real_export = train.train_variant, onnx_export.export
    monkeypatch.setattr(train, "train_variant", lambda name, **kw: seen.append(kw) or real(name, **kw))
    monkeypatch.setattr(onnx_export, "export", lambda name, folder: exported.append(real_export(name, folder)))
    assert runs.train_or_load("compact") == weights.read_meta("compact")
    (kw,) = seen
    assert kw["limit"] <= 1000 and kw["max_batches"] <= 5 and "weights" not in str(kw["out"])
    assert [path.parent for path in exported] == [Path(kw["out"])]
    assert not Path(kw["out"]).exists()  # deleted afterwards


def test_smoke_setting_trains_into_a_temporary_folder_and_returns_the_stored_results(monkeypatch):
    calls = []
    monkeypatch.setenv(runs.SMOKE_ENV, "1")
    monkeypatch.setattr(sweeps, "run_sweep", lambda name, **kw: calls.append((name, kw)))
    assert runs.sweep_or_load("augment") == load_sweep("augment")
    ((name, kw),) = calls
    assert name == "augment" and kw["limit"] and kw["max_batches"] and "weights" not in str(kw["out"])
