from pathlib import Path

from digitlib.models import weights
from digitlib.studies import stored_runs as runs
from digitlib.training import sweeps, train
from digitlib.training.sweeps import load_sweep


def test_notebook_training_cells_load_the_shipped_metadata_unless_told_to_train(monkeypatch):
    trained = []
    monkeypatch.setattr(train, "train_variant", lambda name, **kw: trained.append((name, kw)) or {"retrained": name})
    monkeypatch.delenv(runs.SMOKE_ENV, raising=False)
    assert runs.train_or_load("fast") == weights.read_meta("fast") and not trained
    assert runs.train_or_load("fast", train=True) == {"retrained": "fast"} and trained == [("fast", {})]


def test_smoke_setting_trains_briefly_into_a_temporary_folder(monkeypatch):
    monkeypatch.setenv(runs.SMOKE_ENV, "1")
    seen = []
    real = train.train_variant
    monkeypatch.setattr(train, "train_variant", lambda name, **kw: seen.append(kw) or real(name, **kw))
    assert runs.train_or_load("compact") == weights.read_meta("compact")
    (kw,) = seen
    assert kw["limit"] <= 1000 and kw["max_batches"] <= 5 and "weights" not in str(kw["out"])
    assert not Path(kw["out"]).exists()  # deleted afterwards


def test_smoke_setting_trains_into_a_temporary_folder_and_returns_the_stored_results(monkeypatch):
    calls = []
    monkeypatch.setenv(runs.SMOKE_ENV, "1")
    monkeypatch.setattr(sweeps, "run_sweep", lambda name, **kw: calls.append((name, kw)))
    assert runs.sweep_or_load("augment") == load_sweep("augment")
    ((name, kw),) = calls
    assert name == "augment" and kw["limit"] and kw["max_batches"] and "weights" not in str(kw["out"])
