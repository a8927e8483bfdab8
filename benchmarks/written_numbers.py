"""Written numbers read with a model: generated numbers of 2 to 5 digits (digitlib.data.synth.numbers: digits from
stroke templates, handwriting fonts and MNIST test digits), touching and written apart, counted read right in full.

The README's table: seeds 1, 2026 and 7 (40, 30 and 40 numbers) are the ones the cutter was tuned on, seed 99 (60) is
held out.

.venv/bin/python benchmarks/written_numbers.py [--model best] [--weights DIR]
"""

import argparse

from digitlib.constants import WEIGHTS_DIR
from digitlib.data import synth
from digitlib.models.predictor import Predictor

GROUPS = {"tuned on": [(1, 40), (2026, 30), (7, 40)], "held out": [(99, 60)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="best")
    parser.add_argument("--weights", default=WEIGHTS_DIR, help="folder of the weights (default: weights/)")
    args = parser.parse_args()
    if not synth.fonts():
        raise SystemExit("no handwriting font installed: make fonts")
    reader, mnist = Predictor(args.model, args.weights), synth.mnist_digits("test")
    for touching in (True, False):
        for group, seeds in GROUPS.items():
            right = total = 0
            for seed, n in seeds:
                for image, number in synth.numbers(n, seed=seed, mnist=mnist, touching=touching):
                    right += "".join(str(p.digit) for p in reader.predict_number(image)) == number
                    total += 1
            print(f"{'touching' if touching else 'apart'}, {group}: {right} of {total} read right", flush=True)


if __name__ == "__main__":
    main()
