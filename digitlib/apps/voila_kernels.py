"""The dashboard server's ceiling on kernels: Voila has no such setting (voila-dashboards/voila#617).

voila.json names `CappedKernelManager` as Voila's kernel manager class and sets `max_kernels`. Voila wraps the
class in its pool of preheated kernels (`voila.voila_kernel_manager`), and the pool's kernels count within the
ceiling. Past it, a visitor's page is refused with 503 and Voila's error page saying the dashboard is busy; a
pool refill past it is dropped, and the pool is filled again when a kernel ends (its page closed, or culled
idle). Importing this module does not import torch: it runs in the server, not in the kernels.

Importing it also turns Nagle's algorithm off on the kernels' websockets (see `without_nagle`).
"""

import asyncio

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
from tornado.web import HTTPError
from traitlets import Integer

BUSY = "The dashboard is busy, try again in a minute"


class ServerBusy(HTTPError):
    """No kernel for a new visitor: the server is at its ceiling. Voila shows it as a 503 page."""

    def __init__(self):
        super().__init__(503, reason=BUSY)


class CappedKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager with a ceiling on running and starting kernels, preheated ones included."""

    max_kernels = Integer(12, min=1, config=True, help="Most kernels at once (pool included); each holds 75-115 MiB.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.starting = 0  # kernels asked for and not yet in list_kernel_ids()
        self.closing = False

    def kernel_count(self):
        return len(self.list_kernel_ids()) + self.starting

    async def start_kernel(self, *, kernel_id=None, **kwargs):
        if kernel_id is not None and kernel_id in self:
            return await super().start_kernel(kernel_id=kernel_id, **kwargs)
        if self.kernel_count() >= self.max_kernels:
            self.drop_from_pool(asyncio.current_task())
            self.log.warning("%d kernels, the ceiling: refused a new one", self.kernel_count())
            raise ServerBusy()
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

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        result = await super().shutdown_kernel(kernel_id, *args, **kwargs)
        if not self.closing and hasattr(self, "fill_if_needed"):  # room again: refill the pool (if it is short)
            for notebook in list(getattr(self, "_pools", {})):
                self.fill_if_needed(notebook_name=notebook)
        return result

    async def shutdown_all(self, *args, **kwargs):
        self.closing = True
        return await super().shutdown_all(*args, **kwargs)


def without_nagle(open_websocket):
    """A kernel websocket's open() that first sets TCP_NODELAY on its connection.

    Tornado leaves Nagle's algorithm on for websockets, and a reading is several small messages (status, digit,
    bars, status): the first leaves at once, the rest wait for the browser to acknowledge it, which browsers delay by
    up to 40 ms. With it off, mouse release to digit shown went from about 45 ms to about 18 ms (median) here.
    """

    async def open(self, *args, **kwargs):
        self.set_nodelay(True)
        return await open_websocket(self, *args, **kwargs)

    return open


KernelWebsocketHandler.open = without_nagle(KernelWebsocketHandler.open)
