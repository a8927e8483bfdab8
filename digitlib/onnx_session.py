"""Open an ONNX model file with ONNX Runtime on the CPU, with one clear error for a file that is missing or bad."""

import onnxruntime as ort

from digitlib.errors import DigitlibError


def open_session(path, hint, threads=1, what="ONNX model"):
    """An ONNX Runtime session on the CPU for the model file at path; DigitlibError, ending with hint (how to make the
    file again), if it is missing, unreadable or corrupt."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DigitlibError(f"no {what} {path}; {hint}") from None
    except OSError as e:
        raise DigitlibError(f"cannot read {what} {path} ({e.strerror or e}); {hint}") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 -- ONNX Runtime's own exception types for a file it cannot read
        raise DigitlibError(f"corrupt {what} {path}; {hint}") from None
