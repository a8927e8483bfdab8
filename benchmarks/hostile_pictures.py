"""What small hostile uploads cost to read: thin PNGs of a few KB and a wavy scribble read as a number, each through
digitlib.reading.rows.read (what the HTTP API calls) with the ONNX reader: peak memory above the reader's, and
milliseconds.

Each picture is read in a process of its own, allowed 2 GiB of address space above the loaded reader's (a failed
read asks for more). Linux only (the peak is /proc's VmHWM).

.venv/bin/python benchmarks/hostile_pictures.py [--repeat 3]
"""

import argparse
import io
import resource
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

from digitlib.errors import DigitlibError
from digitlib.reading.onnx_model import OnnxPredictor
from digitlib.reading.rows import read

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from drawings import wavy_line  # noqa: E402  (the scribble the tests use)

THIN = [(8, 600_000), (600_000, 8), (8, 3_000_000)]  # width x height


def png(picture):
    """A PIL image as PNG bytes."""
    data = io.BytesIO()
    picture.save(data, "PNG")
    return data.getvalue()


def thin_picture(w, h):
    """A white picture with a 3 px black diagonal."""
    picture = Image.new("L", (w, h), 255)
    ImageDraw.Draw(picture).line([(0, 0), (w - 1, h - 1)], fill=0, width=3)
    return picture


def memory_kb(field):
    """A field of /proc/self/status, in kB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def cases():
    """(name, PNG bytes, read as a number) for each picture."""
    thin = [(f"{w}x{h} PNG", png(thin_picture(w, h)), number) for w, h in THIN for number in (False, True)]
    return [*thin, ("wavy 560x18 PNG", png(wavy_line()), True)]


def measure(reader, data, number):
    """(outcome, peak memory rise in MB, milliseconds) of reading PNG bytes."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak starts again from here
    before, start = memory_kb("VmRSS"), time.perf_counter()
    try:
        row = read(reader, data, "picture.png", number=number)
        outcome = f"read {row['number'] if number else row['digit']}"
    except DigitlibError as e:
        outcome = f"refused: {e}"
    except MemoryError as e:
        outcome = f"MemoryError: {e}"
    ms = (time.perf_counter() - start) * 1000
    return outcome, (memory_kb("VmHWM") - before) / 1024, ms


def run_case(index, repeat):
    """Print the figures of one case, read `repeat` times: the first read's peak, the fastest read's time."""
    name, data, number = cases()[index]
    reader = OnnxPredictor("best")
    read(reader, png(thin_picture(200, 40)), "warm-up", number=True)  # the model and the sequence reader loaded
    resource.setrlimit(resource.RLIMIT_AS, (memory_kb("VmSize") * 1024 + 2 * 2**30, resource.RLIM_INFINITY))
    runs = [measure(reader, data, number) for _ in range(repeat)]
    outcome, rise, _ = runs[0]
    kind = "number" if number else "digit"
    ms = min(run[2] for run in runs)
    print(f"{name} ({len(data):,} B) as a {kind}: {outcome}; peak +{rise:.0f} MB, {ms:.0f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="reads of each picture; the fastest is shown (default 3)")
    parser.add_argument("--case", type=int, help="read only this picture (by its index), in this process")
    args = parser.parse_args()
    if args.case is not None:
        return run_case(args.case, args.repeat)
    for index in range(len(cases())):
        command = [sys.executable, "-P", __file__, "--case", str(index), "--repeat", str(args.repeat)]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
