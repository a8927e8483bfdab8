"""The shipped .onnx files: ONNX Runtime gives PyTorch's probabilities and feature maps, fresh, without torch."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from drawings import drawing

from digitlib.apps.cli import main
from digitlib.constants import ROOT
from digitlib.errors import DigitlibError
from digitlib.models import weights
from digitlib.models.predictor import Predictor
from digitlib.reading.onnx_model import OnnxModel, export_hint, onnx_path, staleness
from digitlib.reading.preprocess import to_mnist_input
from digitlib.studies.explain import feature_maps

SHIPPED = weights.trained()
STYLES = ("plain", "thick", "small", "photo", "shadow")


@pytest.fixture(scope="module")
def inputs(mnist_test):
    """200 MNIST test digits, then drawings of five others through the app's preprocessing: [205, 1, 28, 28]."""
    images, _ = mnist_test
    x = torch.from_numpy(images[:200]).float().div(255)[:, None]  # as digitlib.data.mnist.load_mnist scales them
    drawn = [to_mnist_input(drawing(images[200 + i], style)) for i, style in enumerate(STYLES)]
    return torch.cat([x, torch.from_numpy(np.stack(drawn))])


def copy_model(name, folder):
    for path in [*weights.paths(name), onnx_path(name)]:
        shutil.copy(path, folder)


def test_every_shipped_model_has_an_onnx_file():
    assert SHIPPED and [name for name in SHIPPED if not onnx_path(name).is_file()] == []


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_onnx_file_was_made_from_the_shipped_weights(name):
    problem = staleness(name, OnnxModel(name, check=False).metadata)
    assert problem is None, f"{onnx_path(name)} is stale ({problem}); {export_hint(name)}"


@pytest.mark.parametrize("name", SHIPPED)
def test_onnx_runtime_gives_pytorchs_probabilities(name, inputs):
    expected = Predictor(name).probs(inputs)
    probs = OnnxModel(name).probs(inputs.numpy())
    assert probs.shape == expected.shape
    np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-5)
    assert (probs.argmax(1) == expected.argmax(1)).all()


@pytest.mark.parametrize("name", SHIPPED)
def test_onnx_runtime_gives_the_feature_maps_explain_shows(name, inputs):
    x = inputs[-len(STYLES) - 10 :]  # ten MNIST digits and the drawings
    maps = OnnxModel(name).feature_maps(x.numpy())
    model = weights.load_cached(name)
    for i in range(len(x)):
        expected = feature_maps(model, x[i])
        assert len(maps) == len(expected)
        for got, want in zip(maps, expected):
            np.testing.assert_allclose(got[i], want.numpy(), rtol=0, atol=1e-5 * max(1.0, float(want.abs().max())))


def test_a_batch_of_any_size_runs_and_a_wrong_shape_is_refused():
    model = OnnxModel("fast")
    assert [model.probs(np.zeros((n, 1, 28, 28), np.float32)).shape for n in (1, 3, 40)] == [(1, 10), (3, 10), (40, 10)]
    assert [m.shape[0] for m in model.feature_maps(np.zeros((40, 1, 28, 28), np.float32))] == [40] * 4  # run in chunks
    with pytest.raises(ValueError, match=r"\[N, 1, 28, 28\]"):
        model.probs(np.zeros((1, 28, 28), np.float32))


def test_stale_onnx_is_refused_and_export_makes_it_fresh(tmp_path, inputs):
    copy_model("compact", tmp_path)
    model = weights.load("compact", tmp_path)
    with torch.no_grad():
        model.head[-1].bias += 1.0  # other weights, same architecture
    weights.save(model, "compact", weights.read_meta("compact", tmp_path), tmp_path)
    with pytest.raises(DigitlibError, match=f"stale.*python -m digitlib export --model compact --weights {tmp_path}"):
        OnnxModel("compact", tmp_path)

    assert main(["export", "--model", "compact", "--weights", str(tmp_path)]) == 0
    probs = OnnxModel("compact", tmp_path).probs(inputs[:20].numpy())
    np.testing.assert_allclose(probs, Predictor("compact", tmp_path).probs(inputs[:20]), rtol=0, atol=1e-5)


def test_a_new_temperature_makes_the_onnx_file_stale(tmp_path):
    copy_model("fast", tmp_path)
    meta = weights.read_meta("fast", tmp_path)
    weights.save_json(weights.paths("fast", tmp_path)[1], {**meta, "temperature": meta["temperature"] * 2})
    with pytest.raises(DigitlibError, match="temperature"):
        OnnxModel("fast", tmp_path)


def test_a_missing_onnx_file_names_the_command_that_writes_it(tmp_path):
    with pytest.raises(DigitlibError, match="no ONNX model .*python -m digitlib export --model best"):
        OnnxModel("best", tmp_path)


def test_export_without_weights_is_a_one_line_error(tmp_path, capsys):
    assert main(["export", "--weights", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("error: no model has weights in")


def test_the_onnx_runtime_reads_digits_without_importing_torch():
    code = (
        "import sys, numpy as np; from digitlib.reading.onnx_model import OnnxModel; "
        "p = OnnxModel('best').probs(np.zeros((1, 1, 28, 28), np.float32)); "
        "assert p.shape == (1, 10), p.shape; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env=env, timeout=120)
    assert result.returncode == 0, result.stderr


def external_tensor(name, location):
    """A float tensor [4] whose bytes ONNX would read from the file `location`."""
    from onnx import TensorProto

    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[4], data_location=TensorProto.EXTERNAL)
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        tensor.external_data.add(key=key, value=value)
    return tensor


@pytest.mark.parametrize("where", ["initializer", "constant"])
def test_an_onnx_model_with_tensors_in_other_files_is_refused_and_reads_none(tmp_path, monkeypatch, where):
    from onnx import TensorProto, helper

    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.bin").write_bytes(b"SECRET" * 3)
    output = helper.make_tensor_value_info("W", TensorProto.FLOAT, [4])
    if where == "initializer":  # the model's output is the tensor itself
        graph = helper.make_graph([], "g", [], [output], [external_tensor("W", "secret.bin")])
    else:
        node = helper.make_node("Constant", [], ["W"], value=external_tensor("value", "secret.bin"))
        graph = helper.make_graph([node], "g", [], [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (tmp_path / "evil.onnx").write_bytes(model.SerializeToString())
    with pytest.raises(DigitlibError, match=r"evil.onnx keeps tensors in other files, which are not read"):
        OnnxModel("evil", tmp_path)


@pytest.mark.parametrize("temperature", ["nan", "inf", "-1.0", "0", "warm"])
def test_an_onnx_model_with_a_temperature_that_cannot_divide_logits_is_refused(tmp_path, temperature):
    import onnx

    model = onnx.load(onnx_path("fast"))
    (entry,) = [p for p in model.metadata_props if p.key == "temperature"]
    entry.value = temperature
    onnx.save(model, onnx_path("fast", tmp_path))  # alone: no NAME.json beside it to be stale against
    with pytest.raises(DigitlibError, match=rf"fast.onnx: its temperature .*{temperature}.* is not a finite positive"):
        OnnxModel("fast", tmp_path)
