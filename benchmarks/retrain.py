"""Notebook 03's full retrain, timed: the notebook run top to bottom with TRAIN = True, as a learner would run it.

It retrains every CNN and the augmentation sweep and overwrites their files in weights/ (restore them with
`git checkout weights`). Prints the wall time and each variant's training time and accuracy. Compare two commits by
running this in a worktree of each, in turns.

.venv/bin/python benchmarks/retrain.py
"""

import os
import time
from datetime import datetime

import nbformat
from nbclient import NotebookClient

from digitlib.constants import ROOT
from digitlib.models import weights
from digitlib.training.device import cpu_name
from digitlib.training.sweeps import load_sweep

NOTEBOOK = ROOT / "notebooks" / "03_train_cnn.ipynb"

if __name__ == "__main__":
    nb = nbformat.read(NOTEBOOK, as_version=4)
    setup = next(c for c in nb.cells if "TRAIN = False" in c.source)
    setup.source = setup.source.replace("TRAIN = False", "TRAIN = True", 1)
    print(f"{cpu_name()}, load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}", flush=True)
    start = time.perf_counter()
    NotebookClient(nb, timeout=None, resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    wall = time.perf_counter() - start
    for cell in nb.cells:  # nbclient records when each cell started and finished
        t = cell.metadata.get("execution", {})
        if "shell.execute_reply" in t:
            took = datetime.fromisoformat(t["shell.execute_reply"]) - datetime.fromisoformat(t["iopub.execute_input"])
            print(f"{took.total_seconds():6.1f}s  {cell.source.splitlines()[0][:70]}")
    for name in ["cnn1", "cnn2", "cnn3", "compact", "small", "fast", "best"]:
        m = weights.read_meta(name)
        print(f"{name}: {m['train_seconds']:.1f}s, validation {m['val_accuracy']:.2%}, test {m['test_accuracy']:.2%}")
    for r in load_sweep("augment"):
        print(
            f"augment {r['label']}: {r['train_seconds']:.1f}s, validation {r['val_accuracy']:.2%}, "
            f"distorted {r['val_accuracy_distorted']:.2%}"
        )
    print(f"notebook 03 with TRAIN = True: {wall:.0f}s wall (load average {os.getloadavg()[0]:.2f})")
