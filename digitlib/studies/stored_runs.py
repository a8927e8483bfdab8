"""What the training notebooks show: the stored record of a shipped model or a sweep, retrained only on request.

DIGITLIB_SMOKE=1 (set by CI) makes these cells also run the training code, briefly, on a tiny subset into a
temporary folder that is then deleted; the stored record is still what they return, so outputs stay the same.
"""

import os
import tempfile

from digitlib.constants import WEIGHTS_DIR
from digitlib.models import weights
from digitlib.training import sweeps
from digitlib.training import train as _train  # the argument `train` shadows the module

SMOKE_ENV = "DIGITLIB_SMOKE"
SMOKE_RUN = dict(epochs=2, limit=512, max_batches=3, progress=False)


def smoke():
    """Whether DIGITLIB_SMOKE=1 is set."""
    return os.environ.get(SMOKE_ENV) == "1"


def run_or_load(run, load, name, train=False):
    """load(name); with train=True, run(name) for real instead; under DIGITLIB_SMOKE=1, run briefly first."""
    if train:
        return run(name)
    if smoke():
        with tempfile.TemporaryDirectory() as tmp:
            run(name, out=tmp, **SMOKE_RUN)
    return load(name)


def train_and_export(name, out=WEIGHTS_DIR, **options):
    """Train variant NAME (digitlib.training.train.train_variant) and write its ONNX file beside its weights, so that
    the readers built on ONNX Runtime (notebooks 08 to 10, the dashboard, the API) read the retrained model; its
    metadata."""
    from digitlib.models import onnx_export  # here: the exporter loads torch.onnx, which loading needs not

    meta = _train.train_variant(name, out=out, **options)
    onnx_export.export(name, out)
    return meta


def train_or_load(name, train=False):
    """The metadata (with per-epoch history) of shipped model NAME; with train=True it is first retrained for real,
    and exported to ONNX."""
    return run_or_load(train_and_export, weights.read_meta, name, train)


def sweep_or_load(name, train=False):
    """The stored results of a sweep; with train=True the sweep is first run again for real."""
    return run_or_load(sweeps.run_sweep, sweeps.load_sweep, name, train)


def study_or_load(train=False):
    """The stored results of the handwriting study (digitlib.training.personal.run_study); with train=True it is run
    again."""
    from digitlib.training import (
        personal,  # imported here: it loads the ONNX exporter, which the other notebooks do not need
    )

    return run_or_load(personal.run_study, personal.load_study, personal.STUDY, train)
