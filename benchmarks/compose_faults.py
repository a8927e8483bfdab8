"""deploy/compose.yaml running (3 API replicas, 2 dashboard replicas, nginx on :8000 and :8866), driven from outside:

- load: benchmarks/load.py's closed loop through nginx: requests/s, p50/p95, errors, right answers; each
  container's memory after it (podman/docker stats).
- api-fault: an open loop through nginx; one API replica's process killed (SIGKILL from the host, as the OOM killer
  does) part-way: failed requests, when they happened, seconds until the replica answers again (restart policy).
- dashboard: Chromium visitors through nginx, each in a browser context of its own (its own cookie): each draws
  a 3; nginx's log shows every request of a visitor, its websocket included, on one replica (sticky). Then one
  dashboard replica's process is killed and every visitor draws a 7: what each sees (the other replica's visitors
  read it; the killed one's get the pad's "connection lost" notice), seconds until the replica is back, and a
  reload there reads again. Screenshots go to --out.
- corrections: with DIGITLIB_CORRECTIONS=on, two visitors each correct a drawing; the corrections volume's files
  (sha256) are compared before and after `compose down` and `compose up -d`.

Each part prints JSON lines with the load average. Run from the repository's top folder, the stack up:
    (cd deploy && DIGITLIB_CORRECTIONS=on podman-compose up -d)
    .venv/bin/python benchmarks/compose_faults.py load api-fault dashboard corrections [--engine podman]
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "browser"), str(ROOT)]
from load import drawings, exchange, load, request  # noqa: E402
from serving import CHROMIUM_ARGS  # noqa: E402
from strokes import strokes  # noqa: E402

from digitlib.apps.dashboard import WIDTH  # noqa: E402

API, DASHBOARD = 8000, 8866
PROJECT = "deploy"  # compose's project: the folder of compose.yaml


def say(**figures):
    print(json.dumps({**figures, "load_average": [round(x, 2) for x in os.getloadavg()]}), flush=True)


class Stack:
    """The running stack's containers, through docker or podman."""

    def __init__(self, engine):
        self.engine = engine

    def run(self, *args):
        result = subprocess.run([self.engine, *args], capture_output=True, text=True)
        return (result.stdout + result.stderr).strip() if args[0] == "logs" else result.stdout.strip()

    def name(self, service, n):
        names = self.run("ps", "--format", "{{.Names}}").split()
        return next(x for x in names if x in (f"{PROJECT}_{service}_{n}", f"{PROJECT}-{service}-{n}"))

    def address(self, name):
        return self.run("inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)

    def kill(self, name):
        """SIGKILL to the container's main process, from the host: a crash, which the restart policy answers
        (`kill` by the engine would count as stopped by hand)."""
        os.kill(int(self.run("inspect", "--format", "{{.State.Pid}}", name)), 9)
        return time.monotonic()

    def memory(self):
        rows = self.run("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}").splitlines()
        return {row.split()[0]: " ".join(row.split()[1:]) for row in rows}

    def proxy_log(self):
        return self.run("logs", self.name("proxy", 1)).splitlines()


def answers(url, timeout=1):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status == 200
    except OSError:
        return False


def back(url, since, limit=120):
    """Seconds from `since` until url answers (polled every 0.25 s)."""
    while time.monotonic() - since < limit:
        if answers(url):
            return round(time.monotonic() - since, 1)
        time.sleep(0.25)
    return None


def part_load(stack, args):
    pictures = drawings(500)
    requests = [(request(png, API), label) for png, label in pictures]
    asyncio.run(load(API, requests, 2, 100, None))  # warm-up
    for _ in range(args.runs):
        latencies, errors, right, seconds = asyncio.run(load(API, requests, args.clients, args.requests, None))
        ms = 1000 * np.array(latencies)
        say(
            part="load through nginx",
            clients=args.clients,
            requests=len(latencies),
            per_second=round(len(latencies) / seconds, 1),
            p50_ms=round(float(np.percentile(ms, 50)), 1),
            p95_ms=round(float(np.percentile(ms, 95)), 1),
            errors=errors,
            right=round(right / max(1, len(latencies)), 4),
        )
    say(part="memory after the load", memory=stack.memory())


async def open_loop(requests, rate, seconds, events):
    """Requests due at i / rate for `seconds`, on 16 keep-alive connections; events: (time, "ok" or the error)."""
    start, total = time.monotonic(), int(rate * seconds)
    queue = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def client():
        reader = writer = None
        while not queue.empty():
            i = queue.get_nowait()
            await asyncio.sleep(start + i / rate - time.monotonic())
            data, label = requests[i % len(requests)]
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", API)
                status, body = await exchange(reader, writer, data)
                events.append((time.monotonic(), "ok" if status == 200 else str(status)))
            except (OSError, asyncio.IncompleteReadError) as e:
                events.append((time.monotonic(), type(e).__name__))
                writer = None

    await asyncio.gather(*(client() for _ in range(16)))
    return start


def part_api_fault(stack, args):
    requests = [(request(png, API), label) for png, label in drawings(200)]
    victim = stack.name("api", 2)
    url = f"http://{stack.address(victim)}:{API}/healthz"
    events, killed = [], {}

    def kill_later():
        time.sleep(args.kill_after)
        killed["at"] = stack.kill(victim)
        killed["back_s"] = back(url, killed["at"])

    killer = threading.Thread(target=kill_later)
    killer.start()
    asyncio.run(open_loop(requests, args.rate, args.seconds, events))
    killer.join()
    failed = [(t - killed["at"], e) for t, e in events if e != "ok"]
    say(
        part="one API replica killed under load",
        rate=args.rate,
        seconds=args.seconds,
        killed=victim,
        killed_after_s=args.kill_after,
        requests=len(events),
        failed=len(failed),
        failures={e: sum(1 for _, x in failed if x == e) for _, e in failed},
        failed_between_s=[round(failed[0][0], 2), round(failed[-1][0], 2)] if failed else None,
        replica_answers_again_after_s=killed["back_s"],
        restarts=stack.run("inspect", "--format", "{{.RestartCount}}", victim),
    )


STATUS = "() => (document.querySelector('.digit-status') || {}).innerText?.includes('Draw a digit')"


async def draw(page, digit):
    """Draw a digit with the mouse on the dashboard's pad (tests/browser/strokes.py's strokes)."""
    box = await page.locator(".digit-canvas").bounding_box()
    scale = box["width"] / WIDTH
    for points in strokes(digit, jitter=0.01, seed=digit):
        at = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]
        await page.mouse.move(*at[0])
        await page.mouse.down()
        for x, y in at[1:]:
            await page.mouse.move(x, y, steps=2)
        await page.mouse.up()


async def reads(page, digit, timeout=30_000):
    await page.locator(".digit-clear").click()
    await page.wait_for_function("() => document.querySelector('.digit-prediction').innerText.trim() === ''")
    await draw(page, digit)
    query = f"() => document.querySelector('.digit-prediction').innerText.trim() === '{digit}'"
    await page.wait_for_function(query, timeout=timeout)


async def visitors(browser, count):
    """(page, cookie) of `count` visitors, each in a context of its own, each with its page loaded and a 3 read."""
    out = []
    for _ in range(count):
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{DASHBOARD}/", timeout=120_000)
        await page.wait_for_function(STATUS, timeout=120_000)
        await reads(page, 3)
        cookie = next(c["value"] for c in await context.cookies() if c["name"] == "digitlib_replica")
        out.append((page, cookie))
    return out


def replicas_of(log, cookie, names):
    """{replica: requests} of one visitor's requests in nginx's log, and how many were websockets (101)."""
    mine = [line for line in log if f"key={cookie}" in line]
    upstream = [line.split("upstream=")[1].split(":")[0] for line in mine]
    return {names.get(u, u): upstream.count(u) for u in set(upstream)}, sum('" 101 ' in line for line in mine)


async def dashboard_fault(stack, args):
    from playwright.async_api import async_playwright

    names = {stack.address(stack.name("dashboard", n)): stack.name("dashboard", n) for n in (1, 2)}
    async with async_playwright() as p:
        options = {"executable_path": "/usr/bin/chromium"} if os.path.exists("/usr/bin/chromium") else {}
        browser = await p.chromium.launch(headless=True, args=CHROMIUM_ARGS, **options)
        pages = await visitors(browser, args.visitors)
        victim = stack.name("dashboard", 1)
        killed = stack.kill(victim)
        ip = next(a for a, n in names.items() if n == victim)
        back_s = back(f"http://{ip}:{DASHBOARD}/voila/static/favicon.ico", killed)
        seen = []
        for page, cookie in pages:  # every visitor draws a 7 after the kill
            await page.locator(".digit-clear").click()
            await draw(page, 7)
        await asyncio.sleep(args.lost_wait)
        log = stack.proxy_log()  # a closed websocket is logged (101) once it has closed: the killed replica's
        for i, (page, cookie) in enumerate(pages):
            shown = (await page.locator(".digit-prediction").inner_text()).strip()
            lost = await page.locator(".digit-lost").is_visible()
            await page.screenshot(path=str(args.out / f"visitor{i}_after_kill.png"))
            on, websockets = replicas_of(log, cookie, names)
            seen.append({"visitor": i, "replicas": on, "closed_websockets": websockets, "reads": shown, "lost": lost})
        reloaded = None
        for page, cookie in pages:
            if await page.locator(".digit-lost").is_visible():
                began = time.monotonic()
                await page.locator(".digit-lost button").click()
                await page.wait_for_function(STATUS, timeout=120_000)
                await reads(page, 7)
                reloaded = round(time.monotonic() - began, 1)
                await page.screenshot(path=str(args.out / "visitor_reloaded.png"))
                break
        await browser.close()
    say(part="sticky, then one dashboard replica killed", killed=victim, replica_back_after_s=back_s, visitors=seen)
    say(part="a visitor of the killed replica reloads", reloaded_and_read_a_7_after_s=reloaded)
    log = stack.proxy_log()
    sticky = [replicas_of(log, cookie, names) for _, cookie in pages]
    say(part="each visitor's requests by replica, at the end (websockets closed: 101)", visitors=sticky)


async def correct(browser, digit, label):
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(f"http://127.0.0.1:{DASHBOARD}/", timeout=120_000)
    await page.wait_for_function(STATUS, timeout=120_000)
    await reads(page, digit)
    await page.locator(f".digit-correct-{label}").click()
    await page.wait_for_function(
        f"() => document.querySelector('.digit-status').innerText.includes('Saved as a {label}')", timeout=30_000
    )
    await context.close()


def corrections_state(stack):
    """(files, a sha256 over every file) of the corrections volume, read inside a dashboard replica."""
    script = "cd /data/corrections && find . -type f | sort | xargs sha256sum | tee /dev/stderr | sha256sum"
    name = stack.name("dashboard", 1)
    files = stack.run("exec", name, "sh", "-c", "find /data/corrections -type f | wc -l")
    return int(files), stack.run("exec", name, "sh", "-c", script + " 2>/dev/null").split()[0]


def part_corrections(stack, args):
    from playwright.async_api import async_playwright

    async def two():
        async with async_playwright() as p:
            options = {"executable_path": "/usr/bin/chromium"} if os.path.exists("/usr/bin/chromium") else {}
            browser = await p.chromium.launch(headless=True, args=CHROMIUM_ARGS, **options)
            await correct(browser, 7, 1)
            await correct(browser, 3, 8)
            await browser.close()

    asyncio.run(two())
    before = corrections_state(stack)
    compose = args.compose.split()
    began = time.monotonic()
    subprocess.run([*compose, "down"], cwd=ROOT / "deploy", capture_output=True, check=True)
    subprocess.run([*compose, "up", "-d"], cwd=ROOT / "deploy", capture_output=True, check=True)
    up_s = back(f"http://127.0.0.1:{DASHBOARD}/voila/static/favicon.ico", began)
    api_s = back(f"http://127.0.0.1:{API}/healthz", began)
    after = corrections_state(stack)
    say(
        part="corrections across a restart of the whole stack",
        files_before=before[0],
        files_after=after[0],
        same_sha256=before == after,
        dashboard_answers_after_s=up_s,
        api_answers_after_s=api_s,
    )


def main():
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("parts", nargs="+", choices=["load", "api-fault", "dashboard", "corrections"])
    p.add_argument("--engine", default="podman", help="docker or podman")
    p.add_argument("--compose", default="podman-compose", help="the compose command, for `down` and `up -d`")
    p.add_argument("--clients", type=int, default=32, help="load: concurrent clients")
    p.add_argument("--requests", type=int, default=5000, help="load: requests per run")
    p.add_argument("--runs", type=int, default=3, help="load: runs")
    p.add_argument("--rate", type=float, default=150, help="api-fault: requests per second, open loop")
    p.add_argument("--seconds", type=float, default=30, help="api-fault: how long")
    p.add_argument("--kill-after", type=float, default=10, help="api-fault: seconds before the kill")
    p.add_argument("--visitors", type=int, default=4, help="dashboard: Chromium visitors")
    p.add_argument("--lost-wait", type=float, default=12, help="dashboard: seconds after drawing before looking")
    p.add_argument("--out", type=Path, default=ROOT / "tests" / "artifacts" / "compose", help="screenshots")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    stack = Stack(args.engine)
    say(part="start", memory=stack.memory())
    for part in args.parts:
        if part == "load":
            part_load(stack, args)
        elif part == "api-fault":
            part_api_fault(stack, args)
        elif part == "dashboard":
            asyncio.run(dashboard_fault(stack, args))
        else:
            part_corrections(stack, args)


if __name__ == "__main__":
    main()
