"""Soak tests: does memory stay flat when the servers are used for a long time?

- api: `python -m digitlib serve` under steady open-loop load for --minutes: drawings, with every tenth request a
  careless or hostile one (a number, a thin 8x600,000 picture, bytes that are no image, a truncated PNG). The
  server's memory (RSS of every process) is sampled after each half minute; reported: the sample after the first
  minute (warm), the last, the largest, and how far the last and the largest are above the warm one.
- dashboard: Voila (as the tests serve it) with --visitors light visitors (benchmarks/classroom.py) arriving evenly
  over --minutes; each loads the page, draws one digit and leaves. Then the idle cull runs; reported: kernels and the
  server's RSS before, at the peak, and after the cull.

    .venv/bin/python benchmarks/soak.py api [--minutes 10] [--rate 20] [--workers 2]
    .venv/bin/python benchmarks/soak.py dashboard [--minutes 10] [--visitors 200]
"""

import argparse
import asyncio
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classroom import light_visitor  # noqa: E402
from load import drawings, exchange, free_port, request, start_server  # noqa: E402
from serving import kernels, serve_dashboard  # noqa: E402 -- tests/browser, put on the path by classroom

SLICE_S = 30  # memory is sampled after each slice of the run
WARM_UP = 1  # slices before the memory counts as warm: the workers' first requests grow their pools and arenas once


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def careless_uploads():
    """(query, body) of requests a careless or hostile client sends: a number, a thin picture, not an image, cut."""
    wavy = Image.new("L", (560, 18), 255)
    ImageDraw.Draw(wavy).line([(x, 9 + 7 * np.sin(x / 6)) for x in range(560)], fill=0, width=2)
    seven = drawings(1)[0][0]
    return [
        ("?number=true", png(wavy)),
        ("", png(Image.new("L", (8, 600_000), 255))),
        ("", b"this is not an image" * 50),
        ("", seven[: len(seven) // 2]),
    ]


async def steady_load(port, requests, rate, seconds, counts):
    """Open loop: request i at i / rate seconds, on 8 keep-alive connections; counts statuses into counts."""
    start, next_request = time.perf_counter(), 0
    total = int(rate * seconds)

    async def client():
        nonlocal next_request
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while next_request < total:
            i, next_request = next_request, next_request + 1
            await asyncio.sleep(start + i / rate - time.perf_counter())
            try:
                status, _ = await exchange(reader, writer, requests[i % len(requests)])
            except (OSError, asyncio.IncompleteReadError) as e:
                status = type(e).__name__
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            counts[str(status)] = counts.get(str(status), 0) + 1
        writer.close()

    await asyncio.gather(*(client() for _ in range(8)))


def rss_mib(pid):
    """RSS of a process and its children, MiB."""
    root = psutil.Process(pid)
    return round(sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20, 1)


def soak_api(minutes, rate, workers):
    port = free_port()
    requests = [request(data, port) for data, _ in drawings(200)]
    careless = [request(body, port, query) for query, body in careless_uploads()]
    requests = [careless[i // 10 % len(careless)] if i % 10 == 9 else requests[i] for i in range(len(requests))]
    server = start_server(port, workers)
    counts, samples = {}, []
    try:
        for _ in range(max(1, round(minutes * 60 / SLICE_S))):
            asyncio.run(steady_load(port, requests, rate, SLICE_S, counts))
            samples.append(rss_mib(server.pid))
    finally:
        server.terminate()
        server.wait(30)
    warm = samples[min(WARM_UP, len(samples) - 1)]
    return {
        "minutes": minutes,
        "rate_per_s": rate,
        "workers": workers,
        "statuses": counts,
        "rss_mib": {"warm": warm, "last": samples[-1], "max": max(samples[WARM_UP:] or samples), "all": samples},
        "drift_percent": round(100 * (samples[-1] - warm) / warm, 2),
        "max_above_warm_percent": round(100 * (max(samples[WARM_UP:] or samples) - warm) / warm, 2),
    }


async def visitors_arriving(url, server, count, seconds):
    """count light visitors, one every seconds / count, each drawing one digit; the peak kernels and RSS seen."""
    peak = {"kernels": 0, "server_rss_mib": 0.0}
    readings, trend = [], {}  # trend: the server's RSS after each quarter of the visitors has come and gone

    async def visit(i):
        await asyncio.sleep(i * seconds / count)
        try:
            _, (reading,), page = await light_visitor(url, [i % 10], time.monotonic())
            readings.append(str(reading[0]) == reading[1])
        except Exception as e:  # noqa: BLE001 -- a visitor turned away counts, and the others go on
            readings.append(type(e).__name__)
        peak["kernels"] = max(peak["kernels"], len(kernels(server)))
        peak["server_rss_mib"] = max(peak["server_rss_mib"], rss_mib_alone(server.pid))
        if len(readings) % max(1, count // 4) == 0:
            trend[len(readings)] = rss_mib_alone(server.pid)

    await asyncio.gather(*(visit(i) for i in range(count)))
    return peak, readings, trend


def rss_mib_alone(pid):
    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def soak_dashboard(minutes, count):
    with tempfile.TemporaryDirectory() as tmp, serve_dashboard(Path(tmp) / "voila.log") as server:
        before = {"kernels": len(kernels(server)), "server_rss_mib": rss_mib_alone(server.pid)}
        peak, readings, trend = asyncio.run(visitors_arriving(server.url, server, count, minutes * 60))
        deadline = time.monotonic() + 300  # the idle cull: every kernel of a visitor gone, the pool left
        while len(kernels(server)) > before["kernels"] and time.monotonic() < deadline:
            time.sleep(5)
        after = {"kernels": len(kernels(server)), "server_rss_mib": rss_mib_alone(server.pid)}
    return {
        "minutes": minutes,
        "visitors": count,
        "read_right": readings.count(True),
        "turned_away": {str(r): readings.count(r) for r in set(readings) if not isinstance(r, bool)},
        "before": before,
        "peak": peak,
        "server_rss_mib_after_visitors": trend,
        "after_cull": after,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["api", "dashboard"])
    parser.add_argument("--minutes", type=float, default=10, help="length of the load (default: 10)")
    parser.add_argument("--rate", type=float, default=20, help="api: requests per second (default: 20)")
    parser.add_argument("--workers", type=int, default=2, help="api: server workers (default: 2)")
    parser.add_argument("--visitors", type=int, default=200, help="dashboard: visitors in all (default: 200)")
    args = parser.parse_args()
    if args.what == "api":
        figures = soak_api(args.minutes, args.rate, args.workers)
    else:
        figures = soak_dashboard(args.minutes, args.visitors)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
