import json
from dataclasses import replace

import pytest
import torch

from digitlib.errors import DigitlibError
from digitlib.models.weights import load
from digitlib.models.zoo import variant
from digitlib.training.sweeps import AUGMENTED, SWEEPS, earlier_run, load_sweep, run_sweep
from digitlib.training.train import train_variant


def test_a_short_sweep_writes_its_results_and_reads_them_back(tmp_path):
    results = run_sweep("augment", out=tmp_path, epochs=1, limit=256, max_batches=2, progress=False)
    assert [r["label"] for r in results] == ["none", "shift", "affine"]
    assert all(len(r["history"]) == 1 and 0 <= r["val_accuracy_distorted"] <= 1 for r in results)
    assert load_sweep("augment", tmp_path) == results
    assert not list(tmp_path.glob("*.tmp"))


def test_every_stored_sweep_matches_its_definition():
    for name, trials in SWEEPS.items():
        stored = load_sweep(name)
        defined = [dict(group=t.group, label=t.label, args=t.args, recipe=t.recipe.to_dict()) for t in trials()]
        assert [{k: r[k] for k in ("group", "label", "args", "recipe")} for r in stored] == json.loads(
            json.dumps(defined)
        )


def test_missing_or_unknown_sweeps_say_how_to_make_them(tmp_path):
    with pytest.raises(DigitlibError, match="no sweep results .*run_sweep"):
        load_sweep("fc", tmp_path)
    (tmp_path / "fc.json").write_text("{not json")
    with pytest.raises(DigitlibError, match="corrupt sweep results"):
        load_sweep("fc", tmp_path)
    with pytest.raises(DigitlibError, match="unknown sweep 'nope'"):
        run_sweep("nope")


def test_a_trial_that_is_a_shipped_variants_exact_run_reuses_it(tmp_path):
    none = next(t for t in SWEEPS["augment"]() if t.same_as)
    assert none.same_as == AUGMENTED
    assert none.recipe == variant(AUGMENTED).recipe and none.args == variant(AUGMENTED).args
    train_variant(AUGMENTED, out=tmp_path, limit=256, max_batches=2, progress=False)
    assert earlier_run(none, none.recipe, 0, tmp_path) is None  # a smoke run is never reused
    meta_path = tmp_path / f"{AUGMENTED}.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "smoke": False}))  # as a full run would have written it
    model, history = earlier_run(none, none.recipe, 0, tmp_path)
    shipped = load(AUGMENTED, tmp_path)
    assert history == meta["history"] and all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), shipped.state_dict().values())
    )
    assert earlier_run(none, none.recipe, 1, tmp_path) is None  # another seed
    assert earlier_run(none, replace(none.recipe, epochs=2), 0, tmp_path) is None  # another recipe
    assert earlier_run(none, none.recipe, 0, tmp_path / "nowhere") is None
