"""Reading whole numbers, for notebook 10: cut-then-classify (each piece of ink that paper separates read as one
digit) against the reader the CLI, the API and the dashboard use (digitlib.reading.preprocess.number_parts: each
piece read whole by the sequence reader, one it reads as one digit handed to the model)."""

import numpy as np

from digitlib.data import synth
from digitlib.errors import DigitlibError
from digitlib.reading import sequence
from digitlib.reading.preprocess import find_ink, split_digits, strip_ink, to_mnist
from digitlib.reading.resample import ink_box


def paper_cut(reader, image):
    """What cut-then-classify reads in a picture: each piece of ink that paper separates, read as one digit."""
    ink, mask = find_ink(image)
    if not mask.any():
        return ""
    xs = np.stack([to_mnist(ink, piece) for piece in split_digits(mask)])
    return "".join(str(d) for d in reader.probs(xs).argmax(1))


def whole(reader, image):
    """What the reader reads in a picture as a number ("?" for a piece that is not a digit; "" when refused)."""
    try:
        return "".join("?" if p.digit is None else str(p.digit) for p in reader.predict_number(image))
    except DigitlibError:
        return ""


def compare(reader, n=60, seed=99):
    """Rows {numbers, cut-then-classify, sequence reader}: how many of n generated numbers (digits from stroke
    templates, handwriting fonts and MNIST test digits; digitlib.data.synth.numbers) each way reads right in full."""
    mnist = synth.mnist_digits("test")
    rows = []
    for touching in (True, False):
        made = synth.numbers(n, seed=seed, mnist=mnist, touching=touching)
        rows.append(
            {
                "numbers": f"digits {'touching' if touching else 'apart'}",
                "cut-then-classify": sum(paper_cut(reader, image) == number for image, number in made),
                "read whole where they touch": sum(whole(reader, image) == number for image, number in made),
                "of": len(made),
            }
        )
    return rows


def widest_piece(image):
    """The strip the sequence reader reads for a picture's widest piece of ink, and its step probabilities
    [steps, 12]: what the dashboard's marks and the reading come from."""
    ink, mask = find_ink(image)
    piece = max(split_digits(mask), key=lambda m: ink_box(m)[3] - ink_box(m)[2])  # right - left
    strip = sequence.strip_input(strip_ink(ink, piece))
    return strip, sequence.step_probs(strip)
