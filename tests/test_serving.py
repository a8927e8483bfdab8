"""The dashboard's server (voila.json, digitlib.apps.voila_kernels): a ceiling on kernels; uploads Tornado lets through.

The ceiling test starts a real Voila server on a loopback port and requests the page with plain HTTP, as a
script would; it writes its figures to tests/artifacts/serving.json.
"""

import asyncio
import json
import time
import types
import urllib.error
import urllib.request

import psutil
from pages import visitor_reads
from serving import kernels, serve_dashboard, wait_until_warm
from strokes import strokes

from digitlib.apps.voila_kernels import CappedKernelManager
from digitlib.constants import ROOT

CEILING = 3  # voila.json's pool of 2 preheated kernels, plus one
ENDED = ("Culling", "No page connected to kernel")  # the server's log, as it shuts down an idle or unconnected kernel


def voila_config():
    return json.loads((ROOT / "voila.json").read_text())


def get(url):
    """(status, body, seconds) of one plain GET."""
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=120) as reply:
            status, body = reply.status, reply.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    return status, body, time.monotonic() - start


def test_the_shipped_kernel_ceiling_fits_a_24_gib_machine():
    ceiling = voila_config()["CappedKernelManager"]["max_kernels"]
    assert 2 <= ceiling <= 16  # at about 350 MiB of its own per kernel, plus the shared libraries


def test_tornado_lets_through_an_upload_past_the_app_limit_so_the_app_can_refuse_it_and_no_more():
    from digitlib.apps.dashboard import MAX_UPLOAD

    limit = voila_config()["Voila"]["tornado_settings"]["websocket_max_message_size"]
    # an upload travels as a binary buffer beside a little JSON (tests/test_protocol_fuzz.py sends one of 11 MB)
    assert 1.1 * MAX_UPLOAD < limit < 1.5 * MAX_UPLOAD


def test_page_requests_past_the_kernel_ceiling_get_a_busy_page_and_the_server_recovers(tmp_path):
    options = [
        f"--CappedKernelManager.max_kernels={CEILING}",
        "--MappingKernelManager.cull_idle_timeout=45",
        "--MappingKernelManager.cull_interval=2",
    ]
    with serve_dashboard(tmp_path / "voila.log", *options) as server:
        process = psutil.Process(server.pid)
        rss_before = process.memory_info().rss
        replies, counts = [], []
        for _ in range(3 * CEILING):  # a script requesting the page in a loop
            replies.append(get(server.url))
            counts.append(len(kernels(server)))
            assert counts[-1] <= CEILING, f"{counts[-1]} kernels after {len(replies)} requests"
        rss_after = process.memory_info().rss
        statuses = [status for status, _, _ in replies]
        busy = [(body, seconds) for status, body, seconds in replies if status == 503]

        # idle kernels of pages no one opened are culled; the pool refills and the page is served again
        deadline = time.monotonic() + 120
        while sum(map((tmp_path / "voila.log").read_text().count, ENDED)) < CEILING:
            assert time.monotonic() < deadline, "kernels were not shut down"
            time.sleep(2)
        wait_until_warm(server)
        after_culling = get(server.url)

    (ROOT / "tests" / "artifacts").mkdir(exist_ok=True)
    (ROOT / "tests" / "artifacts" / "serving.json").write_text(
        json.dumps(
            {
                "ceiling": CEILING,
                "statuses": statuses,
                "kernels_after_each_request": counts,
                "seconds_per_request": [round(seconds, 3) for _, _, seconds in replies],
                "server_rss_mib_before_and_after": [round(rss_before / 2**20), round(rss_after / 2**20)],
                "status_after_culling": after_culling[0],
            },
            indent=2,
        )
    )
    assert statuses == [200] * CEILING + [503] * (2 * CEILING)
    assert all("The dashboard is busy, try again in a minute" in body and "Traceback" not in body for body, _ in busy)
    assert max(seconds for _, seconds in busy) < 5
    assert rss_after - rss_before < 50 * 2**20
    assert after_culling[0] == 200


FLOOD_GETS, FLOOD_S = 24, 10  # plain GETs of the page, spread over this many seconds, no page connecting
USABLE_WITHIN_S = 30  # after the last GET, a visitor draws and gets a reading within this


async def flood(url):
    """FLOOD_GETS plain GETs of the page, started FLOOD_S / FLOOD_GETS s apart without waiting for the replies;
    returns their statuses."""
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient(force_instance=True, max_clients=FLOOD_GETS)

    async def fetch(delay):
        await asyncio.sleep(delay)
        reply = await client.fetch(url, raise_error=False, request_timeout=120)
        return reply.code

    return await asyncio.gather(*(fetch(i * FLOOD_S / FLOOD_GETS) for i in range(FLOOD_GETS)))


def test_plain_gets_that_fill_the_kernel_ceiling_leave_the_dashboard_usable_within_30_s(tmp_path):
    """Every GET of the page takes a kernel, and no page connects to these: they are shut down after voila.json's
    connect_timeout, not after the two minutes of the idle cull, and the pool's kernels are kept."""
    with serve_dashboard(tmp_path / "voila.log") as server:
        started = time.monotonic()
        statuses = asyncio.run(flood(server.url))
        flooded = started + FLOOD_S  # the last GET
        attempts, reading = 0, ""
        while time.monotonic() - flooded < 2 * USABLE_WITHIN_S and "7" not in reading:
            attempts += 1
            try:
                reading = asyncio.run(asyncio.wait_for(visitor_reads(server.url, strokes(7)), 2 * USABLE_WITHIN_S))
            except Exception:  # a busy page (503) while the ceiling is full: try again, as a visitor would
                time.sleep(1)
        usable_after = time.monotonic() - flooded
        log = (tmp_path / "voila.log").read_text()

    record = {"statuses": statuses, "visitor_attempts": attempts, "usable_after_s": round(usable_after, 1)}
    (ROOT / "tests" / "artifacts").mkdir(exist_ok=True)
    (ROOT / "tests" / "artifacts" / "serving_flood.json").write_text(json.dumps(record, indent=2))
    assert statuses.count(200) == voila_config()["CappedKernelManager"]["max_kernels"], record
    assert "7" in reading and usable_after < USABLE_WITHIN_S, record
    assert "No page connected to kernel" in log


def test_a_visitor_who_leaves_frees_their_kernel_after_connect_timeout(tmp_path):
    """Not only pages that never connect: a kernel whose page has drawn and left is shut down once it has had no
    page for connect_timeout, long before the idle cull, and the pool is filled again."""
    options = ["--CappedKernelManager.connect_timeout=3", "--MappingKernelManager.cull_idle_timeout=600"]
    with serve_dashboard(tmp_path / "voila.log", *options) as server:
        wait_until_warm(server)
        pool = len(kernels(server))
        assert "7" in asyncio.run(asyncio.wait_for(visitor_reads(server.url, strokes(7)), 120))
        left = time.monotonic()
        while (
            time.monotonic() - left < 60 and "No page connected to kernel" not in (tmp_path / "voila.log").read_text()
        ):
            time.sleep(0.5)
        freed_after = time.monotonic() - left
        wait_until_warm(server)
        after = len(kernels(server))
    assert freed_after < 30, freed_after  # 3 s of connect_timeout, checked every second; not the 600 s cull
    assert after == pool


def watched(manager, session):
    """A stand-in kernel whose IOPub messages manager watches; returns (kernel, the callback fed each message)."""
    streams = []
    kernel = types.SimpleNamespace(session=session, execution_state="starting")
    kernel.connect_iopub = lambda: types.SimpleNamespace(on_recv=streams.append)
    manager._kernels["k"] = kernel
    manager.start_watching_activity("k")
    return kernel, streams[0]


def test_kernel_activity_is_recorded_as_jupyter_server_records_it():
    """The ceiling's manager reads a kernel's state and last activity from headers alone (cheaper); jupyter_server's
    own watcher, fed the same IOPub messages, must come to the same state and the same moments of activity."""
    from jupyter_client.session import Session
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

    session = Session(key=b"secret")
    ours, reference = watched(CappedKernelManager(), session), watched(AsyncMappingKernelManager(), session)
    info, comm = session.msg("kernel_info_request"), session.msg("comm_msg", content={})
    messages = [
        session.msg("status", content={"execution_state": "busy"}, parent=info),  # untracked: starting -> idle
        session.msg("status", content={"execution_state": "idle"}, parent=info),
        session.msg("status", content={"execution_state": "busy"}, parent=comm),  # tracked: busy
        session.msg("comm_msg", content={"comm_id": "c", "data": {}}, parent=comm),
        session.msg("stream", content={"name": "stdout", "text": "x"}, parent=info),  # while busy: activity
        session.msg("status", content={"execution_state": "idle"}, parent=comm),
        session.msg("stream", content={"name": "stdout", "text": "x"}, parent=info),  # idle, untracked: none
    ]
    for msg in messages:
        states = []
        for kernel, record in (ours, reference):
            before = kernel.last_activity
            time.sleep(0.001)  # so that a new activity has a later time
            record(session.serialize(msg))
            states.append((kernel.execution_state, kernel.last_activity > before))
        assert states[0] == states[1], (msg["msg_type"], states)
    kernel, record = ours
    before = (kernel.execution_state, kernel.last_activity)
    record([b"<IDS|MSG>", b"signature", b"not json", b"{}", b"{}", b"{}"])  # dropped: no activity, no error
    record([b"no delimiter"])
    assert (kernel.execution_state, kernel.last_activity) == before
