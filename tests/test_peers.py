import importlib.util

import torch

from digitlib.constants import PACKAGE_DIR

spec = importlib.util.spec_from_file_location("peers", PACKAGE_DIR.parent / "benchmarks" / "peers.py")
peers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peers)


def test_the_peer_benchmark_times_both_recipes_and_prints_their_ratio(capsys):
    medians = peers.compare(range(1), max_batches=2, limit=500)
    assert set(medians) == {"fast", "peer"} and all(s > 0 for s in medians.values())
    out = capsys.readouterr().out
    assert "fast seed 0" in out and "peer seed 0" in out and "peer / fast:" in out


def test_the_peer_net_maps_images_to_ten_logits_through_800_features():
    model = peers.peer_model()
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert model[7].in_features == 800
