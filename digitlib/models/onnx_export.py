"""Export a model's weights to ONNX: NAME.safetensors + NAME.json -> NAME.onnx, run by digitlib.reading.onnx_model."""

import io
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from digitlib.constants import IMAGE_SIZE, SHA256_KEY, WEIGHTS_DIR
from digitlib.errors import DigitlibError
from digitlib.models import weights
from digitlib.models.zoo import conv_outputs
from digitlib.reading.onnx_model import (
    INPUT,
    LOGITS,
    MAPS,
    NAME_KEY,
    TEMPERATURE_KEY,
    file_sha256,
    onnx_path,
)

OPSET = 17
TOLERANCE = 1e-4  # largest difference in logits between ONNX Runtime and PyTorch that an export may show


class WithMaps(nn.Module):
    """A model that also returns its feature maps: x [N, 1, 28, 28] -> logits [N, 10], then each [N, C, H, W]."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.layers = conv_outputs(model)  # as digitlib.studies.explain.feature_maps hooks

    def forward(self, x):
        maps = []
        hooks = [layer.register_forward_hook(lambda mod, inp, out: maps.append(out)) for layer in self.layers]
        try:
            logits = self.model(x)
        finally:
            for h in hooks:
                h.remove()
        return (logits, *maps)


def onnx_bytes(model, x, inputs, outputs, dynamic_axes, metadata):
    """The checked ONNX bytes of an eval-mode model traced on the example input x, with metadata (a str: str dict)."""
    f = io.BytesIO()
    # The TorchScript-based exporter (dynamo=False): deprecated in torch 2.9 but here in the pinned 2.14, and unlike
    # the torch.export-based one it needs no onnxscript.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(legacy TorchScript-based ONNX export|will be removed)")
        torch.onnx.export(
            model.eval(),
            (x,),
            f,
            input_names=inputs,
            output_names=outputs,
            opset_version=OPSET,
            dynamic_axes=dynamic_axes,
            dynamo=False,
        )
    proto = onnx.load_from_string(f.getvalue())
    onnx.helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def to_onnx(model, metadata):
    """The ONNX bytes of an eval-mode model with its feature maps as extra outputs, a dynamic batch and metadata."""
    model = WithMaps(model)
    outputs = [LOGITS] + [f"{MAPS}{i}" for i in range(len(model.layers))]
    x = torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE)
    return onnx_bytes(model, x, [INPUT], outputs, {n: {0: "batch"} for n in [INPUT, *outputs]}, metadata)


def difference(model, data):
    """The largest difference between the logits of model (PyTorch) and of data (its ONNX bytes) on random inputs."""
    x = torch.rand(8, 1, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = model(x).numpy()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return float(np.abs(session.run([LOGITS], {INPUT: x.numpy()})[0] - expected).max())


def export(name, folder=WEIGHTS_DIR):
    """Write NAME.onnx beside NAME.safetensors and NAME.json in folder, checked against PyTorch; return its path."""
    tensors_path, _ = weights.paths(name, folder)
    # hashed before loading, so that weights replaced meanwhile leave an .onnx that reads as stale, never one that lies
    sha256 = file_sha256(tensors_path) if tensors_path.is_file() else ""
    temperature = float(weights.read_meta(name, folder)["temperature"])
    model = weights.load(name, folder)
    data = to_onnx(model, {NAME_KEY: name, SHA256_KEY: sha256, TEMPERATURE_KEY: repr(temperature)})
    gap = difference(model, data)
    if not gap <= TOLERANCE:
        raise DigitlibError(f"{name}: ONNX Runtime's logits differ from PyTorch's by {gap:.2g}; not exported")
    path = onnx_path(name, folder)
    with weights.lock(name, folder):
        weights.write_atomic(path, data)
    return path
