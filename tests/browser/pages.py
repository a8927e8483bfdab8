"""A dashboard page without a browser: what the page's scripts say to the server, over the kernel's websocket.

Loads the page, asks for every widget's state in one message (as ipywidgets' manager does, over its control comm),
sends the pointer's strokes (as the page's pad sends them, digitlib.apps.pad) and button clicks, and watches the
widgets' updates. The server's side of a visitor, at a fraction of a browser's CPU: for load tests and for many
visitors at once (benchmarks/classroom.py, tests/browser/test_dashboard.py).
"""

import asyncio
import json
import time
import uuid
from datetime import datetime, timezone

import numpy as np
from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1, serialize_msg_to_ws_v1

from digitlib.apps.dashboard import HEIGHT, WIDTH
from digitlib.apps.pad import MOVE_MS

POINTER_S = 1 / 60  # a pointer reports its moves about 60 times a second
CONTROL_PROTOCOL = "1.0.0"  # the version of ipywidgets' control comm that the page speaks


def message(msg_type, content, session, metadata=None):
    """(id, frame) of a Jupyter message from the page to its kernel, in the websocket protocol Jupyter's own pages
    use (v1)."""
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "session": session,
        "username": "visitor",
        "version": "5.3",
        "date": datetime.now(timezone.utc).isoformat(),
    }
    msg = {"header": header, "parent_header": {}, "metadata": metadata or {}, "content": content}
    return header["msg_id"], serialize_msg_to_ws_v1(msg, "shell", pack=lambda part: json.dumps(part).encode())


def parse(frame):
    """(message type, content, the id of the page's message it answers) of a message from the kernel."""
    _, (header, parent, _, content, *_) = deserialize_msg_from_ws_v1(frame)
    return json.loads(header)["msg_type"], json.loads(content), json.loads(parent).get("msg_id")


class Page:
    """What a dashboard page does over its kernel's websocket, without drawing anything: ask for every widget's
    state, send the canvas's events and clicks, and watch the widgets' updates."""

    def __init__(self, ws):
        self.ws, self.session = ws, uuid.uuid4().hex
        self.states = {}  # comm id -> the widget's state, kept up to date
        self.waiting = {}  # comm id -> a future for its next change of value
        self.replies = {}  # message type -> a future for the next reply of that type
        self.handling = {}  # message id -> a future done once the kernel has handled the message (gone idle)
        self.ready = asyncio.get_running_loop().create_future()  # every widget's state, once it has arrived
        self.moves = 0  # messages of a stroke's points sent, the start and the end of a stroke not counted
        self.received = 0  # messages received from the kernel
        self.reader = asyncio.create_task(self.read())

    async def send(self, msg_type, content, metadata=None):
        """Send a message to the kernel; returns a future done once the kernel has handled it."""
        msg_id, frame = message(msg_type, content, self.session, metadata)
        handled = self.handling[msg_id] = asyncio.get_running_loop().create_future()
        await self.ws.write_message(frame, binary=True)
        return handled

    async def request(self, msg_type, content):
        reply = self.replies[msg_type.replace("_request", "_reply")] = asyncio.get_running_loop().create_future()
        await self.send(msg_type, content)
        return await reply

    async def read(self):
        while (frame := await self.ws.read_message()) is not None:
            self.received += 1
            msg_type, content, answers = parse(frame)
            if msg_type == "status" and content["execution_state"] == "idle" and answers in self.handling:
                self.handling.pop(answers).set_result(True)  # every update it caused has arrived before this
            if msg_type in self.replies:
                self.replies.pop(msg_type).set_result(content)
            method = content.get("data", {}).get("method") if msg_type == "comm_msg" else None
            if method == "update_states":
                for comm, widget in content["data"]["states"].items():
                    self.states.setdefault(comm, {}).update(widget["state"])
                if not self.ready.done():
                    self.ready.set_result(True)
            if method == "update":
                comm, state = content["comm_id"], content["data"]["state"]
                self.states.setdefault(comm, {}).update(state)
                if "value" in state and comm in self.waiting:
                    self.waiting.pop(comm).set_result(time.monotonic())

    async def open(self):
        """Ask for every widget's state as the page's widget manager does (ipywidgets' control comm, opened for the
        one request and closed); returns once it has arrived."""
        await self.request("kernel_info_request", {})
        control = str(uuid.uuid4())
        open_control = {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}}
        await self.send("comm_open", open_control, {"version": CONTROL_PROTOCOL})
        await self.send("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
        await self.ready
        await self.send("comm_close", {"comm_id": control, "data": {}})

    def find(self, css_class):
        return next(c for c, s in self.states.items() if css_class in s.get("_dom_classes", ()))

    def pad(self, kind, points):
        """Send a stroke's points (canvas pixels) as the pad does: "down", "move" or "up", as fractions of its size."""
        content = {"kind": kind, "points": [[float(x) / WIDTH, float(y) / HEIGHT] for x, y in points]}
        return self.event(self.find("digit-surface"), content)

    def event(self, comm, content):
        return self.send("comm_msg", {"comm_id": comm, "data": {"method": "custom", "content": content}})

    def next_change(self, comm):
        self.waiting[comm] = asyncio.get_running_loop().create_future()
        return self.waiting[comm]


async def open_page(url):
    """A Page for the dashboard at url, once every widget's state has arrived."""
    from tornado.httpclient import AsyncHTTPClient
    from tornado.websocket import websocket_connect

    html = (await AsyncHTTPClient().fetch(url, request_timeout=120)).body.decode()
    kernel = json.loads(html.split('id="jupyter-config-data" type="application/json">')[1].split("</script>")[0])
    ws_url = url.replace("http", "ws", 1).rstrip("/")
    channels = f"{ws_url}/api/kernels/{kernel['kernelId']}/channels?session_id={uuid.uuid4().hex}"
    ws = await websocket_connect(channels, subprotocols=["v1.kernel.websocket.jupyter.org"])
    # Nagle's algorithm off, as browsers have it: else a small message (a mouse release) can wait for the server to
    # acknowledge the one before (up to 40 ms), and pointer moves can share a packet that a page sends apart
    ws.stream.set_nodelay(True)
    page = Page(ws)
    await page.open()
    await page.event(page.find("digit-canvas"), {"event": "client_ready"})
    return page


async def draw(page, digit_strokes):
    """Draw strokes as a pointer does (60 moves a second), each after the reading of the one before; returns the
    ms from the last release to the new probabilities. Points are sent as the pad sends them: the first at once, those
    gathered since every MOVE_MS, and the rest with the release."""
    bars = page.find("digit-probabilities")
    for points in digit_strokes:
        moves = [p + (q - p) * t for p, q in zip(np.array(points[:-1]), np.array(points[1:])) for t in (0.5, 1)]
        await page.pad("down", points[:1])
        sent, held = time.monotonic(), []
        for move in moves:
            await asyncio.sleep(POINTER_S)
            held.append(move)
            if time.monotonic() - sent >= MOVE_MS / 1000:
                await page.pad("move", held)
                sent, held = time.monotonic(), []
                page.moves += 1
        shown = page.next_change(bars)
        up = time.monotonic()
        await page.pad("up", held)
        latency = (await asyncio.wait_for(shown, 30) - up) * 1000
    return latency


async def visitor_reads(url, digit_strokes):
    """What the dashboard shows as its reading after a visitor (a page without a browser) draws the strokes."""
    page = await open_page(url)
    try:
        await draw(page, digit_strokes)
        return page.states[page.find("digit-prediction")].get("value", "")
    finally:
        page.ws.close()


async def click(page, css_class, watch, says):
    """Click the button with css_class and wait until the kernel has handled the click; then the widget with css
    class `watch` must say `says`. (Waiting for `says` alone can be fooled by what it said before the click.)"""
    handled = await page.event(page.find(css_class), {"event": "click"})
    await asyncio.wait_for(handled, 30)
    shown = page.states[page.find(watch)].get("value", "")
    assert says in shown, f"{says!r} not in {shown!r}"
