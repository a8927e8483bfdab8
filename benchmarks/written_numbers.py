"""Written numbers read with a model: generated numbers of 2 to 5 digits (digitlib.data.synth.numbers), touching and
written apart, counted read right in full; and single digits per source, read as a digit (predict) and as a number
(--number).

Seeds 1, 2026 and 7 (40, 30 and 40 numbers) are the ones the number reader was first measured on, seed 99 (60)
is held out; their digits come from stroke templates, handwriting fonts and MNIST test digits. The held-out sources
take theirs from handwriting fonts no network trains on (synth.HELD_OUT_DIGIT_FONTS) and MNIST test digits: seeds 31
and 32 (100 numbers each) were measured while choosing how to read a number, seed 33 (100) only after. A digit
count refused (more than MAX_DIGITS) or a reading that took too long counts as wrong.

Numbers with a letter among their digits (seed 4200, 100 each way; letters from stroke templates and the handwriting
fonts trained on, then from the held-out fonts) count as read right when they read as no number, as do pictures of
each kind of non-digit (digitlib.data.negatives, seed 4000, 100 each).

.venv/bin/python benchmarks/written_numbers.py [--model best] [--weights DIR] [--singles 300]
"""

import argparse

import numpy as np

from digitlib.constants import WEIGHTS_DIR
from digitlib.data import negatives, synth
from digitlib.errors import DigitlibError
from digitlib.models.predictor import Predictor

SOURCES = ("templates", "fonts", "mnist")
HELD_OUT_SOURCES = ("held-out fonts", "mnist")
GROUPS = {  # name: [(seed, numbers)], sources
    "tuned on": ([(1, 40), (2026, 30), (7, 40)], SOURCES),
    "held out": ([(99, 60)], SOURCES),
    "held-out sources": ([(31, 100), (32, 100)], HELD_OUT_SOURCES),
    "held-out sources, seed 33": ([(33, 100)], HELD_OUT_SOURCES),
}


def number_read(reader, image):
    try:
        return "".join(str(p.digit) for p in reader.predict_number(image))
    except DigitlibError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="best")
    parser.add_argument("--weights", default=WEIGHTS_DIR, help="folder of the weights (default: weights/)")
    parser.add_argument("--singles", type=int, default=300, help="single digits per source")
    args = parser.parse_args()
    if not synth.fonts() or not synth.fonts(synth.HELD_OUT_DIGIT_FONTS):
        raise SystemExit("handwriting fonts missing: make fonts")
    reader, mnist = Predictor(args.model, args.weights), synth.mnist_digits("test")
    for touching in (True, False):
        for group, (seeds, sources) in GROUPS.items():
            right = total = 0
            for seed, n in seeds:
                for image, number in synth.numbers(n, seed=seed, mnist=mnist, touching=touching, sources=sources):
                    right += number_read(reader, image) == number
                    total += 1
            print(f"{'touching' if touching else 'apart'}, {group}: {right} of {total} read right", flush=True)
    for kinds in (["letters", "font letters"], ["held-out font letters"]):
        for touching in (True, False):
            rng = np.random.default_rng(4200)
            made = [negatives.number_with_letter(rng, mnist, kinds, touching=touching) for _ in range(100)]
            read = [number_read(reader, image) for image in made]
            none = sum(number is None or "None" in number for number in read)
            way = "touching" if touching else "apart"
            print(f"a letter ({' or '.join(kinds)}) among digits {way}: {none} of 100 read as no number", flush=True)
    for kind in ("letters", "font letters", "held-out font letters", "symbols", "doodles", "scribbles"):
        read = [number_read(reader, image) for image, _, _ in negatives.pictures(kind, 100, seed=4000)]
        none = sum(number is None or not any(c.isdigit() for c in number) for number in read)
        print(f"{kind}: {none} of 100 read as no number", flush=True)
    for source in (*SOURCES, "held-out fonts"):
        singles = synth.numbers(args.singles, seed=5, mnist=mnist, digits=(1, 1), sources=(source,))
        as_digit = sum(str(reader.predict(image).digit) == label for image, label in singles)
        as_number = sum(number_read(reader, image) == label for image, label in singles)
        print(f"single digits, {source}: {as_digit} of {len(singles)} as a digit, {as_number} as a number", flush=True)


if __name__ == "__main__":
    main()
