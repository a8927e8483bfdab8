"""The HTTP API (FastAPI): POST /predict reads a digit or a number from an image; GET /models, GET /healthz; docs at
/docs (Swagger UI's files served by the app: no CDN); GET / a drawing page (digitlib/apps/page) that posts to
/predict. `python -m digitlib serve` runs it with uvicorn.

It reads with ONNX Runtime (digitlib.reading.onnx_model.OnnxPredictor), so with the same preprocessing, models and rows
(digitlib.reading.rows) as the CLI and the dashboard, and without torch. Each worker loads every shipped model once and
reads `threads` images at a time, each on one core. Every error is one line of JSON, {"error": "..."}: a 4xx for a
bad request (with the CLI's wording), a 500 without a traceback for a fault of the server.
"""

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from digitlib import __version__
from digitlib.apps.dashboard_view import INVITE, KEPT, NOT_FOUND
from digitlib.constants import DEFAULT_MODEL, WEIGHTS_DIR
from digitlib.errors import DigitlibError, without_paths
from digitlib.reading.answers import UNSURE
from digitlib.reading.images import MAX_UPLOAD, too_large
from digitlib.reading.onnx_model import OnnxPredictor, exported, model_row, stored_meta
from digitlib.reading.rejection import rejector
from digitlib.reading.rows import problem, read
from digitlib.reading.strokes import HEIGHT, PEN, PEN_RANGE, WIDTH

FIELD = "image"  # the multipart field holding the image (the name other digit APIs use)
BODY_SECONDS = 20  # a request body must arrive within this many seconds of its first byte: no trickled uploads
ENV = "DIGITLIB_API"  # the environment variable through which `serve` hands its Settings to each worker, as JSON
PAGE_DIR = Path(__file__).parent / "page"  # the drawing page's HTML, CSS and JavaScript (package data)
PAGE_SETTINGS = {  # what the page reads from page/settings.json: the dashboard's canvas, pen, rule and words
    "width": WIDTH,
    "height": HEIGHT,
    "pen_range": PEN_RANGE,
    "pen": PEN,
    "unsure": UNSURE,
    "dashboard_port": 8866,
    "notebooks_port": 8888,
    "texts": {
        "invite": INVITE,
        "not_found": NOT_FOUND,
        "kept": KEPT,
        "server_down": "The server does not answer: your drawing is kept; draw again once it is back.",
    },
}
log = logging.getLogger("digitlib.apps.api")


def usable_cores():
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 quota (a container's --cpus)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


@dataclass
class Settings:
    """weights: folder of NAME.onnx; threads: images read at once per worker (default: usable cores / workers);
    max_bytes: largest request body accepted; body_seconds: longest a body may take to arrive."""

    weights: str = str(WEIGHTS_DIR)
    threads: int = field(default_factory=usable_cores)
    max_bytes: int = MAX_UPLOAD
    body_seconds: float = BODY_SECONDS

    @classmethod
    def from_env(cls):
        return cls(**json.loads(os.environ.get(ENV, "{}")))


def load_models(folder):
    """{name: OnnxPredictor} for every NAME.onnx in folder, each on one thread; DigitlibError if there is none."""
    names = exported(folder)
    if not names:
        raise DigitlibError(f"no ONNX model in {folder}; make them with: python -m digitlib export --weights {folder}")
    return {name: OnnxPredictor(name, folder, threads=1) for name in names}


class BodyLimit:
    """ASGI middleware refusing a request body over max_bytes with 413 (by its Content-Length before reading any of
    it, else as soon as the bytes received pass the limit) and one still arriving after `seconds` with 408."""

    def __init__(self, app, max_bytes, seconds):
        self.app, self.max_bytes, self.seconds = app, max_bytes, seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            return await error(413, too_large(int(length), self.max_bytes))(scope, receive, send)
        seen, done = 0, False
        deadline = anyio.current_time() + self.seconds

        async def limited():
            nonlocal seen, done
            if done:  # the body is in: waiting for a disconnect has no deadline
                return await receive()
            with anyio.move_on_after(deadline - anyio.current_time()) as timer:
                message = await receive()
            if timer.cancelled_caught:
                raise HTTPException(408, f"the request body took over {self.seconds} s to arrive")
            seen += len(message.get("body", b""))
            done = not message.get("more_body", False)
            if seen > self.max_bytes:
                raise HTTPException(413, too_large(None, self.max_bytes))
            return message

        await self.app(scope, limited, send)


def error(status, message, headers=None):
    return JSONResponse({"error": without_paths(message)}, status, headers=headers)


def one_line(exc):
    """A validation error of FastAPI's as one line: "number: Input should be a valid boolean, ..."."""
    return "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or e['loc'][0]}: {e['msg']}" for e in exc.errors())


async def unexpected(request, exc):
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(500, f"unexpected error on the server ({type(exc).__name__}); it is logged there")


IMAGE_BODY = {"schema": {"type": "string", "format": "binary"}}
PREDICT_BODY = {  # /predict reads its body itself (multipart or raw), so the docs are told its shape here
    "requestBody": {
        "required": True,
        "description": f"The image (PNG, JPEG, GIF, BMP, WEBP or TIFF): as the multipart field `{FIELD}`, or as the "
        "whole body.",
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {FIELD: IMAGE_BODY["schema"]}, "required": [FIELD]}
            },
            "image/*": IMAGE_BODY,
            "application/octet-stream": IMAGE_BODY,
        },
    }
}


async def image_from(request):
    """(bytes, name) of the image in a request: the multipart field FIELD, or else the whole body."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get(FIELD)
            if not isinstance(upload, UploadFile):
                raise HTTPException(400, f"no image: send it as the multipart field {FIELD!r}, or as the request body")
            return await upload.read(), upload.filename or FIELD
    data = await request.body()
    if not data:
        raise HTTPException(400, f"no image: send it as the request body, or as the multipart field {FIELD!r}")
    return data, FIELD


def create_app(settings=None):
    """The API, its models loaded (once: a worker calls this once)."""
    settings = settings or Settings()
    readers = load_models(settings.weights)
    rejector()  # loaded with the models: a missing rejector stops the start, not a request
    models = [model_row(name, stored_meta(name, settings.weights)) for name in readers]
    default = DEFAULT_MODEL if DEFAULT_MODEL in readers else next(iter(readers))
    limiter = anyio.CapacityLimiter(settings.threads)
    app = FastAPIOffline(
        title="digitlib",
        version=__version__,
        description="Reads handwritten digits and numbers from images, as `python -m digitlib predict --json` does; "
        'says "not a digit" (the digit null, a reason given) for a letter, a doodle or a scribble.',
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_bytes, seconds=settings.body_seconds)
    app.add_exception_handler(HTTPException, lambda r, e: error(e.status_code, str(e.detail), e.headers))
    app.add_exception_handler(RequestValidationError, lambda r, e: error(422, one_line(e)))
    app.add_exception_handler(Exception, unexpected)

    @app.post("/predict", openapi_extra=PREDICT_BODY)
    async def predict(
        request: Request,
        model: str = Query(default, description="the model that reads: one of GET /models"),
        number: bool = Query(False, description="read a written number (its digits left to right), not one digit"),
        input: bool = Query(False, description="add the 28x28 input the model saw, as a PNG data URL"),
    ):
        """The digit (or number) read, its probabilities and the model, with the fields of `predict --json`."""
        if model not in readers:
            raise HTTPException(400, f"unknown model {model!r}; choose from {', '.join(readers)}")
        data, name = await image_from(request)
        try:
            row = await anyio.to_thread.run_sync(read, readers[model], data, name, number, input, limiter=limiter)
        except DigitlibError as e:
            raise HTTPException(422, problem(e, name)) from None
        return {**row, "model": model}

    @app.get("/models")
    def list_models():
        """The models served, with the fields of `models --json`."""
        return models

    @app.get("/healthz")
    def healthz():
        """200 once the models are loaded."""
        return {"status": "ok", "models": len(readers), "default": default}

    add_page(app)
    return app


def add_page(app):
    """GET / the drawing page, GET /page/... its files and settings."""

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(PAGE_DIR / "index.html")

    @app.get("/page/settings.json", include_in_schema=False)
    def page_settings():
        return PAGE_SETTINGS

    app.mount("/page", StaticFiles(directory=PAGE_DIR), name="page")


def app_from_env():
    """The app for a uvicorn worker (`uvicorn --factory digitlib.apps.api:app_from_env`), set up by $DIGITLIB_API."""
    return create_app(Settings.from_env())
