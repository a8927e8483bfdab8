"""Training: the one loop (`train.fit`) and `train_variant`, device and precision (`device`), temperature
calibration (`calibration`), sweeps (`sweeps`), fine-tuning a personal model (`personal`) and the sequence
reader's training (`sequence`).

May import: digitlib.models, digitlib.data, digitlib.reading and the top-level modules.
"""
