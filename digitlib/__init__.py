"""digitlib: handwritten-digit recognition with PyTorch, shared by the notebooks, the CLI and the dashboard."""

__version__ = "0.1.0"

from digitlib.errors import DigitlibError  # noqa: E402,F401
