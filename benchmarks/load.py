"""Load test of the HTTP API on loopback: `python -m digitlib serve --workers W` started here, and N clients, each
on one keep-alive connection, posting drawings (MNIST test digits drawn as the dashboard's canvas hands them over)
as `curl -F image=@drawing.png` does, until the requests are spent; repeated --runs times on the same server.
With --page, each request is the one the API's drawing page (GET /) sends after a stroke: the 560x280 canvas as a
PNG body, to /predict?number=true&input=true.

Reports per run: throughput, p50/p95/p99 latency, errors, right answers, the CPU time of the server and of this
client per request (they share the machine's cores), each server process's memory (RSS and USS) and the load
average; then the median of the runs. The client is plain asyncio streams with the requests prepared beforehand,
so that it takes little of the CPU the server needs.

Closed loop by default: each client sends its next request as soon as the last is answered, so the latency is
about clients / throughput (Little's law). --rate R is an open loop: request i is due at i / R seconds, and its
latency counts from then, so a server that falls behind shows it (no coordinated omission). --visitors N is the open
loop as N pages make it: N connections, each drawing a digit every --every seconds (visitor v's requests due at
(v / N + k) * every), each on its own keep-alive connection as a browser keeps one, so the server holds N
connections (give it --max-connections for them: past its limit a worker answers 503).

.venv/bin/python benchmarks/load.py --workers 2 --clients 32 --requests 5000 [--runs 3] [--rate 200] [--page]
.venv/bin/python benchmarks/load.py --page --workers 2 --visitors 600 [--every 3] --max-connections 400
"""

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

from digitlib.data.synth import mnist_digits
from digitlib.reading.strokes import WIDTH

ROOT = Path(__file__).resolve().parent.parent
BOUNDARY = "digitlib-load-test"


def drawings(count, size=280, width=None):
    """(PNG bytes, label) of MNIST test digits as a canvas saves them: black strokes on a transparent picture,
    size x size, centred on a canvas `width` wide (default: size)."""
    images, labels = mnist_digits("test")
    width = width or size
    out = []
    for digit, label in zip(images[:count], labels[:count]):
        ink = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)) > 127
        rgba = np.zeros((size, width, 4), np.uint8)
        left = (width - size) // 2
        rgba[:, left : left + size, 3] = np.where(ink, 255, 0)
        buffer = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
        out.append((buffer.getvalue(), int(label)))
    return out


def page_request(png, port):
    """The bytes of POST /predict as the drawing page sends them after a stroke: the canvas's PNG as the body."""
    head = (
        f"POST /predict?number=true&input=true HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: image/png\r\nContent-Length: {len(png)}\r\n\r\n"
    )
    return head.encode() + png


def reading(body):
    """The digit or number read, from a reply's JSON body."""
    row = json.loads(body)
    return row["digit"] if "digit" in row else row["number"]


def request(png, port, query=""):
    """The bytes of POST /predict{query} with png as the multipart field `image`, as curl -F sends it."""
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="drawing.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + png
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    head = (
        f"POST /predict{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def exchange(reader, writer, data):
    """Send one request on a keep-alive connection; (status, body) of the reply."""
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    length = int({k.lower(): v for k, v in headers.items()}["content-length"])
    return int(lines[0].split()[1]), await reader.readexactly(length)


async def visit(port, requests, visitors, total, every):
    """Latencies (s), errors {kind: count}, right answers and seconds of `total` requests from `visitors` pages, each
    on its own connection, opened with its first request, and posting every `every` seconds (open loop: a request's
    latency counts from when it was due, and a page whose answer comes late sends its next one late)."""
    latencies, errors, right = [], {}, 0
    start = time.perf_counter()

    async def visitor(v):
        nonlocal right
        reader = writer = None
        try:
            for k in range(v, total, visitors):  # this visitor's requests, in the order of the whole run
                due = start + (v / visitors + k // visitors) * every
                await asyncio.sleep(due - time.perf_counter())
                data, label = requests[k % len(requests)]
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    status, body = await exchange(reader, writer, data)
                except (OSError, asyncio.IncompleteReadError) as e:
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    continue
                latencies.append(time.perf_counter() - due)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                else:
                    right += reading(body) in (label, str(label))
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(visitor(v) for v in range(visitors)))
    return latencies, errors, right, time.perf_counter() - start


async def load(port, requests, clients, total, rate):
    """Latencies (s), errors {kind: count}, right answers and seconds of `total` requests from `clients` clients."""
    latencies, errors, right, next_request = [], {}, 0, 0
    start = time.perf_counter()

    async def client():
        nonlocal right, next_request
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_request < total:
                i, next_request = next_request, next_request + 1
                data, label = requests[i % len(requests)]
                sent = time.perf_counter()
                if rate:  # due at i / rate: wait for then, and count the latency from then even if late
                    sent = start + i / rate
                    await asyncio.sleep(sent - time.perf_counter())
                try:
                    status, body = await exchange(reader, writer, data)
                except (OSError, asyncio.IncompleteReadError) as e:
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                latencies.append(time.perf_counter() - sent)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                else:
                    right += reading(body) in (label, str(label))
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, errors, right, time.perf_counter() - start


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, workers, *options):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "digitlib", "serve", "--port", str(port), "--workers", str(workers), *options]
    server = subprocess.Popen([*command, "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return server
        except OSError:
            time.sleep(0.3)
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
    server.terminate()
    raise SystemExit("the server did not answer /healthz within 120 s")


def processes(pid):
    """{role: psutil.Process} of the server: its workers, and with several workers uvicorn's supervisor too."""
    root = psutil.Process(pid)
    workers = [p for p in root.children() if "spawn_main" in " ".join(p.cmdline())]
    if not workers:
        return {"worker": root}
    return {"supervisor": root, **{f"worker{i + 1}": p for i, p in enumerate(workers)}}


def process_cpu(procs):
    """{role: user plus system CPU seconds so far}."""
    return {role: sum(p.cpu_times()[:2]) for role, p in procs.items()}


def memory_mib(procs):
    """{role: [RSS, USS]} in MiB."""
    out = {}
    for role, p in procs.items():
        info = p.memory_full_info()
        out[role] = [round(info.rss / 2**20), round(info.uss / 2**20)]
    return out


def run(port, requests, clients, total, rate, procs, every=None):
    """One run: the figures of `total` requests, as a dict; with `every`, `clients` are visitors (see visit)."""
    by_process, client_cpu = process_cpu(procs), time.process_time()
    server_cpu = sum(by_process.values())
    if every:
        latencies, errors, right, seconds = asyncio.run(visit(port, requests, clients, total, every))
    else:
        latencies, errors, right, seconds = asyncio.run(load(port, requests, clients, total, rate))
    by_process = {role: round(s - by_process[role], 2) for role, s in process_cpu(procs).items()}
    server_cpu, client_cpu = sum(by_process.values()), time.process_time() - client_cpu
    ms = 1000 * np.array(latencies)
    done = len(latencies)
    return {
        "requests": done,
        "errors": errors,
        "right": round(right / max(1, done), 4),
        "seconds": round(seconds, 2),
        "per_second": round(done / seconds, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "server_cpu_ms": round(1000 * server_cpu / done, 2),  # per request, all server processes
        "client_cpu_ms": round(1000 * client_cpu / done, 2),  # per request, this process
        "client_cpu_share": round(client_cpu / (client_cpu + server_cpu), 3),
        "cpu_s": by_process,  # each server process's CPU seconds in the run: how the workers shared the load
        "memory_mib": memory_mib(procs),  # [RSS, USS] per process, after the run
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main():
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--workers", type=int, nargs="+", default=[2], help="server workers, one server each")
    p.add_argument("--clients", type=int, nargs="+", default=[32], help="concurrent clients (connections)")
    p.add_argument("--requests", type=int, default=5000, help="requests per run")
    p.add_argument("--runs", type=int, default=3, help="runs of each setting; their median is reported")
    p.add_argument("--rate", type=float, default=None, help="requests per second, open loop (default: closed loop)")
    p.add_argument("--pictures", type=int, default=500, help="distinct drawings posted")
    p.add_argument("--page", action="store_true", help="the drawing page's request (560x280 canvas, input=true)")
    p.add_argument("--visitors", type=int, nargs="+", default=None, help="pages, each on a connection of its own")
    p.add_argument("--every", type=float, default=3.0, help="with --visitors: seconds between a page's requests")
    p.add_argument("--max-connections", type=int, default=None, help="serve's --max-connections (default: serve's)")
    args = p.parse_args()
    width = WIDTH if args.page else None
    pictures = drawings(args.pictures, width=width)
    size = f"{width or 280}x280"
    print(f"{len(pictures)} drawings, {size}, {np.mean([len(d) for d, _ in pictures]) / 1e3:.1f} kB each", flush=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()} before", flush=True)
    for workers in args.workers:
        port = free_port()
        options = [] if args.max_connections is None else ["--max-connections", str(args.max_connections)]
        server = start_server(port, workers, *options)
        try:
            procs = processes(server.pid)
            make = page_request if args.page else request
            requests = [(make(png, port), label) for png, label in pictures]
            print(json.dumps({"workers": workers, "idle_memory_mib": memory_mib(procs)}), flush=True)
            run(port, requests, 2, 100, None, procs)  # warm-up
            every = args.every if args.visitors else None
            for clients in args.visitors or args.clients:
                setting = {"workers": workers, "clients": clients, "rate": args.rate, "page": args.page}
                if every:
                    visitors = {"visitors": clients, "every": every, "rate": round(clients / every, 1)}
                    setting = {"workers": workers, **visitors, "page": args.page}
                    setting["max_connections"] = args.max_connections
                runs = []
                for _ in range(args.runs):
                    runs.append(run(port, requests, clients, args.requests, args.rate, procs, every))
                    print(json.dumps({**setting, **runs[-1]}), flush=True)
                figures = ["per_second", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms", "client_cpu_ms"]
                median = {k: statistics.median(r[k] for r in runs) for k in figures}
                errors = sum(sum(r["errors"].values()) for r in runs)
                print(json.dumps({**setting, "median_of_runs": len(runs), **median, "errors": errors}), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
