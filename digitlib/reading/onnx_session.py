"""Open an ONNX model file with ONNX Runtime on the CPU, with one clear error for a file that is missing or bad."""

import tempfile

import onnxruntime as ort

from digitlib.errors import DigitlibError

# Where ONNX Runtime looks for a model's external data files: an empty folder, so that a model loaded from bytes
# cannot read files beside the working directory (unset, it resolves their names there).
EXTERNAL_DATA_FOLDER = "session.model_external_initializers_file_folder_path"


def open_session(path, hint, threads=1, what="ONNX model"):
    """An ONNX Runtime session on the CPU for the model file at path; DigitlibError, ending with hint (how to make the
    file again), if it is missing, unreadable, corrupt or not self-contained (its tensors in other files)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DigitlibError(f"no {what} {path}; {hint}") from None
    except OSError as e:
        raise DigitlibError(f"cannot read {what} {path} ({e.strerror or e}); {hint}") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 4  # fatal only: a bad file is reported once, by the DigitlibError below
    with tempfile.TemporaryDirectory(prefix="digitlib-no-external-data-") as empty:
        options.add_session_config_entry(EXTERNAL_DATA_FOLDER, empty)
        try:
            return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 -- ONNX Runtime's own exception types for a file it cannot read
            if "external data" in str(e).lower():
                raise DigitlibError(f"{what} {path} keeps tensors in other files, which are not read; {hint}") from None
            raise DigitlibError(f"corrupt {what} {path}; {hint}") from None
