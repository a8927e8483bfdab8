import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from digitlib.data.mnist import data_checksum, load_mnist
from digitlib.errors import DigitlibError
from digitlib.models import weights
from digitlib.models.infer import evaluate
from digitlib.models.zoo import VARIANTS, build

TARGETS = {"best": 0.996, "fast": 0.99, "fc": 0.983}  # every other variant: 0.98


def tiny_model():
    v = VARIANTS["compact"]
    return build(v.arch, v.args).eval(), dict(arch=v.arch, args=v.args, temperature=1.0)


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
    with pytest.raises(
        DigitlibError, match=r"no weights file .*tiny.safetensors.*python -m digitlib train --model tiny"
    ):
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


def test_a_crash_between_writing_the_weights_and_their_metadata_is_caught_on_load(saved, monkeypatch):
    other, meta = tiny_model()  # same architecture, other weights: the old .json would load it without a word

    def crash(*args):
        raise OSError("killed")

    monkeypatch.setattr(weights, "save_json", crash)
    with pytest.raises(OSError):
        weights.save(other, "tiny", meta, saved)
    monkeypatch.undo()
    with pytest.raises(DigitlibError, match=r"tiny.safetensors.*tiny.json.*python -m digitlib train --model tiny"):
        weights.load("tiny", saved)


def test_two_saves_into_one_folder_at_once_leave_a_matching_pair(tmp_path):
    models = {tag: tiny_model() for tag in "ab"}

    def save_often(tag):
        model, meta = models[tag]
        for _ in range(15):
            weights.save(model, "tiny", {**meta, "tag": tag}, tmp_path)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(save_often, models))  # re-raises a failed save
    loaded, tag = weights.load("tiny", tmp_path), weights.read_meta("tiny", tmp_path)["tag"]
    expected = models[tag][0].state_dict()
    assert all(torch.equal(loaded.state_dict()[k], expected[k]) for k in expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.safetensors"]


def test_saved_files_are_readable_by_everyone(saved):
    assert {oct(p.stat().st_mode & 0o777) for p in saved.iterdir()} == {oct(0o644)}


def test_metadata_holds_the_weights_hash_and_loads_without_it_as_shipped(saved):
    meta = json.loads((saved / "tiny.json").read_text())
    assert len(meta.pop("safetensors_sha256")) == 64  # the shipped weights/*.json have none
    (saved / "tiny.json").write_text(json.dumps(meta))
    weights.load("tiny", saved)


@pytest.mark.parametrize(
    "change",
    [
        dict(temperature=0),
        dict(temperature=-1.0),
        dict(temperature=float("nan")),
        dict(temperature=float("inf")),
        dict(temperature="1.0"),
        dict(temperature=True),
        dict(temperature=None),
        dict(arch="ResNet"),
        dict(args=[8, 16]),
        dict(args={"stages": [[8]], "width": 3}),
        dict(args={"stages": "wide"}),
    ],
)
def test_bad_metadata_is_one_error_naming_the_file_and_the_retrain_command(saved, change):
    meta = json.loads((saved / "tiny.json").read_text())
    (saved / "tiny.json").write_text(json.dumps({**meta, **change}))
    for read in (weights.read_meta, weights.load):
        with pytest.raises(DigitlibError, match=r"corrupt weights metadata .*tiny.json.*digitlib train --model tiny"):
            read("tiny", saved)


def test_metadata_of_a_huge_model_is_refused_before_any_of_it_is_allocated(saved):
    import resource

    meta = json.loads((saved / "tiny.json").read_text())
    (saved / "tiny.json").write_text(json.dumps({**meta, "arch": "MLP", "args": {"hidden": [400_000, 400_000]}}))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DigitlibError, match=r"tiny.json .*parameters, over the limit of 10,000,000"):
        weights.read_meta("tiny", saved)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # kB: not the 640 GB it asks for


def test_metadata_too_large_or_too_deep_to_parse_is_refused(saved):
    (saved / "tiny.json").write_bytes(b" " * (weights.MAX_META_BYTES + 1))
    with pytest.raises(DigitlibError, match=r"tiny.json \(1,000,001 bytes, over the limit of 1,000,000\)"):
        weights.read_meta("tiny", saved)
    (saved / "tiny.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DigitlibError, match=r"corrupt weights metadata .*tiny.json \(not JSON\)"):
        weights.read_meta("tiny", saved)


@pytest.mark.parametrize("key", ["arch", "args", "temperature"])
def test_metadata_missing_a_required_key_is_a_clear_error(saved, key):
    meta = json.loads((saved / "tiny.json").read_text())
    del meta[key]
    (saved / "tiny.json").write_text(json.dumps(meta))
    with pytest.raises(DigitlibError, match=rf"corrupt weights metadata .*tiny.json.*{key}"):
        weights.read_meta("tiny", saved)
