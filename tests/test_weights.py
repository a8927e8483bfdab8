import json

import pytest
import torch

from digitlib import weights
from digitlib.data import data_checksum, load_mnist
from digitlib.errors import DigitlibError
from digitlib.models import VARIANTS, build
from digitlib.train import evaluate

TARGETS = {"best": 0.996, "fast": 0.99, "fc": 0.983}  # every other variant: 0.98


def tiny_model():
    v = VARIANTS["compact"]
    return build(v.arch, v.args).eval(), dict(arch=v.arch, args=v.args)


def test_round_trip_gives_the_same_outputs(tmp_path):
    model, meta = tiny_model()
    weights.save(model, "tiny", meta, tmp_path)
    loaded = weights.load("tiny", tmp_path)
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(model(x), loaded(x))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.safetensors"]  # no temporary files


@pytest.fixture
def saved(tmp_path):
    model, meta = tiny_model()
    weights.save(model, "tiny", meta, tmp_path)
    return tmp_path


def test_missing_weights_name_the_file_and_the_retrain_command(saved):
    (saved / "tiny.safetensors").unlink()
    with pytest.raises(DigitlibError, match=r"no weights file .*tiny.safetensors.*python -m digitlib train --model tiny"):
        weights.load("tiny", saved)
    with pytest.raises(DigitlibError, match=r"no weights metadata .*nothing.json"):
        weights.load("nothing", saved)


def test_corrupt_weights_file_is_a_clear_error(saved):
    path = saved / "tiny.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DigitlibError, match=r"corrupt weights file .*tiny.safetensors"):
        weights.load("tiny", saved)


def test_corrupt_metadata_is_a_clear_error(saved):
    (saved / "tiny.json").write_text("{not json")
    with pytest.raises(DigitlibError, match=r"corrupt weights metadata .*tiny.json"):
        weights.load("tiny", saved)


def test_weights_that_do_not_match_their_architecture_are_a_clear_error(saved):
    meta = json.loads((saved / "tiny.json").read_text())
    meta["args"]["stages"] = [[16], [16], [32]]
    (saved / "tiny.json").write_text(json.dumps(meta))
    with pytest.raises(DigitlibError, match="does not match the architecture"):
        weights.load("tiny", saved)


@pytest.mark.parametrize("name", VARIANTS)
def test_shipped_weights_rebuild_from_their_files_and_reach_their_target(name):
    meta = weights.read_meta(name)
    model = weights.load(name)
    x, y = load_mnist("test")
    _, accuracy = evaluate(model, x, y)
    assert accuracy == pytest.approx(meta["test_accuracy"], abs=1e-9)  # the stored figure is the real one
    assert accuracy >= TARGETS.get(name, 0.98)
    assert meta["data_md5"] == data_checksum() and not meta["smoke"]
    assert len(meta["history"]) == meta["epochs"]
