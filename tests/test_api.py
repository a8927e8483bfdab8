"""The HTTP API (digitlib.apps.api), in process through httpx: what POST /predict, GET /models and GET /healthz answer,
and each kind of bad request: a 4xx with the CLI's one-line message in JSON, never a traceback. Then `serve` itself."""

import asyncio
import base64
import concurrent.futures
import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import httpx
import numpy as np
import pytest
from drawings import drawing, wavy_line
from odd_files import encode, png_header
from PIL import Image

from digitlib.apps import api
from digitlib.apps.cli import main
from digitlib.constants import ROOT
from digitlib.reading.answers import UNSURE
from digitlib.reading.images import FORMATS
from digitlib.reading.onnx_model import OnnxPredictor, exported
from digitlib.reading.rows import read
from digitlib.reading.strokes import PEN_RANGE

MAX_BYTES = 300_000
# subprocesses run the digitlib beside these tests, whichever copy is installed
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


@pytest.fixture(scope="module")
def app():
    return api.create_app(api.Settings(threads=1, max_bytes=MAX_BYTES))


def call(app, method, url, **kwargs):
    """One request to the app in process, as a client would send it."""

    async def go():
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)  # a fault is the client's 500, as in uvicorn
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.request(method, url, **kwargs)

    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever runs in this thread
        return thread.submit(asyncio.run, go()).result()


@pytest.fixture(scope="module")
def seven(mnist_test):
    images, labels = mnist_test
    assert labels[0] == 7
    return encode(drawing(images[0], "transparent"), "PNG")  # as the dashboard's canvas hands it over


@pytest.fixture(scope="module")
def seventy_two(mnist_test):
    images, labels = mnist_test
    assert labels[1] == 2
    pair = np.hstack([np.asarray(drawing(images[i])) for i in (0, 1)])  # black on white, side by side
    return encode(Image.fromarray(pair), "PNG")


def assert_error(reply, status, *fragments):
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert list(body) == ["error"] and "\n" not in body["error"] and "Traceback" not in reply.text, body
    for f in fragments:
        assert f in body["error"]


def test_a_multipart_image_reads_as_predict_json_does_with_the_model_named(app, seven):
    reply = call(app, "POST", "/predict", files={"image": ("seven.png", seven, "image/png")})
    assert reply.status_code == 200
    row = read(OnnxPredictor("best"), seven, "seven.png")  # predict --json's row, with the ONNX model
    assert reply.json() == {**row, "model": "best"}
    assert reply.json()["digit"] == 7 and len(reply.json()["probabilities"]) == 10


def test_a_raw_body_reads_the_same_as_multipart(app, seven):
    raw = call(app, "POST", "/predict", content=seven, headers={"content-type": "image/png"}).json()
    multipart = call(app, "POST", "/predict", files={"image": ("image", seven)}).json()
    assert raw == multipart and raw["file"] == "image"


def test_curl_data_binary_posts_the_raw_body_as_a_form_and_it_still_reads(app, seven):
    reply = call(app, "POST", "/predict", content=seven, headers={"content-type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 200 and reply.json()["digit"] == 7


def test_the_model_option_chooses_the_model(app, seven):
    reply = call(app, "POST", "/predict?model=fc", content=seven).json()
    assert reply["model"] == "fc"
    assert reply["probabilities"] == read(OnnxPredictor("fc"), seven, "image")["probabilities"]


def test_number_true_reads_a_number_digit_by_digit(app, seventy_two):
    reply = call(app, "POST", "/predict?number=true", files={"image": ("72.png", seventy_two)})
    assert reply.status_code == 200
    body = reply.json()
    assert body["number"] == "72" and [d["digit"] for d in body["digits"]] == [7, 2]
    assert set(body) == {"file", "number", "digits", "reason", "error", "model"} and "input" not in body["digits"][0]


def test_number_true_refuses_a_scribble_of_dozens_of_digits_in_one_line(app):
    reply = call(app, "POST", "/predict?number=true", content=encode(wavy_line(), "PNG"))
    assert_error(reply, 422, "digits; a number is read up to")


def test_input_true_adds_the_28x28_input_as_a_png_data_url(app, seven, seventy_two):
    def picture(url):
        prefix = "data:image/png;base64,"
        assert url.startswith(prefix)
        return Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))

    body = call(app, "POST", "/predict?input=true", content=seven).json()
    seen = picture(body["input"])
    assert seen.size == (28, 28) and seen.mode == "L"
    x = read(OnnxPredictor("best"), seven, "image", inputs=True)
    assert body["input"] == x["input"]
    digits = call(app, "POST", "/predict?number=true&input=true", content=seventy_two).json()["digits"]
    assert [picture(d["input"]).size for d in digits] == [(28, 28)] * 2


def test_a_blank_picture_reads_as_no_digit(app):
    reply = call(app, "POST", "/predict", content=encode(Image.new("L", (280, 280), 255), "PNG"))
    assert reply.status_code == 200 and reply.json()["digit"] is None and reply.json()["probabilities"] is None


def test_not_an_image_is_a_422_with_the_cli_message(app):
    reply = call(app, "POST", "/predict", files={"image": ("notes.txt", b"hello, not a picture")})
    assert_error(reply, 422, f"not a readable image (accepted formats: {', '.join(FORMATS)})")
    assert not reply.json()["error"].startswith("notes.txt")  # as predict --json: the file is not in the message
    assert_error(call(app, "POST", "/predict", content=b"%PDF-1.7 ..."), 422, "PDF files are not read")
    assert_error(call(app, "POST", "/predict", content=encode(Image.new("L", (4, 4)), "PNG")), 422, "too small")


def test_too_many_pixels_is_a_422_refused_before_decoding(app):
    reply = call(app, "POST", "/predict", content=png_header(8_000, 8_000))
    assert_error(reply, 422, "8000x8000 is over the limit of 50,000,000 pixels")


def test_a_body_too_large_is_a_413_refused_by_its_length_before_it_is_read(app):
    received = []

    async def app_counting_reads(scope, receive, send):
        async def counted():
            received.append(await receive())
            return received[-1]

        await app(scope, counted, send)

    reply = call(app_counting_reads, "POST", "/predict", content=b"\0" * (MAX_BYTES + 1))
    assert_error(reply, 413, f"{MAX_BYTES + 1:,} bytes is over the limit of {MAX_BYTES:,}")
    assert received == []  # not a byte read
    reply = call(app, "POST", "/predict", files={"image": ("big.png", b"\0" * MAX_BYTES)})  # with the form around it
    assert_error(reply, 413, f"is over the limit of {MAX_BYTES:,}")


def test_a_chunked_body_too_large_is_refused_once_past_the_limit(app):
    async def chunks():
        for _ in range(MAX_BYTES // 10_000 + 1):
            yield b"\0" * 10_000

    assert_error(call(app, "POST", "/predict", content=chunks()), 413, f"over the limit of {MAX_BYTES:,} bytes")


def test_a_body_still_trickling_in_after_the_deadline_is_a_408(seven):
    slow_app = api.create_app(api.Settings(threads=1, max_bytes=MAX_BYTES, body_seconds=1))

    async def trickle():  # 10 bytes every 0.1 s: the whole would take several seconds
        for i in range(0, len(seven), 10):
            await asyncio.sleep(0.1)
            yield seven[i : i + 10]

    assert_error(call(slow_app, "POST", "/predict", content=trickle()), 408, "the request body took over 1 s to arrive")
    assert call(slow_app, "POST", "/predict", content=seven).json()["digit"] == 7  # a body sent at once: no wait


def test_an_unknown_model_is_a_400_naming_the_models_served(app, seven):
    reply = call(app, "POST", "/predict?model=resnet", content=seven)
    assert_error(reply, 400, f"unknown model 'resnet'; choose from {', '.join(exported())}")


def test_no_image_and_bad_options_are_one_line_4xx(app, seven):
    assert_error(call(app, "POST", "/predict"), 400, "no image")
    assert_error(call(app, "POST", "/predict", files={"picture": ("a.png", seven)}), 400, "field 'image'")
    assert_error(call(app, "POST", "/predict", data={"image": "not a file"}, files={"x": b""}), 400, "field 'image'")
    assert_error(call(app, "POST", "/predict?number=perhaps", content=seven), 422, "number: ")
    broken = call(app, "POST", "/predict", content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    assert_error(broken, 400)
    assert_error(call(app, "GET", "/predict"), 405)
    assert_error(call(app, "GET", "/nowhere"), 404)


def test_a_fault_of_the_server_is_a_500_in_one_line_without_a_traceback(app, seven, monkeypatch):
    def broken(*args):
        raise RuntimeError("the model is gone\nTraceback (most recent call last): ...")

    monkeypatch.setattr(OnnxPredictor, "predict", broken)
    assert_error(call(app, "POST", "/predict", content=seven), 500, "unexpected error on the server (RuntimeError)")


def test_models_lists_what_models_json_lists_for_each_served_model(app, capsys):
    assert main(["models", "--json"]) == 0
    cli_rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    served = call(app, "GET", "/models").json()
    assert [row["name"] for row in served] == exported()
    assert served == [cli_rows[row["name"]] for row in served]


def test_healthz_docs_and_the_openapi_schema(app):
    assert call(app, "GET", "/healthz").json() == {"status": "ok", "models": len(exported()), "default": "best"}
    assert "swagger" in call(app, "GET", "/docs").text.lower()
    schema = call(app, "GET", "/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "image/*"} <= set(body)
    params = {p["name"] for p in schema["paths"]["/predict"]["post"]["parameters"]}
    assert params == {"model", "number", "input"}


def test_get_slash_is_the_drawing_page_with_every_file_it_loads_served_by_the_app(app):
    html = call(app, "GET", "/").text
    assert "<canvas" in html and "http" not in html  # nothing from another server: relative addresses only
    for address in re.findall(r'(?:src|href)="([^"#]+)"', html):
        assert call(app, "GET", f"/{address}").status_code == 200, address
    settings = call(app, "GET", "/page/settings.json").json()
    assert settings["unsure"] == UNSURE and settings["pen_range"] == list(PEN_RANGE)
    assert call(app, "GET", "/page/missing.js").json() == {"error": "Not Found"}


def test_docs_load_swagger_ui_from_the_app_and_nothing_from_a_cdn(app):
    html = call(app, "GET", "/docs").text
    scripts = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert scripts and all(s.startswith("/") for s in scripts), scripts
    for address in scripts:
        assert call(app, "GET", address).status_code == 200, address


def test_the_api_imports_no_torch():
    code = "import sys, digitlib.apps.api; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True).stdout
    assert out.strip() == "False"


# `serve`, as a person runs it


def test_serve_on_a_port_in_use_is_one_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: 127.0.0.1:{port} is in use (another server?); choose another with --port\n"


def test_serve_on_an_unknown_host_or_without_models_is_one_line(capsys, tmp_path):
    assert main(["serve", "--host", "no-such-host.invalid"]) == 1
    assert main(["serve", "--weights", str(tmp_path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: cannot listen on no-such-host.invalid:8000")
    assert lines[1].startswith(f"error: no ONNX model in {tmp_path}")


def test_serve_runs_workers_without_torch_and_answers_within_its_limits(seven, tmp_path):
    import psutil

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["-m", "digitlib", "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"]
    (tmp_path / "uvicorn.py").write_text("raise SystemExit('the working directory was on the import path')\n")
    server = subprocess.Popen([sys.executable, *args], env=ENV, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as reply:
                    assert json.load(reply)["status"] == "ok"
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        reply = httpx.post(f"{url}/predict", files={"image": ("seven.png", seven)}, timeout=30)
        assert reply.json()["digit"] == 7
        huge_headers = {f"x-{i}": "a" * 1000 for i in range(1000)}  # 1 MB: refused, and the server goes on
        with contextlib.suppress(httpx.TransportError):  # a 400, or the connection closed while still sending
            assert httpx.get(f"{url}/healthz", headers=huge_headers, timeout=30).status_code == 400
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
        processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children()]
        assert len(processes) >= 3  # uvicorn's supervisor and its 2 workers (and multiprocessing's helper)
        for process in processes:
            assert not any("libtorch" in m.path for m in process.memory_maps()), "torch in a server process"
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Traceback" not in server.stderr.read()
