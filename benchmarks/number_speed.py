"""How long reading a written number takes: a 5-digit number whose digits touch, written 1400x280, read with the ONNX
reader the API and the dashboard use (rows.read, number=True), median of repeated reads after a warm-up.

To compare with another checkout, run its copy of this script in turns with this one (the machine's load changes):
.venv/bin/python benchmarks/number_speed.py [--repeats 50] [--model best]
"""

import argparse
import io
import statistics
import time

from PIL import Image

from digitlib.data import synth
from digitlib.reading.onnx_model import OnnxPredictor
from digitlib.reading.rows import read

SIZE = (1400, 280)


def number_picture(seed=5):
    """A 5-digit number of MNIST test digits that touch, scaled to fit SIZE and centred on white paper of that size,
    as PNG bytes, and the number."""
    image, number = synth.numbers(1, seed=seed, mnist=synth.mnist_digits("test"), digits=(5, 5), sources=("mnist",))[0]
    image = image.convert("L")
    scale = min(SIZE[0] * 0.9 / image.width, SIZE[1] * 0.9 / image.height)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
    paper = Image.new("L", SIZE, 240)
    paper.paste(image, ((SIZE[0] - image.width) // 2, (SIZE[1] - image.height) // 2))
    data = io.BytesIO()
    paper.save(data, "PNG")
    return data.getvalue(), number


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--model", default="best")
    args = parser.parse_args()
    reader = OnnxPredictor(args.model)
    data, number = number_picture()
    row = read(reader, data, "number.png", number=True)  # warm-up: the models loaded
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        read(reader, data, "number.png", number=True)
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"5-digit 1400x280 number ({number}, read {row['number']}): median {statistics.median(times):.1f} ms, "
        f"min {min(times):.1f} ms over {args.repeats} reads",
        flush=True,
    )


if __name__ == "__main__":
    main()
