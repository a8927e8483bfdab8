"""Command line: python -m digitlib {data,train,evaluate,predict,models,where,export,serve,corrections,finetune}.
Errors: one plain line."""

import argparse
import contextlib
import errno
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

from digitlib.constants import (
    CLASSES,
    DATA_DIR,
    DATA_ENV,
    DEFAULT_MODEL,
    IN_CLONE,
    PACKAGE_DIR,
    TRAINED_DIR,
    WEIGHTS_DIR,
)
from digitlib.errors import DigitlibError
from digitlib.reading.rows import predict_row

TORCH = ("torch", "torchvision")
try:  # train, evaluate, predict, models, export and finetune need torch; the container image has none: it serves
    from digitlib.models.zoo import VARIANTS, variant
    from digitlib.training.device import PRECISIONS
except ModuleNotFoundError as e:
    if e.name not in TORCH:
        raise
    VARIANTS, PRECISIONS, variant = {}, ("auto",), None

MAX_HEADER_BYTES = 16_384  # `serve`: a request's line and headers (browsers send under 8 kB)
# `serve`: connections a worker serves at once. The drawing page keeps its connection open between strokes (uvicorn
# closes it after 5 s idle), so every visitor drawing holds one: at 64, two workers answered 503 past about 128
# visitors; 512 stays under the usual limit of 1,024 open files per process
MAX_CONNECTIONS = 512


def cmd_data(args):
    from digitlib.data.mnist import ensure_mnist, raw_dir

    source = ensure_mnist()
    print(f"MNIST verified in {raw_dir()} (source: {source})")


def train_folder(args, default=TRAINED_DIR):
    """A context giving the folder to train into: --out, else default, or for a dry run a temporary folder."""
    if args.out is not None:
        return contextlib.nullcontext(args.out)
    if args.dry_run:  # a 2-batch model must not replace the shipped (or personal) one
        return tempfile.TemporaryDirectory(prefix="digitlib-dry-run-")
    return contextlib.nullcontext(str(default))


def cmd_train(args):
    from digitlib.training.train import train_variant

    limit, max_batches = (1000, 2) if args.dry_run else (None, None)
    keep = args.out is not None or not args.dry_run
    with train_folder(args) as out:
        meta = train_variant(
            args.model,
            epochs=args.epochs,
            seed=args.seed,
            out=out,
            device=args.device,
            precision=args.precision,
            limit=limit,
            max_batches=max_batches,
            progress=not args.json,
        )
    weights_path = f"{out}/{args.model}.safetensors" if keep else None
    if args.json:
        keys = ["model", "epochs", "seed", "train_seconds", "test_accuracy"]
        print_json({**{k: meta[k] for k in keys[1:]}, "model": args.model, "weights": weights_path})
    else:
        wrote = f"wrote {weights_path}" if keep else "wrote to a temporary folder, now deleted (--out keeps the files)"
        if keep and Path(out).resolve() != WEIGHTS_DIR.resolve():
            wrote += f" (use it with --weights {out})"
        print(
            f"{args.model}: test accuracy {meta['test_accuracy']:.2%} after {meta['epochs']} epochs, "
            f"{meta['train_seconds']:.1f}s of training on {meta['device']}; {wrote}"
        )


def cmd_evaluate(args):
    from digitlib.data.mnist import load_mnist
    from digitlib.models.weights import load
    from digitlib.reading.rejection import rejector
    from digitlib.studies.metrics import test_metrics

    variant(args.model)
    result = {"model": args.model, **test_metrics(load(args.model, args.weights))}
    # the reader's rejector says "not a digit" for these test digits, whatever the model
    result["rejected"] = int(rejector().rejects(load_mnist("test")[0].numpy()).sum())
    if args.json:
        print_json(result)
        return
    print(
        f"{args.model}: test accuracy {result['accuracy']:.2%}; {result['rejected']} of the test digits the reader "
        "would call not a digit\n\nclass  precision  recall     f1  support"
    )
    for c, m in result["per_class"].items():
        print(f"{c:>5}  {m['precision']:9.4f}  {m['recall']:6.4f}  {m['f1']:.4f}  {m['support']:7d}")
    print("\nconfusion (rows: true, columns: predicted)\n     " + "".join(f"{c:>6}" for c in CLASSES))
    for c, row in zip(CLASSES, result["confusion"]):
        print(f"{c:>5}" + "".join(f"{n:6d}" for n in row))


def plain(row):
    """The plain-text line for a row of predict_row, worded as the dashboard words it: "7 (97.3% sure)",
    "1 (not sure: 1 or 7?)", "not a digit (closest: 4, 31.0%)"."""
    from digitlib.reading.answers import verdict

    if row["error"]:
        return f"{row['file']}: error: {row['error']}"
    if "number" in row:
        if row["number"] is None and not row["digits"]:
            return f"{row['file']}: {row['reason']}"
        each = "; ".join(
            f"{d['digit']} {verdict(d['probabilities'])}" if d["digit"] is not None else closest(d)
            for d in row["digits"]
        )
        return f"{row['file']}: {row['number'] or row['reason']} ({each})"
    if row["digit"] is None:
        return f"{row['file']}: {closest(row) if row['probabilities'] else row['reason']}"
    return f"{row['file']}: {row['digit']} ({verdict(row['probabilities'])})"


def closest(reading):
    """A rejected reading (a row or a number's digit) in words: "not a digit (closest: 4, 31.0%)"."""
    from digitlib.reading.answers import percent

    probs = reading["probabilities"]
    top = max(range(len(probs)), key=probs.__getitem__)
    return f"{reading['reason']} (closest: {top}, {percent(probs[top])})"


def emit(line):
    """Print one line, escaping what the output's encoding cannot show rather than failing on it."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(line.encode(encoding, "backslashreplace").decode(encoding), flush=True)


def cmd_predict(args):
    from digitlib.models.predictor import Predictor

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
    from digitlib.models.zoo import build, count_params
    from digitlib.reading.onnx_model import model_row, stored_meta

    rows = []
    for name, v in VARIANTS.items():  # what NAME.json says; for a variant not trained yet, what its registry entry says
        model = build(v.arch, v.args)
        registered = dict(kind=model.kind, params=count_params(model), description=v.description)
        rows.append(model_row(name, {**registered, **stored_meta(name, args.weights)}))
    if args.json:
        print_json(rows)
        return
    for r in rows:
        acc = f"{r['test_accuracy']:.2%}" if r["test_accuracy"] is not None else "no weights"
        print(
            f"{r['name']:<8} {r['kind']:<4} {r['params']:>9,} params  {acc:>10}  "
            f"{'(default) ' if r['default'] else ''}{r['description']}"
        )


def cmd_where(args):
    where = {
        "package": str(PACKAGE_DIR),
        "clone": IN_CLONE,
        "weights": str(WEIGHTS_DIR),
        "train_out": str(TRAINED_DIR),
        "data": str(DATA_DIR),
    }
    if args.json:
        print_json(where)
        return
    print(
        f"package    {where['package']} ({'a clone of the repository' if IN_CLONE else 'installed'})\n"
        f"weights    {where['weights']} (shipped models, read by default)\n"
        f"train_out  {where['train_out']} (where train writes by default)\n"
        f"data       {where['data']} (MNIST; set {DATA_ENV} to move it)"
    )


def cmd_export(args):
    from digitlib.models.onnx_export import export
    from digitlib.models.weights import paths, trained

    names = args.model or trained(args.weights)
    if not names:
        raise DigitlibError(
            f"no model has weights in {args.weights}; train one with: python -m digitlib train --model NAME"
        )
    for name in names:
        if not paths(name, args.weights)[1].exists():  # a model beside its files (personal) needs no variant
            variant(name)
    for name in names:
        path = export(name, args.weights)
        print(f"{name}: wrote {path} ({path.stat().st_size / 1e3:,.0f} kB)", flush=True)


def check_address(host, port):
    """DigitlibError, in one line, if nothing can listen on host:port (in use, no such host, not allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise DigitlibError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise DigitlibError(f"{host}:{port} is in use (another server?); choose another with --port") from None
            raise DigitlibError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def cmd_train_rejector(args):
    from digitlib.training.rejector import train

    meta = train(Path(args.out), epochs=args.epochs, seed=args.seed)
    print(
        f"rejector: threshold {meta['threshold']:.3f}; on the validation sets it rejects "
        f"{meta['val_not_digits_rejected']:.1%} of the non-digits and {meta['val_mnist_rejected']:.2%} of MNIST's "
        f"digits; {meta['train_seconds']:.0f} s of training; written to {args.out}"
    )


def cmd_train_sequence(args):
    from digitlib.training.sequence import train

    meta = train(Path(args.out), samples=args.samples, epochs=args.epochs, seed=args.seed)
    print(
        f"sequence reader: {meta['val_strips_read_right']:.1%} of validation strips read right after "
        f"{meta['train_seconds']:.0f}s of training; wrote {args.out}"
    )


def cmd_serve(args):
    from digitlib.apps.api import ENV, Settings, load_models, usable_cores

    load_models(args.weights)  # a missing, stale or corrupt model is one line here, not a traceback in each worker
    check_address(args.host, args.port)
    threads = args.threads or max(1, usable_cores() // args.workers)
    settings = Settings(weights=str(Path(args.weights).resolve()), threads=threads, max_bytes=args.max_bytes)
    print(
        f"serving {args.weights} at http://{args.host}:{args.port} (docs at /docs): {args.workers} worker(s), "
        f"{threads} image(s) at a time each",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn in place of this process: the workers neither inherit nor import torch (which this module imports)
    env = {**os.environ, ENV: json.dumps(settings.__dict__)}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core per image read
        env.setdefault(var, "1")
    # glibc gives each new thread of the workers' pool an arena of its own, which it keeps: under steady load a
    # worker's memory rose in steps (+10.9% in 10 minutes); two arenas keep it flat
    env.setdefault("MALLOC_ARENA_MAX", "2")
    # The working directory is not on the workers' import path: PYTHONSAFEPATH, as -P, for Python; uvicorn puts
    # --app-dir there (default ".") so it is digitlib's own folder. h11 with a cap on headers (httptools has none:
    # 32 MB of headers were accepted), and at most --max-connections at once per worker (then 503)
    env["PYTHONSAFEPATH"] = "1"
    command = [sys.executable, "-m", "uvicorn", "--factory", "digitlib.apps.api:app_from_env", "--host", args.host]
    command += ["--app-dir", str(PACKAGE_DIR.parent)]
    command += ["--port", str(args.port), "--workers", str(args.workers), "--no-server-header"]
    command += ["--http", "h11", "--h11-max-incomplete-event-size", str(MAX_HEADER_BYTES)]
    command += ["--limit-concurrency", str(args.max_connections)]
    command += ["--log-level", args.log_level] + ([] if args.access_log else ["--no-access-log"])
    os.execve(sys.executable, command, env)


def cmd_corrections(args):
    from digitlib.data import corrections

    folder = Path(args.folder)
    if args.demo:
        from digitlib.data.hand import save_demo

        print(f"added the demo hand's {save_demo(folder)} drawings to {folder}", file=sys.stderr)
    if args.import_file:
        added, present, skipped = corrections.import_archive(args.import_file, folder)
        for line in skipped:
            print(f"skipped {line}", file=sys.stderr)
        print(
            f"imported {added} corrections from {args.import_file} ({present} were already here"
            f"{f', {len(skipped)} skipped' if skipped else ''})",
            file=sys.stderr,
        )
    samples, broken = corrections.read(folder)
    if args.export:
        n = corrections.export(args.export, folder)
        print(f"exported {n} corrections to {args.export}", file=sys.stderr)
    per_digit = corrections.counts(samples)
    state = "on" if corrections.enabled() else f"off; {corrections.CORRECTIONS_ENV}=on saves them"
    if args.json:
        print_json(
            dict(
                folder=str(folder),
                total=len(samples),
                per_digit=per_digit,
                not_a_digit=corrections.not_digits(samples),
                unreadable=broken,
                saving=state,
            )
        )
        return
    print(f"{len(samples)} corrections in {folder} (saving from the dashboard: {state})")
    print("digit  " + "".join(f"{d:>5}" for d in range(10)) + "  not a digit")
    print("count  " + "".join(f"{n:>5}" for n in per_digit) + f"  {corrections.not_digits(samples):>11}")
    if broken:
        print(f"{len(broken)} unreadable, left alone: {', '.join(broken[:5])}{' ...' if len(broken) > 5 else ''}")


def cmd_finetune(args):
    from digitlib.training.personal import make_personal

    limit, max_batches = (1000, 2) if args.dry_run else (None, None)
    with train_folder(args, default=args.folder) as out:
        meta = make_personal(
            args.folder,
            out=out,
            base=args.base,
            replay=args.replay,
            epochs=args.epochs,
            seed=args.seed,
            limit=limit,
            max_batches=max_batches,
            progress=not args.json,
        )
    keys = ["corrections", "held_out", "held_out_accuracy_before", "held_out_accuracy", "mnist_test_accuracy_before"]
    if args.json:
        summary = {**{k: meta[k] for k in keys}, "test_accuracy": meta["test_accuracy"], "folder": out}
        print_json({**summary, "not_a_digit": meta.get("not_a_digit", 0)})  # those teach its rejector
        return

    def pct(a):
        return "-" if a is None else f"{a:.1%}"

    print(
        f"personal: {meta['description']}.\n"
        f"held-out corrections read right: {pct(meta['held_out_accuracy_before'])} by {args.base}, "
        f"{pct(meta['held_out_accuracy'])} by personal ({meta['trust']})\n"
        f"MNIST test accuracy: {pct(meta['mnist_test_accuracy_before'])} by {args.base}, "
        f"{meta['test_accuracy']:.2%} by personal\n"
        + (
            f"wrote personal.safetensors, .json and .onnx to {out}"
            if args.out is not None or not args.dry_run
            else "a dry run: the smoke model was not kept"
        )
    )


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


def replay_count(text):
    """argparse type: how many MNIST digits a fine-tuning replays, 0 up to (not including) its mix per epoch."""
    from digitlib.training.personal import MIX

    if not text.isdigit() or int(text) >= MIX:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MIX - 1}, got {text!r}")
    return int(text)


def port(text):
    """argparse type: a TCP port, 1 to 65535."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return int(text)


class Help(argparse.ArgumentDefaultsHelpFormatter):
    """Each default said once: not for flags and options without one, nor where the help already says it."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


MODEL_HELP = f"model name, one of: {', '.join(VARIANTS)}"


def weights_option(a, help="weights folder"):
    a.add_argument("--weights", default=str(WEIGHTS_DIR), help=help)


def train_options(a):
    a.add_argument("--model", required=True, help=MODEL_HELP)
    a.add_argument("--epochs", type=positive, default=None, help="epochs (default: the model's recipe)")
    a.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats a CPU run")
    a.add_argument(
        "--out",
        default=None,
        help="folder for NAME.safetensors and NAME.json (default: "
        f"{TRAINED_DIR}; for a dry run a temporary folder, deleted afterwards)",
    )
    a.add_argument("--device", default=None, help="cuda, mps or cpu (default: the first available)")
    a.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="training arithmetic; auto: bf16 on CPUs with AVX-512 BF16 or AMX and on recent GPUs, fp16 on "
        "older GPUs, else fp32 (default: the model's recipe, auto for every shipped one)",
    )
    dry_run = "2 batches on 1,000 images, to check the code path; keeps no files unless --out is given"
    a.add_argument("--dry-run", action="store_true", help=dry_run)


def evaluate_options(a):
    a.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
    weights_option(a)


def predict_options(a):
    a.add_argument("files", nargs="+", metavar="FILE", help="image files (PNG, JPEG, ...)")
    a.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
    weights_option(a)
    number = "read a written number (digits left to right, touching ones cut apart) instead of one digit"
    a.add_argument("--number", action="store_true", help=number)


def export_options(a):
    a.add_argument(
        "--model",
        nargs="+",
        metavar="NAME",
        default=None,
        help=f"{MODEL_HELP} (default: every model with weights in the folder)",
    )
    weights_option(a, help="weights folder, read and written")


def train_rejector_options(a):
    a.add_argument("--out", default=str(TRAINED_DIR / "rejector"), help="folder for rejector.safetensors, .json, .onnx")
    a.add_argument("--epochs", type=positive, default=None, help="epochs (default: the recipe's)")
    a.add_argument("--seed", type=int, default=0, help="random seed")


def train_sequence_options(a):
    a.add_argument("--out", default=str(TRAINED_DIR / "sequence"), help="folder for sequence.safetensors, .json, .onnx")
    a.add_argument("--samples", type=positive, default=60_000, help="training strips")
    a.add_argument("--epochs", type=positive, default=6, help="epochs")
    a.add_argument("--seed", type=int, default=0, help="random seed")


def serve_options(a):
    from digitlib.reading.images import MAX_UPLOAD

    a.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    a.add_argument("--port", type=port, default=8000, help="TCP port")
    a.add_argument("--workers", type=positive, default=1, help="worker processes, each with every model loaded")
    a.add_argument(
        "--threads",
        type=positive,
        default=None,
        help="images each worker reads at once, one core each (default: the usable cores / workers)",
    )
    weights_option(a, help="folder of the NAME.onnx models served")
    a.add_argument("--max-bytes", type=positive, default=MAX_UPLOAD, help="largest request body accepted")
    a.add_argument(
        "--max-connections",
        type=positive,
        default=MAX_CONNECTIONS,
        help="connections each worker serves at once; past it, 503",
    )
    a.add_argument("--access-log", action="store_true", help="log every request")
    a.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def corrections_options(a):
    from digitlib.data.corrections import CORRECTIONS_DIR

    a.add_argument("--folder", default=str(CORRECTIONS_DIR), help="the corrections folder")
    a.add_argument("--export", metavar="FILE", default=None, help="write every correction into a zip archive FILE")
    a.add_argument(
        "--import",
        dest="import_file",
        metavar="FILE",
        default=None,
        help="add the corrections of an archive FILE (a sample failing a check: skipped, with a line)",
    )
    a.add_argument("--demo", action="store_true", help="add the demo hand's 400 drawings (digitlib.data.hand)")


def finetune_options(a):
    from digitlib.data.corrections import CORRECTIONS_DIR
    from digitlib.training.personal import BASE, MIX, REPLAY

    a.add_argument("--folder", default=str(CORRECTIONS_DIR), help="the corrections folder, also where personal.* goes")
    a.add_argument("--base", default=BASE, help=f"the model fine-tuned, {MODEL_HELP}")
    a.add_argument("--replay", type=replay_count, default=REPLAY, help=f"MNIST digits replayed, 0 to {MIX - 1}")
    a.add_argument(
        "--epochs", type=positive, default=None, help="epochs (default: digitlib.training.personal.FINETUNE's)"
    )
    a.add_argument("--seed", type=int, default=0, help="random seed; the same seed repeats a CPU run")
    a.add_argument("--out", default=None, help="where personal.* goes (default: the corrections folder)")
    a.add_argument("--dry-run", action="store_true", help="2 batches on 1,000 images; keeps no files without --out")


# name: (function, what it does, what --json prints or None, the function adding its options or None)
COMMANDS = {
    "data": (cmd_data, "fetch and verify MNIST, saying which source was used", None, None),
    "train": (
        cmd_train,
        "train a model and write its weights and metadata",
        "no progress bar; a JSON summary last",
        train_options,
    ),
    "evaluate": (
        cmd_evaluate,
        "test accuracy, per-class metrics and confusion matrix",
        "print one JSON object",
        evaluate_options,
    ),
    "predict": (
        cmd_predict,
        "read the digit (or number) in each image file",
        "one JSON object per file and line",
        predict_options,
    ),
    "models": (cmd_models, "list the model variants and their shipped accuracy", "print a JSON list", weights_option),
    "where": (
        cmd_where,
        "the folders read and written: shipped and trained weights, data",
        "print one JSON object",
        None,
    ),
    "export": (
        cmd_export,
        "write NAME.onnx (logits and feature maps) for ONNX Runtime from the weights",
        None,
        export_options,
    ),
    "train-sequence": (
        cmd_train_sequence,
        "train the network that reads digits that touch as one sequence (digitlib.reading.sequence)",
        None,
        train_sequence_options,
    ),
    "train-rejector": (
        cmd_train_rejector,
        "train the network that tells a digit from a letter, a doodle or a scribble (digitlib.reading.rejection)",
        None,
        train_rejector_options,
    ),
    "serve": (cmd_serve, "serve the HTTP API (POST /predict, GET /models, docs at /docs)", None, serve_options),
    "corrections": (
        cmd_corrections,
        "the corrections saved from the dashboard (counts per digit); export or import them",
        "print one JSON object",
        corrections_options,
    ),
    "finetune": (
        cmd_finetune,
        "fine-tune a personal model on the corrections (with MNIST replayed) and write it beside them",
        "no progress bar; a JSON summary last",
        finetune_options,
    ),
}


def parser():
    p = argparse.ArgumentParser(prog="python -m digitlib", description=__doc__.splitlines()[0], formatter_class=Help)
    sub = p.add_subparsers(dest="command", required=True)
    for name, (run, what, prints, add_options) in COMMANDS.items():
        command = sub.add_parser(name, help=what, formatter_class=Help)
        command.set_defaults(run=run)
        if prints:
            command.add_argument("--json", action="store_true", help=prints)
        if add_options:
            try:
                add_options(command)
            except ModuleNotFoundError as e:  # finetune's defaults live beside its torch code; run, it says so
                if e.name not in TORCH:
                    raise
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except DigitlibError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as e:
        if e.name not in TORCH:
            raise
        print(
            f"error: {args.command} needs {e.name}, which this installation lacks (pip install {e.name})",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
