"""Reading: from a picture (a file, bytes, an array or strokes) to digits and numbers, with ONNX Runtime.

What the dashboard and the HTTP API run, so nothing here imports torch (an import-linter contract in pyproject.toml):
decoding images (`images`), preprocessing to MNIST's 28x28 (`preprocess`, `resample`, `strokes`), the cutter of
touching digits (`cutter`), probabilities and their wording (`answers`), the shared `Reader`, the rows the CLI and
the API print (`rows`), ONNX models (`onnx_model`, `onnx_session`) and occlusion in numpy (`explain_np`).
May import: digitlib's top-level modules (constants, errors, files).
"""
