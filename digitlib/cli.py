"""Command line: python -m digitlib {data,train,evaluate,predict,models,where,export}. Errors are one plain line."""

import argparse
import contextlib
import json
import math
import sys
import tempfile
from pathlib import Path

from digitlib.constants import CLASSES, DATA_DIR, DATA_ENV, IN_CLONE, PACKAGE_DIR, TRAINED_DIR, WEIGHTS_DIR
from digitlib.device import PRECISIONS
from digitlib.errors import DigitlibError
from digitlib.models import DEFAULT_MODEL, VARIANTS, variant


def cmd_data(args):
    from digitlib.data import ensure_mnist, raw_dir

    source = ensure_mnist()
    print(f"MNIST verified in {raw_dir()} (source: {source})")


def train_folder(args):
    """A context giving the folder to train into: --out, else TRAINED_DIR, or for a dry run a temporary folder."""
    if args.out is not None:
        return contextlib.nullcontext(args.out)
    if args.dry_run:  # a 2-batch model must not replace the shipped one
        return tempfile.TemporaryDirectory(prefix="digitlib-dry-run-")
    return contextlib.nullcontext(str(TRAINED_DIR))


def cmd_train(args):
    from digitlib.train import train_variant

    limit, max_batches = (1000, 2) if args.dry_run else (None, None)
    keep = args.out is not None or not args.dry_run
    with train_folder(args) as out:
        meta = train_variant(args.model, epochs=args.epochs, seed=args.seed, out=out, device=args.device,
                             precision=args.precision,
                             limit=limit, max_batches=max_batches, progress=not args.json)
    weights_path = f"{out}/{args.model}.safetensors" if keep else None
    if args.json:
        keys = ["model", "epochs", "seed", "train_seconds", "test_accuracy"]
        print_json({**{k: meta[k] for k in keys[1:]}, "model": args.model, "weights": weights_path})
    else:
        wrote = f"wrote {weights_path}" if keep else "wrote to a temporary folder, now deleted (--out keeps the files)"
        if keep and Path(out).resolve() != WEIGHTS_DIR.resolve():
            wrote += f" (use it with --weights {out})"
        print(f"{args.model}: test accuracy {meta['test_accuracy']:.2%} after {meta['epochs']} epochs, "
              f"{meta['train_seconds']:.1f}s of training on {meta['device']}; {wrote}")


def cmd_evaluate(args):
    from digitlib.metrics import test_metrics
    from digitlib.weights import load

    variant(args.model)
    result = {"model": args.model, **test_metrics(load(args.model, args.weights))}
    if args.json:
        print_json(result)
        return
    print(f"{args.model}: test accuracy {result['accuracy']:.2%}\n\nclass  precision  recall     f1  support")
    for c, m in result["per_class"].items():
        print(f"{c:>5}  {m['precision']:9.4f}  {m['recall']:6.4f}  {m['f1']:.4f}  {m['support']:7d}")
    print("\nconfusion (rows: true, columns: predicted)\n     " + "".join(f"{c:>6}" for c in CLASSES))
    for c, row in zip(CLASSES, result["confusion"]):
        print(f"{c:>5}" + "".join(f"{n:6d}" for n in row))


def rounded(probs):
    """Probabilities as a JSON list rounded to 6 places; DigitlibError if any is not a finite number."""
    if not all(map(math.isfinite, probs)):
        raise DigitlibError("the model's probabilities are not finite numbers")
    return [round(float(q), 6) for q in probs]


def predict_row(predictor, file, number=False):
    """One output row for one file: the digit (or, with number=True, the number) read and its probabilities,
    or the error that stopped it."""
    from digitlib.images import display_name, open_image

    name = display_name(file)
    try:
        image = open_image(file, name)
        if number:
            digits = [{"digit": p.digit, "probabilities": rounded(p.probs)} for p in predictor.predict_number(image)]
            return {"file": name, "number": "".join(str(d["digit"]) for d in digits) or None, "digits": digits,
                    "error": None}
        p = predictor.predict(image)
        probs = None if p.probs is None else rounded(p.probs)
        return {"file": name, "digit": p.digit, "probabilities": probs, "error": None}
    except Exception as e:  # whatever goes wrong with one file is its row; the others are still read
        problem = str(e) if isinstance(e, DigitlibError) else f"unexpected {type(e).__name__}: {e}"
        problem = problem.removeprefix(f"{name}: ").encode("utf-8", "backslashreplace").decode()  # no lone surrogates
        empty = {"number": None, "digits": []} if number else {"digit": None, "probabilities": None}
        return {"file": name, **empty, "error": problem}


def plain(row):
    """The plain-text line for a row of predict_row, worded as the dashboard words it: "7 (97.3% sure)",
    "1 (not sure: 1 or 7?)"."""
    from digitlib.answers import verdict

    if row["error"]:
        return f"{row['file']}: error: {row['error']}"
    if "number" in row:
        if row["number"] is None:
            return f"{row['file']}: no digit"
        each = "; ".join(f"{d['digit']} {verdict(d['probabilities'])}" for d in row["digits"])
        return f"{row['file']}: {row['number']} ({each})"
    if row["digit"] is None:
        return f"{row['file']}: no digit"
    return f"{row['file']}: {row['digit']} ({verdict(row['probabilities'])})"


def emit(line):
    """Print one line, escaping what the output's encoding cannot show rather than failing on it."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(line.encode(encoding, "backslashreplace").decode(encoding), flush=True)


def cmd_predict(args):
    from digitlib.predict import Predictor

    predictor = Predictor(args.model, args.weights)
    failed = False
    for file in args.files:
        row = predict_row(predictor, file, args.number)
        failed = failed or row["error"] is not None
        if args.json:
            print_json(row)
        else:
            emit(plain(row))
    return 1 if failed else 0


def cmd_models(args):
    from digitlib.models import build, count_params
    from digitlib.weights import read_meta

    rows = []
    for name, v in VARIANTS.items():
        try:
            accuracy = read_meta(name, args.weights).get("test_accuracy")
        except DigitlibError:
            accuracy = None  # not trained yet
        model = build(v.arch, v.args)
        rows.append(dict(name=name, kind=model.kind, params=count_params(model), test_accuracy=accuracy,
                         default=name == DEFAULT_MODEL, description=v.description))
    if args.json:
        print_json(rows)
        return
    for r in rows:
        acc = f"{r['test_accuracy']:.2%}" if r["test_accuracy"] is not None else "no weights"
        print(f"{r['name']:<8} {r['kind']:<4} {r['params']:>9,} params  {acc:>10}  {'(default) ' if r['default'] else ''}{r['description']}")


def cmd_where(args):
    where = {"package": str(PACKAGE_DIR), "clone": IN_CLONE, "weights": str(WEIGHTS_DIR), "train_out": str(TRAINED_DIR),
             "data": str(DATA_DIR)}
    if args.json:
        print_json(where)
        return
    print(f"package    {where['package']} ({'a clone of the repository' if IN_CLONE else 'installed'})\n"
          f"weights    {where['weights']} (shipped models, read by default)\n"
          f"train_out  {where['train_out']} (where train writes by default)\n"
          f"data       {where['data']} (MNIST; set {DATA_ENV} to move it)")


def cmd_export(args):
    from digitlib.onnx_export import export
    from digitlib.weights import shipped

    names = args.model or shipped(args.weights)
    if not names:
        raise DigitlibError(f"no model has weights in {args.weights}; train one with: "
                            "python -m digitlib train --model NAME")
    for name in names:
        variant(name)
    for name in names:
        path = export(name, args.weights)
        print(f"{name}: wrote {path} ({path.stat().st_size / 1e3:,.0f} kB)", flush=True)


def print_json(obj):
    """Print obj as one line of strict JSON: NaN and infinity, which JSON has not, are an error instead."""
    try:
        text = json.dumps(obj, allow_nan=False)
    except ValueError:
        raise DigitlibError("the result holds a NaN or infinite number, which JSON cannot carry") from None
    print(text, flush=True)


def positive(text):
    """argparse type: an integer of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def parser():
    p = argparse.ArgumentParser(prog="python -m digitlib", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    fmt = dict(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    model_help = f"model name, one of: {', '.join(VARIANTS)}"

    sub.add_parser("data", help="fetch and verify MNIST, saying which source was used", **fmt).set_defaults(run=cmd_data)

    t = sub.add_parser("train", help="train a model and write its weights and metadata", **fmt)
    t.add_argument("--model", required=True, help=model_help)
    t.add_argument("--epochs", type=positive, default=None, help="epochs (default: the model's recipe)")
    t.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats a CPU run")
    t.add_argument("--out", default=None, help="folder for NAME.safetensors and NAME.json (default: "
                   f"{TRAINED_DIR}; for a dry run a temporary folder, deleted afterwards)")
    t.add_argument("--device", default=None, help="cuda, mps or cpu (default: the first available)")
    t.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="training arithmetic; auto: bf16 on CPUs with AVX-512 BF16 or AMX and on recent GPUs, fp16 on "
                        "older GPUs, else fp32 (default: the model's recipe, auto for every shipped one)")
    t.add_argument("--dry-run", action="store_true",
                   help="2 batches on 1,000 images, to check the code path; keeps no files unless --out is given")
    t.add_argument("--json", action="store_true", help="no progress bar; last line is a JSON summary")
    t.set_defaults(run=cmd_train)

    e = sub.add_parser("evaluate", help="test accuracy, per-class metrics and confusion matrix", **fmt)
    e.add_argument("--model", default=DEFAULT_MODEL, help=model_help)
    e.add_argument("--weights", default=str(WEIGHTS_DIR), help="weights folder")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(run=cmd_evaluate)

    r = sub.add_parser("predict", help="read the digit (or number) in each image file", **fmt)
    r.add_argument("files", nargs="+", metavar="FILE", help="image files (PNG, JPEG, ...)")
    r.add_argument("--model", default=DEFAULT_MODEL, help=model_help)
    r.add_argument("--weights", default=str(WEIGHTS_DIR), help="weights folder")
    r.add_argument("--number", action="store_true",
                   help="read a written number (digits left to right, touching ones cut apart) instead of one digit")
    r.add_argument("--json", action="store_true", help="one JSON object per file and line")
    r.set_defaults(run=cmd_predict)

    m = sub.add_parser("models", help="list the model variants and their shipped accuracy", **fmt)
    m.add_argument("--weights", default=str(WEIGHTS_DIR), help="weights folder")
    m.add_argument("--json", action="store_true", help="print a JSON list")
    m.set_defaults(run=cmd_models)

    w = sub.add_parser("where", help="the folders read and written: shipped weights, trained weights, data", **fmt)
    w.add_argument("--json", action="store_true", help="print one JSON object")
    w.set_defaults(run=cmd_where)

    x = sub.add_parser("export", help="write NAME.onnx (logits and feature maps, for ONNX Runtime) from each model's "
                       "weights", **fmt)
    x.add_argument("--model", nargs="+", metavar="NAME", default=None,
                   help=f"{model_help} (default: every model with weights in the folder)")
    x.add_argument("--weights", default=str(WEIGHTS_DIR), help="weights folder, read and written")
    x.set_defaults(run=cmd_export)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except DigitlibError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
