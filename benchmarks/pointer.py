"""What one pointer move costs the server: CPU milliseconds per move in the Voila server, the kernel and the page.

Voila serves notebooks/06_dashboard.ipynb; one light page (tests/browser/pages.py) draws loops at 60 moves a second,
then the same loops with a sixth of the moves; the difference in CPU seconds, divided by the difference in moves, is
the cost of one move (the readings after each stroke, of the same 0, cancel out; a stroke of two moves is a dash,
which costs more to read). Points are sent as the pad sends them: in batches MOVE_MS apart (digitlib.apps.pad), so a
"move" here is one message of a stroke's points, those of MOVE_MS of drawing. The page runs in this process:
its figure is what a page's messages cost to make and read here, not what a browser spends.

    .venv/bin/python benchmarks/pointer.py [--moves 600] [--strokes 4] [-- VOILA_OPTION ...]
"""

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import psutil

from digitlib.constants import ROOT

sys.path.insert(0, str(ROOT / "tests" / "browser"))
from classroom import cpu_seconds  # noqa: E402  (benchmarks/, this script's folder)
from pages import click, draw, open_page  # noqa: E402
from serving import kernels, serve_dashboard  # noqa: E402


def loop_stroke(moves):
    """A stroke of about `moves` pointer moves (draw() sends two per segment): a loop around the canvas's middle."""
    n = max(moves // 2, 1) + 1
    return [(280 + 90 * math.cos(2 * math.pi * i / n), 140 + 90 * math.sin(2 * math.pi * i / n)) for i in range(n)]


async def measure(url, server, moves, strokes):
    """{name: CPU seconds} and moves sent and messages received for `strokes` strokes of about `moves` moves."""
    page = await open_page(url)
    await draw(page, [loop_stroke(moves)])  # a fresh kernel's first reading loads what it reads with: not a move's
    await asyncio.sleep(0.5)
    watched = {"server": [psutil.Process(server.pid)], "kernel": kernels(server)}
    before = {name: [cpu_seconds(p) for p in ps] for name, ps in watched.items()}
    client, sent, received = time.process_time(), page.moves, page.received
    for _ in range(strokes):
        await click(page, "digit-clear", "digit-status", "Draw a digit")  # else the same loop changes nothing
        await draw(page, [loop_stroke(moves)])
    await asyncio.sleep(0.5)  # the explanations after the last reading
    cpu = {name: sum(map(cpu_seconds, ps)) - sum(before[name]) for name, ps in watched.items()}
    cpu["page"] = time.process_time() - client
    page.ws.close()
    return cpu, page.moves - sent, page.received - received


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=600, help="pointer moves per long stroke (default: 600)")
    parser.add_argument("--strokes", type=int, default=4, help="strokes of each kind (default: 4)")
    parser.add_argument("options", nargs="*", help="more options for Voila, after --")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # a pool of one kernel, which the page takes; the refill waits until the run is over
        with serve_dashboard(Path(tmp) / "voila.log", "--VoilaKernelManager.fill_delay=600", *args.options) as server:
            long_cpu, long_moves, long_received = asyncio.run(measure(server.url, server, args.moves, args.strokes))
            short_cpu, short_moves, short_received = asyncio.run(
                measure(server.url, server, args.moves // 6, args.strokes)
            )
    moves = long_moves - short_moves
    figures = {
        "moves": moves,
        "cpu_ms_per_move": {name: round((long_cpu[name] - short_cpu[name]) * 1000 / moves, 2) for name in long_cpu},
        "messages_received_per_move": round((long_received - short_received) / moves, 2),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
