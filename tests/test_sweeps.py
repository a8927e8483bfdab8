import json

import pytest

from digitlib.errors import DigitlibError
from digitlib.sweeps import SWEEPS, load_sweep, run_sweep


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
