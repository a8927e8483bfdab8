"""The cutter that finds where touching digits meet (digitlib.reading.cutter): shipped, current, and trainable."""

import numpy as np
import pytest
import torch

from digitlib.constants import SHA256_KEY
from digitlib.errors import DigitlibError
from digitlib.reading import cutter as strips
from digitlib.reading.onnx_model import file_sha256
from digitlib.training import cutter as strip_train


def test_the_shipped_cutter_onnx_is_made_from_the_shipped_weights_and_computes_the_same():
    folder = strips.CUTTER_DIR
    metadata = strips.session(folder).get_modelmeta().custom_metadata_map
    assert metadata[SHA256_KEY] == file_sha256(folder / "cutter.safetensors"), (
        "weights/cutter/cutter.onnx is stale: python -m digitlib train-cutter --out weights/cutter"
    )
    model = strip_train.load(folder)
    made, _ = strip_train.make("test", 8, seed=1)
    for strip in made:
        x, _ = strip_train.batch([strip], [[]])
        with torch.no_grad():
            expected = torch.sigmoid(model(x))[0, 0].numpy()
        assert np.allclose(strips.boundary(strip, folder), expected, atol=1e-4)


def test_training_writes_a_cutter_that_onnx_runtime_runs(tmp_path):
    meta = strip_train.train(tmp_path, samples=128, epochs=1, progress=False)
    assert {p.name for p in tmp_path.iterdir()} == {"cutter.safetensors", "cutter.json", "cutter.onnx"}
    assert 0 <= meta["held_out_strips_cut_right"] <= 1
    strip = np.zeros((strips.HEIGHT, 50), np.float32)
    assert strips.boundary(strip, tmp_path).shape == (52 // strips.STRIDE,)


def test_a_missing_or_corrupt_cutter_is_one_clear_error(tmp_path):
    with pytest.raises(DigitlibError, match="no cutter model .*train-cutter"):
        strips.session(tmp_path)
    (tmp_path / "cutter.onnx").write_bytes(b"not a model")
    with pytest.raises(DigitlibError, match="corrupt cutter model"):
        strips.session(tmp_path)


def test_boundaries_are_the_peaks_far_enough_apart():
    p = np.zeros(40)
    p[[5, 6, 20, 21]] = [0.9, 0.8, 0.6, 0.7]
    p[30] = 0.4  # below BOUNDARY
    assert strips.peaks(p) == [5, 21]
