"""A dashboard page without a browser: what the page's scripts say to the server, over the kernel's websocket.

Loads the page, asks for every widget's state (as ipywidgets' manager does), sends the canvas's mouse events and
button clicks, and watches the widgets' updates. The server's side of a visitor, at a fraction of a browser's CPU:
for load tests and for many visitors at once (benchmarks/classroom.py, tests/browser/test_dashboard.py).
"""

import asyncio
import json
import time
import uuid
from datetime import datetime, timezone

import numpy as np
from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1, serialize_msg_to_ws_v1

POINTER_S = 1 / 60  # a pointer reports its moves about 60 times a second


def message(msg_type, content, session):
    """A Jupyter message from the page to its kernel, in the websocket protocol Jupyter's own pages use (v1)."""
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "session": session,
        "username": "visitor",
        "version": "5.3",
        "date": datetime.now(timezone.utc).isoformat(),
    }
    msg = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
    return serialize_msg_to_ws_v1(msg, "shell", pack=lambda part: json.dumps(part).encode())


def parse(frame):
    """(message type, content) of a message from the kernel."""
    _, (header, _, _, content, *_) = deserialize_msg_from_ws_v1(frame)
    return json.loads(header)["msg_type"], json.loads(content)


class Page:
    """What a dashboard page does over its kernel's websocket, without drawing anything: ask for every widget's
    state, send the canvas's events and clicks, and watch the widgets' updates."""

    def __init__(self, ws):
        self.ws, self.session = ws, uuid.uuid4().hex
        self.states = {}  # comm id -> the widget's state, kept up to date
        self.waiting = {}  # comm id -> a future for its next change of value
        self.replies = {}  # message type -> a future for the next reply of that type
        self.widgets, self.ready = None, asyncio.get_running_loop().create_future()  # how many; all states in
        self.reader = asyncio.create_task(self.read())

    def send(self, msg_type, content):
        return self.ws.write_message(message(msg_type, content, self.session), binary=True)

    async def request(self, msg_type, content):
        reply = self.replies[msg_type.replace("_request", "_reply")] = asyncio.get_running_loop().create_future()
        await self.send(msg_type, content)
        return await reply

    async def read(self):
        while (frame := await self.ws.read_message()) is not None:
            msg_type, content = parse(frame)
            if msg_type in self.replies:
                self.replies.pop(msg_type).set_result(content)
            if msg_type == "comm_msg" and content["data"].get("method") == "update":
                comm, state = content["comm_id"], content["data"]["state"]
                self.states.setdefault(comm, {}).update(state)
                if "value" in state and comm in self.waiting:
                    self.waiting.pop(comm).set_result(time.monotonic())
                if len(self.states) == self.widgets and not self.ready.done():
                    self.ready.set_result(True)

    async def open(self):
        """Ask for every widget's state, as the page's widget manager does; returns once it has all arrived."""
        await self.request("kernel_info_request", {})
        comms = (await self.request("comm_info_request", {"target_name": "jupyter.widget"}))["comms"]
        self.widgets = len(comms)
        for comm in comms:
            await self.send("comm_msg", {"comm_id": comm, "data": {"method": "request_state"}})
        await self.ready

    def find(self, css_class):
        return next(c for c, s in self.states.items() if css_class in s.get("_dom_classes", ()))

    def event(self, comm, content):
        return self.send("comm_msg", {"comm_id": comm, "data": {"method": "custom", "content": content}})

    def next_change(self, comm):
        self.waiting[comm] = asyncio.get_running_loop().create_future()
        return self.waiting[comm]


async def open_page(url):
    """A Page for the dashboard at url, once every widget's state has arrived and the canvas has said it is ready."""
    from tornado.httpclient import AsyncHTTPClient
    from tornado.websocket import websocket_connect

    html = (await AsyncHTTPClient().fetch(url, request_timeout=120)).body.decode()
    kernel = json.loads(html.split('id="jupyter-config-data" type="application/json">')[1].split("</script>")[0])
    ws_url = url.replace("http", "ws", 1).rstrip("/")
    channels = f"{ws_url}/api/kernels/{kernel['kernelId']}/channels?session_id={uuid.uuid4().hex}"
    page = Page(await websocket_connect(channels, subprotocols=["v1.kernel.websocket.jupyter.org"]))
    await page.open()
    await page.event(page.find("digit-canvas"), {"event": "client_ready"})
    return page


async def draw(page, digit_strokes):
    """Draw strokes as a pointer does (60 moves a second), each after the reading of the one before; returns the
    ms from the last release to the new probabilities."""
    canvas, bars = page.find("digit-canvas"), page.find("digit-probabilities")
    for points in digit_strokes:
        moves = [p + (q - p) * t for p, q in zip(np.array(points[:-1]), np.array(points[1:])) for t in (0.5, 1)]
        await page.event(canvas, {"event": "mouse_down", "x": points[0][0], "y": points[0][1]})
        for x, y in moves:
            await asyncio.sleep(POINTER_S)
            await page.event(canvas, {"event": "mouse_move", "x": float(x), "y": float(y)})
        shown = page.next_change(bars)
        up = time.monotonic()
        await page.event(canvas, {"event": "mouse_up", "x": points[-1][0], "y": points[-1][1]})
        latency = (await asyncio.wait_for(shown, 30) - up) * 1000
    return latency


async def click(page, css_class, watch, says):
    """Click the button with css_class, then wait until the widget with css class `watch` says `says`."""
    await page.event(page.find(css_class), {"event": "click"})
    comm = page.find(watch)
    while says not in page.states[comm].get("value", ""):
        await asyncio.wait_for(page.next_change(comm), 30)
