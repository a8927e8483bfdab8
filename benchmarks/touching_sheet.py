"""Sheets of the generated numbers whose digits touch, for a person to read blind: every number the reader gets wrong
in benchmarks/written_numbers.py's touching groups, as many it gets right, shuffled and numbered, the key in a file
of its own. It tells how many of the reader's misses a person can read at all: a miss no person reads is one the
generator made illegible, not one a better reader would fix. The numbers read right are the control: they show how
well the person reads this handwriting.

.venv/bin/python benchmarks/touching_sheet.py OUT          writes OUT/sheet-NN.png and OUT/key.json (do not open it)
then write OUT/read.txt, a line "N number" for each picture N ("N ?" where there is no number to read), and
.venv/bin/python benchmarks/touching_sheet.py OUT --score
"""

import argparse
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from written_numbers import GROUPS, number_read  # benchmarks/, this script's folder

from digitlib.data import synth
from digitlib.models.predictor import Predictor

PER_SHEET = 10
HEIGHT = 90  # each number is shown this many pixels high


def sheets(out, model):
    reader, mnist = Predictor(model), synth.mnist_digits("test")
    missed, right = [], []
    for group, (seeds, sources) in GROUPS.items():
        for seed, n in seeds:
            for image, number in synth.numbers(n, seed=seed, mnist=mnist, touching=True, sources=sources):
                read = number_read(reader, image)
                (right if read == number else missed).append((image, {"number": number, "read": read, "group": group}))
    rng = random.Random(0)
    shown = missed + rng.sample(right, min(len(missed), len(right)))
    rng.shuffle(shown)
    out.mkdir(parents=True, exist_ok=True)
    for first in range(0, len(shown), PER_SHEET):
        pictures = [Image.fromarray(np.asarray(image)).convert("L") for image, _ in shown[first : first + PER_SHEET]]
        pictures = [p.resize((round(p.width * HEIGHT / p.height), HEIGHT)) for p in pictures]
        sheet = Image.new("L", (40 + max(p.width for p in pictures), (HEIGHT + 8) * len(pictures)), 255)
        for i, picture in enumerate(pictures):
            ImageDraw.Draw(sheet).text((4, i * (HEIGHT + 8) + HEIGHT // 2), str(first + i), fill=0)
            sheet.paste(picture, (40, i * (HEIGHT + 8)))
        sheet.save(out / f"sheet-{first // PER_SHEET:02d}.png")
    (out / "key.json").write_text(json.dumps([key for _, key in shown], indent=1))
    print(f"{len(shown)} numbers on {-(-len(shown) // PER_SHEET)} sheets in {out}: {len(missed)} the reader missed")


def score(out):
    key = json.loads((out / "key.json").read_text())
    read = dict(line.split()[:2] for line in (out / "read.txt").read_text().splitlines() if line.strip())
    for kind, wanted in (("read right by the reader", True), ("missed by the reader", False)):
        shown = [i for i, k in enumerate(key) if (k["read"] == k["number"]) == wanted]
        person = sum(read.get(str(i)) == key[i]["number"] for i in shown)
        print(f"{kind}: the person read {person} of {len(shown)}")
        if not wanted:
            for group in GROUPS:
                ours = [i for i in shown if key[i]["group"] == group]
                both = sum(read.get(str(i)) == key[i]["number"] for i in ours)
                print(f"  {group}: {both} of {len(ours)} misses read by the person")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="best")
    parser.add_argument("--score", action="store_true", help="score OUT/read.txt against the key")
    args = parser.parse_args()
    score(args.out) if args.score else sheets(args.out, args.model)


if __name__ == "__main__":
    main()
