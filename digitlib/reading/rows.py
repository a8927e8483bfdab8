"""What one image reads as, as a JSON-ready row: `predict --json` prints it and the HTTP API (digitlib.apps.api)
returns it.

Torch-free: any digitlib.reading.reader.Reader reads (the PyTorch Predictor or the ONNX Runtime OnnxPredictor).
"""

import math

from digitlib.errors import DigitlibError
from digitlib.reading.images import data_url, display_name, open_image, png
from digitlib.reading.rejection import NO_DIGIT


def rounded(probs):
    """Probabilities as a JSON list rounded to 6 places; DigitlibError if any is not a finite number."""
    if not all(map(math.isfinite, probs)):
        raise DigitlibError("the model's probabilities are not finite numbers")
    return [round(float(q), 6) for q in probs]


def input_url(x):
    """The 28x28 input a model saw (x [1, 28, 28] in [0, 1]) as a PNG data URL; None without one."""
    return None if x is None else data_url(png(x[0]))


def digit_entry(p, inputs):
    """One digit's part of a row: the digit (None when it is not one), its probabilities, why it has none."""
    entry = {"digit": p.digit, "probabilities": None if p.probs is None else rounded(p.probs), "reason": p.reason}
    return {**entry, "input": input_url(p.x)} if inputs else entry


def read(reader, source, name, number=False, inputs=False):
    """The row for one image (path, bytes, array or PIL image): the digit (or, with number=True, the number) read and
    its probabilities; with inputs=True also each 28x28 input seen, as a PNG data URL. DigitlibError if unreadable.

    "reason" says why no digit (or number) is read: "no digit" (no ink), "not a digit" (ink that is none, or a number
    with such a piece); it is None when one is read. The probabilities of a rejected reading are still given."""
    image = open_image(source, name)
    if number:
        digits = [digit_entry(p, inputs) for p in reader.predict_number(image)]
        reasons = [d["reason"] for d in digits if d["reason"]]
        reason = NO_DIGIT if not digits else reasons[0] if reasons else None
        number = None if reason else "".join(str(d["digit"]) for d in digits)
        return {"file": name, "number": number, "digits": digits, "reason": reason, "error": None}
    entry = digit_entry(reader.predict(image), inputs)
    return {"file": name, "digit": entry.pop("digit"), **entry, "error": None}


def problem(error, name):
    """An error as the one line a row carries: a DigitlibError's message without the image's name in front."""
    text = str(error) if isinstance(error, DigitlibError) else f"unexpected {type(error).__name__}: {error}"
    return text.removeprefix(f"{name}: ").encode("utf-8", "backslashreplace").decode()  # no lone surrogates


def predict_row(reader, file, number=False, name=None):
    """One output row for one file: what read() returns, or the error that stopped it.

    name: what to call the file (default: its path, printable)."""
    name = name or display_name(file)
    try:
        return read(reader, file, name, number)
    except Exception as e:  # whatever goes wrong with one file is its row; the others are still read
        empty = {"number": None, "digits": []} if number else {"digit": None, "probabilities": None}
        return {"file": name, **empty, "reason": None, "error": problem(e, name)}
