"""Telling digits from non-digits: the approaches compared, and what the shipped rejector costs real digits.

Approaches (a score per input; higher: less like a digit): best's max softmax probability (Hendrycks and Gimpel's
baseline), its max logit and its energy (-logsumexp of the logits), and the rejector (digitlib.reading.rejection). Per
kind of negative (generated with seeds that neither training nor validation used; letters in fonts never trained on
among them): AUROC against MNIST's test digits, the false-positive rate at 95% of those digits kept, and the fraction
rejected at each approach's threshold chosen on the validation sets (keeping 99.9% of their digits). Pictures without
ink read as "no digit" before any model looks: they count as rejected, and the AUROC is over those with ink.

Then the real-world digit sets of the tests, read by best before (the top digit) and after (no digit where the
rejector says "not a digit"): every synth condition, the drawing styles of tests/drawings.py, the demo hand, numbers.

.venv/bin/python benchmarks/not_a_digit.py [--n 200]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.metrics import roc_auc_score

from digitlib.data import negatives, synth
from digitlib.data.hand import demo_hand
from digitlib.data.mnist import load_mnist
from digitlib.reading.onnx_model import OnnxModel, OnnxPredictor
from digitlib.reading.rejection import rejector
from digitlib.training.rejector import KEEP, validation_digits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from drawings import drawing  # noqa: E402  (the drawing styles the tests use)

SEED = 3000  # the generated sets here: neither training (1000) nor validation (2000) drew these
STYLES = ("plain", "inverted", "transparent", "thin", "thick", "small", "photo", "shadow", "lined")
TESTS_SEED, TESTS_N = 2026, 60  # tests/test_real_input.py's sets


def scores(x, best):
    """Per approach, scores [N] for inputs x [N, 1, 28, 28]: higher is less like a digit."""
    logits = best.logits(x).astype(np.float64) if len(x) else np.zeros((0, 10))
    return {
        "max softmax (best)": -softmax(logits / best.temperature, axis=1).max(1),
        "max logit (best)": -logits.max(1),
        "energy (best)": -logsumexp(logits, axis=1),
        "rejector": rejector().not_digit_probs(x) if len(x) else np.zeros(0),
    }


def fpr_at_95(digit_scores, other_scores):
    """The fraction of non-digits accepted at the threshold that keeps 95% of the digits."""
    return float((other_scores <= np.quantile(digit_scores, 0.95)).mean())


def threshold(val_scores):
    """The score that keeps KEEP of the validation digits (the rejector's own is in rejector.json)."""
    return float(np.quantile(val_scores, KEEP))


def compare(n, best):
    """Print a Markdown table: per kind and approach, AUROC, FPR at 95% kept, rejected at the validation threshold."""
    x_test = load_mnist("test")[0].numpy()
    x_val = np.concatenate([load_mnist("val")[0].numpy(), validation_digits()])
    digits, val = scores(x_test, best), scores(x_val, best)
    limits = {a: threshold(s) for a, s in val.items()}
    limits["rejector"] = rejector().threshold
    print("| kind | approach | AUROC | FPR at 95% of digits kept | rejected at the validation threshold |")
    print("| --- | --- | --- | --- | --- |")
    totals = {a: [0, 0] for a in digits}
    for i, kind in enumerate(negatives.KINDS + negatives.HELD_OUT_KINDS):
        x, found = negatives.negative_inputs(kind, n, SEED + i)
        for approach, s in scores(x, best).items():
            auroc = roc_auc_score(np.r_[np.zeros(len(x_test)), np.ones(len(s))], np.r_[digits[approach], s])
            rejected = (~found).sum() + (s > limits[approach]).sum()
            if kind in negatives.KINDS:
                totals[approach][0] += rejected
                totals[approach][1] += len(found)
            print(
                f"| {kind} | {approach} | {auroc:.4f} | {fpr_at_95(digits[approach], s):.1%} | "
                f"{rejected / len(found):.1%} of {len(found)} |"
            )
    for approach, (rejected, total) in totals.items():
        false = (digits[approach] > limits[approach]).mean()
        print(f"| all six kinds | {approach} | | | {rejected / total:.1%} of {total}; MNIST test digits {false:.2%} |")


def right(reader, images, labels):
    """(read right by the digit model alone, read right and not rejected) over images."""
    before = after = 0
    for image, label in zip(images, labels):
        p = reader.predict(image)
        top = None if p.probs is None else int(p.probs.argmax())
        before += top == label
        after += p.digit == label
    return before, after


def real_world(best_reader):
    """Print before/after accuracy per real-world set of the tests."""
    mnist = synth.mnist_digits("test")
    print("| set | digits | read right before | after |")
    print("| --- | --- | --- | --- |")

    def row(name, before, after, count):
        print(f"| {name} | {count} | {before / count:.1%} | {after / count:.1%} |")

    for condition in synth.CONDITIONS:
        samples = synth.samples(condition, TESTS_N, seed=TESTS_SEED, mnist=mnist)
        row(condition, *right(best_reader, [s[0] for s in samples], [s[1] for s in samples]), TESTS_N)
    digits, labels = mnist
    for style in STYLES:
        images = [drawing(d, style) for d in digits[:200]]
        row(f"drawing style {style}", *right(best_reader, images, labels[:200]), 200)
    hand = demo_hand()
    xs = np.stack([s.x for s in hand])
    top = best_reader.probs(xs).argmax(1)
    ok = top == np.array([s.label for s in hand])
    row("demo hand", ok.sum(), (ok & ~rejector().rejects(xs)).sum(), len(hand))
    for touching in (False, True):
        numbers = synth.numbers(30, seed=TESTS_SEED, mnist=mnist, touching=touching)
        before = after = 0
        for image, number in numbers:
            ps = best_reader.predict_number(image)
            before += "".join(str(int(p.probs.argmax())) for p in ps) == number
            after += "".join(str(p.digit) for p in ps) == number
        row(f"numbers, touching={touching}", before, after, len(numbers))
    like = negatives.digit_like(100, seed=SEED)
    row(
        "digit-like letters (O, l, I, S, Z, B, G, q, 0 slashed, 7 crossed)",
        *right(best_reader, *zip(*[s[:2] for s in like])),
        100,
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200, help="pictures per kind of negative (default 200)")
    p.add_argument("--skip-real-world", action="store_true", help="only the comparison of approaches")
    args = p.parse_args()
    compare(args.n, OnnxModel("best"))
    if not args.skip_real_world:
        print()
        real_world(OnnxPredictor("best"))


if __name__ == "__main__":
    main()
