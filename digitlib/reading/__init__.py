"""Reading: from a picture (a file, bytes, an array or strokes) to digits and numbers, with ONNX Runtime.

What the dashboard and the HTTP API run, so nothing here imports torch (an import-linter contract in pyproject.toml):
decoding images (`images`), preprocessing to MNIST's 28x28 (`preprocess`, `resample`, `strokes`), the sequence
reader of digits that touch (`sequence`), probabilities and their wording (`answers`), the shared `Reader`, the rows
the CLI and the API print (`rows`), ONNX models (`onnx_model`, `onnx_session`), occlusion in numpy (`explain_np`)
and the rejector of what is not a digit (`rejection`).
May import: digitlib's top-level modules (constants, errors, files).
"""
