"""The sequence reader that reads digits that touch (digitlib.reading.sequence): shipped, current, and trainable."""

import numpy as np
import pytest
import torch

from digitlib.constants import SHA256_KEY
from digitlib.errors import DigitlibError
from digitlib.reading import sequence
from digitlib.reading.onnx_model import file_sha256
from digitlib.training import sequence as sequence_train


def test_the_shipped_onnx_is_made_from_the_shipped_weights_and_computes_the_same():
    folder = sequence.SEQUENCE_DIR
    metadata = sequence.session(folder).get_modelmeta().custom_metadata_map
    assert metadata[SHA256_KEY] == file_sha256(folder / "sequence.safetensors"), (
        "weights/sequence/sequence.onnx is stale: python -m digitlib train-sequence --out weights/sequence"
    )
    model = sequence_train.load(folder)
    for strip, _ in sequence_train.make("test", 8, seed=1):
        x, steps, _, _ = sequence_train.batch([(strip, "")])
        with torch.no_grad():
            expected = model(x).softmax(1)[0].T.numpy()
        assert np.allclose(sequence.step_probs(strip, folder), expected, atol=1e-4)


def test_the_shipped_reader_reads_strips_of_mnist_test_digits():
    made = sequence_train.make("test", 200, seed=3)
    right = sum(tuple(r.digit for r in sequence.decode(sequence.step_probs(s))) == c for s, c in made)
    assert right >= 0.9 * len(made), f"{right} of {len(made)} strips read right"


def test_training_writes_a_reader_that_onnx_runtime_runs(tmp_path):
    meta = sequence_train.train(tmp_path, samples=128, epochs=1, progress=False)
    assert {p.name for p in tmp_path.iterdir()} == {"sequence.safetensors", "sequence.json", "sequence.onnx"}
    assert 0 <= meta["val_strips_read_right"] <= 1
    strip = np.zeros((sequence.HEIGHT, 50), np.float32)
    assert sequence.step_probs(strip, tmp_path).shape == (52 // sequence.STRIDE, sequence.BLANK + 1)


def test_a_missing_or_corrupt_reader_is_one_clear_error(tmp_path):
    with pytest.raises(DigitlibError, match="no sequence reader .*train-sequence"):
        sequence.session(tmp_path)
    (tmp_path / "sequence.onnx").write_bytes(b"not a model")
    with pytest.raises(DigitlibError, match="corrupt sequence reader"):
        sequence.session(tmp_path)


def test_greedy_decoding_merges_runs_drops_blanks_and_keeps_each_digits_surest_step():
    blank = sequence.BLANK
    steps = np.full((9, blank + 1), 0.01)
    for t, c, p in [(0, blank, 0.9), (1, 3, 0.6), (2, 3, 0.8), (3, blank, 0.9), (4, 3, 0.7), (5, 7, 0.5), (6, 7, 0.9)]:
        steps[t, c] = p
    steps[7:, blank] = 0.9
    read = sequence.decode(steps)
    assert [r.digit for r in read] == [3, 3, 7]
    assert [r.column for r in read] == [sequence.STRIDE * t + sequence.STRIDE / 2 for t in (2, 4, 6)]
    assert all(abs(r.probs.sum() - 1) < 1e-9 and r.probs.argmax() == r.digit for r in read)
