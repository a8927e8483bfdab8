"""How far the digits of written_numbers.py's touching numbers are pushed into each other, and how many are read right
at each depth. Issue 31 asks the sequence reader to learn "from well apart to pushed 30% into each other"; the
generator (synth.written_number, touching=True) draws each pair of neighbours' skeletons from 0 to 6% of the number's
height into each other, and with the pen's width on both sides the ink goes deeper, most of all into a narrow digit
such as a 1. Depth here is measured on the ink, as the sequence reader's training measures its gaps: the columns two
neighbours share, over the narrower one's width. A number's depth is its deepest pair; "touch" means the two digits'
ink meets (pixels of both, each a pixel wider).

.venv/bin/python benchmarks/touching_depth.py [--model best]
"""

import argparse
import contextlib

import numpy as np
from scipy import ndimage
from written_numbers import GROUPS, number_read  # benchmarks/, this script's folder

from digitlib.data import synth
from digitlib.models.predictor import Predictor

BINS = ((-np.inf, 0.15), (0.15, 0.3), (0.3, 0.5), (0.5, np.inf))  # depth, in the narrower digit's width


@contextlib.contextmanager
def layers_drawn():
    """The ink layers synth.ink_layer draws while inside, one per digit of a written number, in a list."""
    drawn, draw = [], synth.ink_layer

    def record(*args, **kwargs):
        drawn.append(draw(*args, **kwargs) > 0.5)
        return drawn[-1] * 1.0

    synth.ink_layer = record
    try:
        yield drawn
    finally:
        synth.ink_layer = draw


def pairs(layers):
    """(depth, touch) for each pair of neighbours' ink masks, left to right."""
    out = []
    for a, b in zip(layers, layers[1:]):
        ca, cb = np.flatnonzero(a.any(0)), np.flatnonzero(b.any(0))
        shared = ca[-1] - cb[0] + 1
        depth = shared / min(len(ca), len(cb))
        out.append((depth, bool((ndimage.binary_dilation(a) & ndimage.binary_dilation(b)).any())))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="best")
    args = parser.parse_args()
    reader, mnist = Predictor(args.model), synth.mnist_digits("test")
    rows = []  # (group, deepest pair, pairs touching, read right)
    for group, (seeds, sources) in GROUPS.items():
        for seed, n in seeds:
            with layers_drawn() as drawn:
                made = synth.numbers(n, seed=seed, mnist=mnist, touching=True, sources=sources)
            assert len(drawn) == sum(len(number) for _, number in made), "a layer per digit"
            at = 0
            for image, number in made:
                found = pairs(drawn[at : at + len(number)])
                at += len(number)
                right = number_read(reader, image) == number
                rows.append((group, max(d for d, _ in found), sum(t for _, t in found), right))
    for group in (*GROUPS, "all"):
        mine = [r for r in rows if group in ("all", r[0])]
        parts = [f"{group}: {sum(r[3] for r in mine)} of {len(mine)}"]
        untouched = [r for r in mine if not r[2]]
        parts.append(f"no pair touching {sum(r[3] for r in untouched)} of {len(untouched)}")
        for low, high in BINS:
            binned = [r for r in mine if low < r[1] <= high]
            parts.append(f"deepest {low:.0%} to {high:.0%}: {sum(r[3] for r in binned)} of {len(binned)}")
        within = [r for r in mine if r[1] <= 0.3]
        parts.append(f"within 30%: {sum(r[3] for r in within)} of {len(within)}")
        print("; ".join(parts).replace("-inf%", "-").replace("inf%", "-"), flush=True)


if __name__ == "__main__":
    main()
