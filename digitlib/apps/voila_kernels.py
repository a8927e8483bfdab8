"""The dashboard's server: a ceiling on kernels, a short life for kernels no page connects to, and one websocket
protocol. voila.json names the classes here; they run in the server, not in the kernels, and import no torch.

`CappedKernelManager` is Voila's kernel manager class: Voila has no ceiling setting (voila-dashboards/voila#617).
Voila wraps the class in its pool of preheated kernels (`voila.voila_kernel_manager`), and the pool's kernels count
within the ceiling. Past it, a visitor's page is refused with 503 and Voila's error page saying the dashboard is busy;
a pool refill past it is dropped, and the pool is filled again when a kernel ends (its page closed, or culled).
Every GET of the page takes a kernel: one that no page connects to, or whose page has left, is shut down after
`connect_timeout` idle seconds, so plain GETs cannot hold the ceiling for the two minutes of the idle cull, and a
visitor's kernel is free again soon after their tab closes.

It also watches each kernel's activity (for the idle cull and the check above) for a fraction of the server's CPU
that jupyter_server's watcher takes: see `CappedKernelManager.start_watching_activity`.

`KernelConnection` is the kernels' websocket connection class: it refuses the legacy JSON protocol (see its
docstring) and turns Nagle's algorithm off.
"""

import asyncio
import json
import time

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.ioloop import PeriodicCallback
from tornado.web import Finish, HTTPError
from traitlets import Float, Integer

BUSY = "The dashboard is busy, try again in a minute"
PROTOCOL = "v1.kernel.websocket.jupyter.org"  # the kernel websocket protocol the dashboard's pages speak
LEGACY_REFUSED = f"This server speaks only the {PROTOCOL} websocket protocol"
CHECK_S = 1  # how often kernels are checked for a page connected to them
MAX_JSON_BYTES = 2**20  # a message's header, metadata and content together (a 1,000-point stroke is about 40 KB)
V1_PARTS = 6  # the fewest offsets of a v1 message: channel, header, parent header, metadata, content, end


class ServerBusy(HTTPError):
    """No kernel for a new visitor: the server is at its ceiling. Voila shows it as a 503 page."""

    def __init__(self):
        super().__init__(503, reason=BUSY)


class CappedKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager with a ceiling on running and starting kernels, preheated ones included, that shuts
    down the kernels no page connects to."""

    max_kernels = Integer(12, min=1, config=True, help="Most kernels at once (pool included); each holds 75-115 MiB.")
    connect_timeout = Float(
        25,
        min=1,
        config=True,
        help="Seconds a kernel handed to a page may be idle with no page connected (before its page connects, or "
        "after it has left) before it is shut down (the pool's kernels wait for visitors).",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.starting = 0  # kernels asked for and not yet in list_kernel_ids()
        self.closing = False
        self.waiting = {}  # kernel id -> since when it has been idle with no page connected (monotonic s)
        self.checker = None

    def kernel_count(self):
        return len(self.list_kernel_ids()) + self.starting

    async def start_kernel(self, *, kernel_id=None, **kwargs):
        if kernel_id is not None and kernel_id in self:
            return await super().start_kernel(kernel_id=kernel_id, **kwargs)
        if self.kernel_count() >= self.max_kernels:
            self.drop_from_pool(asyncio.current_task())
            self.log.warning("%d kernels, the ceiling: refused a new one", self.kernel_count())
            raise ServerBusy()
        self.start_checking()
        self.starting += 1  # counted before the first await, so simultaneous requests cannot overshoot
        try:
            return await super().start_kernel(kernel_id=kernel_id, **kwargs)
        finally:
            self.starting -= 1

    def drop_from_pool(self, task):
        """Take a refill task that found no room out of Voila's pool, so no visitor waits on it."""
        for pool in getattr(self, "_pools", {}).values():  # VoilaKernelManager's pools: [task, ...] per notebook
            if task in pool:
                pool.remove(task)
                task.add_done_callback(lambda t: t.cancelled() or t.exception())  # failed on purpose: not logged

    def in_pool(self, kernel_id):
        """Whether the kernel waits in Voila's pool for a visitor."""
        return any(
            task.done() and not task.cancelled() and not task.exception() and task.result()["kernel_id"] == kernel_id
            for pool in getattr(self, "_pools", {}).values()
            for task in pool
        )

    def start_checking(self):
        if self.checker is None:
            self.checker = PeriodicCallback(self.shut_down_unconnected, 1000 * CHECK_S)
            self.checker.start()

    async def shut_down_unconnected(self):
        """Shut down the kernels handed to a page that have had no page connected for connect_timeout seconds while
        idle: their page never connected, or it left (running the notebook for the page is not waiting)."""
        now = time.monotonic()
        for kernel_id in self.list_kernel_ids():
            state = getattr(self._kernels.get(kernel_id), "execution_state", None)
            connected = self._kernel_connections.get(kernel_id, 0) > 0
            if connected or state in ("starting", "busy") or self.in_pool(kernel_id):
                self.waiting.pop(kernel_id, None)
            elif now - self.waiting.setdefault(kernel_id, now) > self.connect_timeout:
                self.log.warning(
                    "No page connected to kernel %s for %g s: shutting it down",
                    kernel_id,
                    now - self.waiting.pop(kernel_id),
                )
                await self.shutdown_kernel(kernel_id)

    def start_watching_activity(self, kernel_id):
        """Record each kernel's last activity and execution state from its IOPub messages, as jupyter_server does, but
        from the header and parent header alone (and a status's content): jupyter_server checks every message's
        signature and parses its dates, twice for a status, and that was about a tenth of the server's CPU while a
        class drew (every pointer message brings two statuses). The messages themselves reach the pages unchanged."""
        kernel = self._kernels[kernel_id]
        kernel.reason = ""
        kernel.last_activity = utcnow()
        kernel._activity_stream = kernel.connect_iopub()
        session = kernel.session

        def record_activity(msg_list):
            try:
                _, parts = session.feed_identities(msg_list)  # [signature, header, parent, metadata, content, ...]
                msg_type = json.loads(parts[1])["msg_type"]
                parent_type = json.loads(parts[2]).get("msg_type")
                state = json.loads(parts[4])["execution_state"] if msg_type == "status" else None
            except (ValueError, IndexError, KeyError, TypeError, AttributeError):
                return  # not a message the kernel would send: no activity
            tracked = self.track_message_type(parent_type)
            if self.track_message_type(msg_type) or tracked or kernel.execution_state == "busy":
                self.last_kernel_activity = kernel.last_activity = utcnow()
            if state is not None:
                if tracked:
                    kernel.execution_state = state
                elif kernel.execution_state == "starting" and state != "starting":
                    kernel.execution_state = "idle"  # as jupyter_server: idle once started, unless told otherwise

        kernel._activity_stream.on_recv(record_activity)

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        result = await super().shutdown_kernel(kernel_id, *args, **kwargs)
        self.waiting.pop(kernel_id, None)
        if not self.closing and hasattr(self, "fill_if_needed"):  # room again: refill the pool (if it is short)
            for notebook in list(getattr(self, "_pools", {})):
                self.fill_if_needed(notebook_name=notebook)
        return result

    async def shutdown_all(self, *args, **kwargs):
        self.closing = True
        if self.checker is not None:
            self.checker.stop()
        return await super().shutdown_all(*args, **kwargs)


class KernelConnection(ZMQChannelsWebsocketConnection):
    """A page's websocket to its kernel, in Jupyter's v1 protocol only, with Nagle's algorithm off.

    The legacy protocol (a client that offers no subprotocol) froze the server: Voila's handler reads the header of
    every binary message to the page as v1 (`voila.tornado.kernel_websocket_handler.read_header_from_binary_message`),
    and a legacy binary message (a widget state with buffers) then gives it an offset count near 10**18 to build a
    list of: the server's event loop stops and its memory grows by about 50 MB a second. Voila's pages speak v1.

    Tornado leaves Nagle's algorithm on for websockets, and a reading is several small messages (status, digit,
    bars, status): the first leaves at once, the rest wait for the browser to acknowledge it, which browsers delay by
    up to 40 ms. With it off, mouse release to digit shown went from about 45 ms to about 18 ms (median) here.
    """

    async def prepare(self):
        offered = self.websocket_handler.request.headers.get("Sec-WebSocket-Protocol", "")
        if PROTOCOL not in (p.strip() for p in offered.split(",")):
            self.websocket_handler.set_status(400)
            raise Finish(LEGACY_REFUSED)  # not HTTPError: Voila cannot render Jupyter's error page for this handler
        await super().prepare()

    def connect(self):
        self.websocket_handler.set_nodelay(True)
        return super().connect()

    def handle_incoming_message(self, incoming_msg):
        """Pass a page's message to its kernel if it is a well-formed v1 message of at most MAX_JSON_BYTES of JSON
        (binary buffers, an upload's, come on top); else drop it with a line in the log."""
        offsets = v1_offsets(incoming_msg)
        if offsets is None or offsets[5] - offsets[1] > MAX_JSON_BYTES:
            self.log.warning("Dropped a malformed or oversized message from a page (%d bytes)", len(incoming_msg))
            return
        try:
            super().handle_incoming_message(incoming_msg)
        except (ValueError, TypeError, KeyError) as e:  # a header that is not JSON, not an object, no msg_type
            self.log.warning("Dropped a message from a page: %s", e)


def v1_offsets(frame):
    """The offsets of the parts of a v1 kernel message, or None where the frame is not one.

    jupyter_server's reader (`deserialize_msg_from_ws_v1`) trusts the frame's count of offsets: 8 bytes of 0xff have
    it build a list of 2**64 numbers, and the server stops.
    """
    if not isinstance(frame, bytes) or len(frame) < 8:
        return None
    count = int.from_bytes(frame[:8], "little")
    if not V1_PARTS <= count < len(frame) // 8:
        return None
    offsets = [int.from_bytes(frame[8 * i : 8 * i + 8], "little") for i in range(1, count + 1)]
    if offsets[0] != 8 * (count + 1) or offsets != sorted(offsets) or offsets[-1] > len(frame):
        return None
    return offsets
