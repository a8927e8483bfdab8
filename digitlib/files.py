"""Files written whole or not at all, without torch: what the weights, the sweeps and the corrections share."""

import json
import os
import tempfile
from pathlib import Path


def write_atomic(path, data):
    """Write bytes to path through a unique temporary file beside it: readers see the old file or the new, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_json(path, obj):
    """Write obj as JSON to path atomically."""
    write_atomic(path, (json.dumps(obj, indent=2) + "\n").encode())


def read_json(path):
    return json.loads(Path(path).read_text())
