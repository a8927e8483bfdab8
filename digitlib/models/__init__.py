"""Models: the zoo of architectures, recipes and variants (`zoo`), their weights on disk (`weights`), inference with
PyTorch (`infer`, `predictor`) and export to ONNX (`onnx_export`).

May import: digitlib.data, digitlib.reading and the top-level modules.
"""
