"""A classroom arriving at once: N visitors open the dashboard together and each draws digits.

Voila serves notebooks/06_dashboard.ipynb on a loopback port. The visitors are either

- light (the default): each speaks the page's own protocol to the server, as the page's scripts do, without
  rendering anything: it loads the page, opens the kernel's websocket, asks for the widgets' state, then sends the
  canvas's mouse events for each stroke and waits for the probabilities to change, then looks at the reading for
  --look seconds (2 by default: a pupil reads the digit and the pictures that explain it, which the dashboard makes
  once the pen has rested) before the next digit. This is the server's side of a classroom, whose browsers run on
  the pupils' own devices; or
- Chromium (--chromium): N headless pages (Playwright) on the same cores as the server and its kernels, so the
  figures are an upper bound: 8 browsers take most of a 2-core machine.

Reported: seconds from starting the server to its pool's kernels started and idle; seconds from asking for the page
to an interactive canvas (light: page loaded, widgets' state received; Chromium: the invitation shown), the ms from
each release of the mouse to the new probabilities (p50, p95), whether every reading was right, each kernel's memory
of its own (USS), and the load average; and the CPU seconds the run took in the server, in the kernels that were warm
when it began and in this process (the light pages, or Playwright's side of the Chromium ones), with the light pages'
pointer moves sent and messages received, and how many readings' pictures came while the visitor looked, how long
after the reading.

    .venv/bin/python benchmarks/classroom.py [--visitors 8] [--digits 3] [--look 2] [--pool 2] [--fill-delay 0]
        [--max-kernels 40] [--chromium]

A class of 30 as docs/dashboard.md tells a teacher to serve it: --visitors 30 --pool 30 --fill-delay 20
--max-kernels 32.

Bounded: at most 30 light visitors (a class; 16 Chromium ones) and 10 digits each, under a kernel ceiling of at most
40 (default 40: room for the pool's refills); the whole run stops after --timeout seconds (default 300).
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from digitlib.constants import ROOT

sys.path.insert(0, str(ROOT / "tests" / "browser"))
from pages import click, draw, open_page  # noqa: E402
from serving import CHROMIUM_ARGS, kernels, serve_dashboard  # noqa: E402
from strokes import strokes  # noqa: E402

from digitlib.apps.dashboard import WIDTH  # noqa: E402

MAX_VISITORS, MAX_CHROMIUM = 30, 16  # light visitors, and Chromium ones (browsers on the server's own cores)
KERNEL_CEILING = 40  # the most --max-kernels (Voila's --CappedKernelManager.max_kernels) for a run

# the page's clock at each mouse release and at each update of the probabilities (set after the digit)
WATCH = """() => {
  window.__up = 0; window.__shown = 0;
  document.addEventListener('mouseup', () => { window.__up = performance.now(); }, true);
  new MutationObserver(() => { window.__shown = performance.now(); })
    .observe(document.querySelector('.digit-probabilities'), {childList: true, subtree: true, characterData: true});
}"""
READY = "() => (document.querySelector('.digit-status') || {}).innerText?.includes('Draw a digit')"
# cleared: the invitation alone could still be the one from before the last reading, whose status comes after its bars
CLEARED = (
    "() => document.querySelector('.digit-prediction').innerText.trim() === ''"
    " && document.querySelector('.digit-status').innerText.includes('Draw a digit')"
)


async def light_visitor(url, digits, start, look):
    """One visitor, light (tests/browser/pages.py): load the page, connect, get the widgets, then draw each digit
    (clearing in between), looking at each reading for `look` seconds; returns (seconds to interactive, [(digit,
    shown, ms release to new probabilities)], the page, [ms from each reading to its pictures, None if they did not
    come while the visitor looked])."""
    page = await open_page(url)
    interactive = time.monotonic() - start
    readings, pictures = [], []
    for digit in digits:
        await click(page, "digit-clear", "digit-status", "Draw a digit")
        latency = await draw(page, strokes(digit, jitter=0.01, seed=digit))
        readings.append((digit, page.states[page.find("digit-prediction")]["value"], latency))
        if look:
            read, shown = time.monotonic(), page.next_change(page.find("digit-features"))
            try:
                await asyncio.wait_for(shown, look)
                pictures.append((time.monotonic() - read) * 1000)
            except TimeoutError:
                pictures.append(None)
            await asyncio.sleep(max(0.0, look - (time.monotonic() - read)))
    page.ws.close()
    return interactive, readings, page, pictures


async def visitor(browser, url, digits, start):
    """One visitor: open the page, then draw each digit (clearing in between); returns seconds to interactive,
    [(digit, shown, ms release to digit)]."""
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    await page.goto(url, wait_until="commit", timeout=120_000)
    await page.wait_for_function(READY, timeout=120_000)
    interactive = time.monotonic() - start
    await page.evaluate(WATCH)
    canvas = page.locator(".digit-canvas")
    readings = []
    for digit in digits:
        await page.locator(".digit-clear").click()
        await page.wait_for_function(CLEARED)
        box = await canvas.bounding_box()
        scale = box["width"] / WIDTH
        for points in strokes(digit, jitter=0.01, seed=digit):
            await page.evaluate("() => { window.__shown = 0; }")
            at = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]
            await page.mouse.move(*at[0])
            await page.mouse.down()
            for x, y in at[1:]:
                await page.mouse.move(x, y, steps=2)
            await page.mouse.up()
            await page.wait_for_function("() => window.__shown > window.__up", timeout=30_000)
        latency = await page.evaluate("() => window.__shown - window.__up")
        shown = (await page.locator(".digit-prediction").inner_text()).strip()
        readings.append((digit, shown, latency))
    return page, interactive, readings


async def chromium_visitors(url, visitors, digits_each, start, server, look):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        options = {"executable_path": "/usr/bin/chromium"} if os.path.exists("/usr/bin/chromium") else {}
        browser = await p.chromium.launch(headless=True, args=CHROMIUM_ARGS, **options)
        done = await asyncio.gather(
            *(visitor(browser, url, [(i + k) % 10 for k in range(digits_each)], start) for i in range(visitors))
        )
        uss = kernel_uss(server)  # with every page still open
        for page, _, _ in done:
            await page.close()
        await browser.close()
    return [(interactive, readings) for _, interactive, readings in done], uss, {}


async def light_visitors(url, visitors, digits_each, start, server, look):
    done = await asyncio.gather(
        *(light_visitor(url, [(i + k) % 10 for k in range(digits_each)], start, look) for i in range(visitors))
    )
    counts = {
        "moves_sent": sum(p.moves for _, _, p, _ in done),
        "messages_received": sum(p.received for _, _, p, _ in done),
    }
    if look:
        waits = [ms for *_, pictures in done for ms in pictures]
        shown = [ms for ms in waits if ms is not None]
        counts["pictures_shown"] = f"{len(shown)} of {len(waits)} while the visitor looked"
        if shown:
            counts["reading_to_pictures_ms"] = {
                "p50": round(statistics.median(shown)),
                "p95": round(float(np.percentile(shown, 95))),
            }
    return [(interactive, readings) for interactive, readings, _, _ in done], kernel_uss(server), counts


def kernel_uss(server):
    return sorted(round(k.memory_full_info().uss / 2**20) for k in kernels(server))


def cpu_seconds(process):
    """User plus system CPU seconds of a process so far; 0 once it has ended."""
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


async def classroom(url, server, visitors, digits_each, chromium, look):
    watched = {"server": [psutil.Process(server.pid)], "kernels": kernels(server)}  # the pool's kernels, warm
    cpu_before = {name: [cpu_seconds(p) for p in processes] for name, processes in watched.items()}
    client_before = time.process_time()
    start = time.monotonic()
    run = chromium_visitors if chromium else light_visitors
    done, uss, counts = await run(url, visitors, digits_each, start, server, look)
    cpu = {
        name: round(sum(cpu_seconds(p) - b for p, b in zip(processes, cpu_before[name])), 2)
        for name, processes in watched.items()
    }
    cpu["client"] = round(time.process_time() - client_before, 2)
    latencies = [ms for _, readings in done for *_, ms in readings]
    readings = [(d, s) for _, r in done for d, s, _ in r]
    return {
        "visitors": f"{visitors} {'Chromium pages' if chromium else 'light (protocol only)'}",
        "digits_each": digits_each,
        "seconds_to_interactive": sorted(round(t, 2) for t, _ in done),
        "release_to_digit_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(float(np.percentile(latencies, 95)), 1),
            "max": round(max(latencies), 1),
        },
        "read_right": sum(str(d) == s for d, s in readings),
        "of": len(readings),
        "misread": [(d, s) for d, s in readings if str(d) != s],
        "kernel_uss_mib": uss,  # the visitors' kernels and the pool's refills
        "cpu_s": cpu,
        **counts,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--visitors",
        type=int,
        default=8,
        help=f"pages opened at once, 1 to {MAX_VISITORS} ({MAX_CHROMIUM} with --chromium; default: 8)",
    )
    parser.add_argument("--digits", type=int, default=3, help="digits each visitor draws, 1 to 10 (default: 3)")
    parser.add_argument("--pool", type=int, default=2, help="Voila's preheated kernels (default: 2, as voila.json)")
    parser.add_argument("--fill-delay", type=float, default=0, help="seconds before the pool refills (voila.json: 0)")
    parser.add_argument(
        "--max-kernels",
        type=int,
        default=KERNEL_CEILING,
        help=f"the kernel ceiling, at most {KERNEL_CEILING} (default)",
    )
    parser.add_argument(
        "--look",
        type=float,
        default=2,
        help="seconds a light visitor looks at each reading (and its pictures) before the next digit (default: 2)",
    )
    parser.add_argument("--chromium", action="store_true", help="visitors are headless Chromium pages on this machine")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the whole run (default: 300)")
    args = parser.parse_args()
    most = MAX_CHROMIUM if args.chromium else MAX_VISITORS
    visitors, digits = min(max(args.visitors, 1), most), min(max(args.digits, 1), 10)
    look = 0 if args.chromium else min(max(args.look, 0), 10)
    ceiling = min(max(args.max_kernels, 1), KERNEL_CEILING)
    with tempfile.TemporaryDirectory() as tmp:
        options = [
            f"--VoilaConfiguration.default_pool_size={args.pool}",
            f"--VoilaKernelManager.fill_delay={args.fill_delay}",
            f"--CappedKernelManager.max_kernels={ceiling}",
        ]
        started = time.monotonic()
        with serve_dashboard(Path(tmp) / "voila.log", *options) as server:
            warm = round(time.monotonic() - started, 1)  # the server started and its pool's kernels idle
            before = [round(x, 2) for x in os.getloadavg()]
            run = classroom(server.url, server, visitors, digits, args.chromium, look)
            figures = asyncio.run(asyncio.wait_for(run, args.timeout))
    settings = {"pool": args.pool, "fill_delay": args.fill_delay, "max_kernels": ceiling, "look_s": look}
    figures = {**settings, "seconds_to_warm_pool": warm, "load_average_before": before, **figures}
    print(json.dumps(figures, indent=2))
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    kind = "chromium" if args.chromium else "light"
    (artifacts / f"classroom_{visitors}_{kind}_pool{args.pool}.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
