"""Data: MNIST (`mnist`), generated handwriting in real-world conditions (`synth`) and the demo hand (`hand`),
training-time augmentation (`augment`), and the corrections visitors save (`corrections`).

May import: digitlib.reading and the top-level modules.
"""
