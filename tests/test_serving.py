"""The dashboard's server (voila.json, digitlib.apps.voila_kernels): a ceiling on kernels; uploads Tornado lets through.

The ceiling test starts a real Voila server on a loopback port and requests the page with plain HTTP, as a
script would; it writes its figures to tests/artifacts/serving.json.
"""

import json
import time
import urllib.error
import urllib.request

import psutil
from serving import kernels, serve_dashboard, wait_until_warm

from digitlib.constants import ROOT

CEILING = 3  # voila.json's pool of 2 preheated kernels, plus one


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


def test_tornado_lets_through_an_upload_past_the_app_limit_so_the_app_can_refuse_it():
    from digitlib.apps.dashboard import MAX_UPLOAD

    limit = voila_config()["Voila"]["tornado_settings"]["websocket_max_message_size"]
    assert limit >= 2 * MAX_UPLOAD  # room for base64 (4/3) and the message's JSON, and a file a little over the limit


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
        while (log := (tmp_path / "voila.log").read_text()).count("Culling") < CEILING:
            assert time.monotonic() < deadline, f"kernels were not culled:\n{log[-3000:]}"
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
