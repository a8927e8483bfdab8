"""Run a shipped model with ONNX Runtime, without torch: NAME.onnx, written by digitlib.models.onnx_export.

NAME.onnx takes pixels x [N, 1, 28, 28] like the PyTorch model and outputs its logits [N, 10] and the activation
after each conv layer (maps0, maps1, ...: [N, C, H, W], the feature maps digitlib.studies.explain shows); its metadata
names the NAME.safetensors it was made from (sha256) and the temperature stored beside it.
"""

import hashlib
from pathlib import Path

import numpy as np

from digitlib.constants import DEFAULT_MODEL, IMAGE_SIZE, SHA256_KEY, WEIGHTS_DIR
from digitlib.errors import DigitlibError
from digitlib.files import read_json
from digitlib.reading import answers
from digitlib.reading.explain_np import occlusion
from digitlib.reading.onnx_session import open_session
from digitlib.reading.reader import Reader

INPUT = "x"
LOGITS = "logits"
MAPS = "maps"  # conv activations are the outputs maps0, maps1, ... in the order of the layers
# metadata_props of NAME.onnx
NAME_KEY = "model"
TEMPERATURE_KEY = "temperature"  # NAME.json's, for probabilities
# Images per ONNX Runtime call. Its memory holds on to the largest batch's activations for the process's life: the
# dashboard's occlusion map (65 images) left each visitor's kernel about 35 MiB bigger with `best` in one call than in
# chunks of 16, and about 9 MiB bigger in chunks of 16 than of 4 (12 MiB against 3), which are no slower (0.24 ms an
# image either way, over 2,000).
CHUNK = 4


def onnx_path(name, folder=WEIGHTS_DIR):
    return Path(folder) / f"{name}.onnx"


def exported(folder=WEIGHTS_DIR):
    """Names of the models with a NAME.onnx in folder, sorted."""
    return sorted(path.stem for path in Path(folder).glob("*.onnx"))


def export_hint(name, folder=WEIGHTS_DIR):
    out = "" if Path(folder).resolve() == WEIGHTS_DIR.resolve() else f" --weights {folder}"
    return f"regenerate it with: python -m digitlib export --model {name}{out}"


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stored_meta(name, folder=WEIGHTS_DIR):
    """NAME.json in folder as stored, unchecked (digitlib.models.weights.read_meta checks it, with torch); {} if it is
    missing or not a JSON object."""
    try:
        meta = read_json(Path(folder) / f"{name}.json")
    except (OSError, ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}


def model_row(name, meta):
    """What `models --json` and GET /models say of a model, from its NAME.json (meta)."""
    return dict(
        name=name,
        kind=meta.get("kind"),
        params=meta.get("params"),
        test_accuracy=meta.get("test_accuracy"),
        default=name == DEFAULT_MODEL,
        description=meta.get("description"),
    )


def staleness(name, metadata, folder=WEIGHTS_DIR):
    """Why an ONNX model with this metadata no longer matches NAME.safetensors or NAME.json in folder, or None.

    None too where they are absent: a folder may ship the .onnx alone.
    """
    tensors_path = Path(folder) / f"{name}.safetensors"
    if tensors_path.is_file() and file_sha256(tensors_path) != metadata.get(SHA256_KEY):
        return f"made from another {tensors_path.name}"
    try:
        temperature = float(stored_meta(name, folder)["temperature"])
    except (ValueError, KeyError, TypeError):
        return None  # no NAME.json, or a broken one, which is reported by whatever reads it
    if repr(temperature) != metadata.get(TEMPERATURE_KEY):
        return f"its temperature is not the {temperature} in {name}.json"
    return None


class OnnxModel:
    """A shipped model run by ONNX Runtime on the CPU, on numpy inputs [N, 1, 28, 28] (pixels in [0, 1]).

    threads: ONNX Runtime's intra-op threads; 1 suits a kernel per visitor. check: refuse a NAME.onnx that no longer
    matches the NAME.safetensors and NAME.json beside it.
    """

    def __init__(self, name, folder=WEIGHTS_DIR, threads=1, check=True):
        path, hint = onnx_path(name, folder), export_hint(name, folder)
        self.session = open_session(path, hint, threads)
        self.metadata = self.session.get_modelmeta().custom_metadata_map
        problem = staleness(name, self.metadata, folder) if check else None
        if problem:
            raise DigitlibError(f"ONNX model {path} is stale ({problem}); {hint}")
        self.name = name
        try:
            self.temperature = float(self.metadata.get(TEMPERATURE_KEY, 1.0))
        except ValueError:
            self.temperature = self.metadata[TEMPERATURE_KEY]
        if problem := answers.temperature_problem(self.temperature):
            raise DigitlibError(f"ONNX model {path}: its {problem}; {hint}")
        self.map_names = [o.name for o in self.session.get_outputs() if o.name != LOGITS]

    def _run(self, outputs, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.shape[1:] != (1, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected inputs [N, 1, {IMAGE_SIZE}, {IMAGE_SIZE}], got {list(x.shape)}")
        parts = [self.session.run(outputs, {INPUT: x[i : i + CHUNK]}) for i in range(0, max(len(x), 1), CHUNK)]
        return [np.concatenate(part) for part in zip(*parts)]

    def logits(self, x):
        """Logits [N, 10] for inputs x [N, 1, 28, 28]."""
        return self._run([LOGITS], x)[0]

    def probs(self, x):
        """Class probabilities [N, 10], temperature-scaled as digitlib.models.predictor.Predictor's."""
        return answers.probs(self.logits(x), self.temperature)

    def run(self, x):
        """Logits [N, 10] and the conv activations (a list of [N, C, H, W]; empty for an MLP) in one pass."""
        logits, *maps = self._run([LOGITS, *self.map_names], x)
        return logits, maps

    def feature_maps(self, x):
        """The activation after each conv layer for inputs x [N, 1, 28, 28]: a list of [N, C, H, W] arrays."""
        return self.run(x)[1]


class OnnxPredictor(Reader):
    """Reads digits like digitlib.models.predictor.Predictor (same preprocessing, temperature and cutting of numbers;
    see digitlib.reading.reader) with NAME.onnx run by ONNX Runtime, and shows what decided a reading: without torch."""

    def __init__(self, model=DEFAULT_MODEL, weights_dir=WEIGHTS_DIR, threads=1):
        self.name, self.weights_dir = model, weights_dir
        self.model = OnnxModel(model, weights_dir, threads=threads)
        self.temperature = self.model.temperature

    def probs(self, x):
        """Class probabilities [N, 10] for inputs [N, 1, 28, 28]."""
        return self.model.probs(x)

    def feature_maps(self, x):
        """The activation after each conv layer for one input x [1, 28, 28]: a list of [C, H, W] arrays."""
        return [m[0] for m in self.model.feature_maps(x[None])]

    def occlusion(self, x):
        """Occlusion sensitivity [28, 28] in [0, 1] of the reading of x [1, 28, 28], as
        digitlib.studies.explain.occlusion."""
        return occlusion(self.model.logits, x)
