"""The one exception type whose message is meant for a person: the CLI prints it as one line."""

import re

# an absolute path of two or more parts (not a URL's): shown to a visitor as its last part
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^/\s'\"]+/)+([^/\s'\";,)]*)")


class DigitlibError(Exception):
    """A problem the user can fix (bad image, missing data or weights, unknown model); the message says how."""


def without_paths(message):
    """A message for a visitor of a server: each absolute path shortened to its last part (the folders are the
    server's own business), e.g. "corrupt ONNX model /srv/app/weights/best.onnx" -> "... best.onnx"."""
    return ABSOLUTE_PATH.sub(lambda m: m.group(1) or ".", message)
