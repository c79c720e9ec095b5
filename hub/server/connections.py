"""Connection limits: a header read timeout and a cap on open connections.

aiohttp has neither: a client may open connections and send headers one byte at a time for
as long as it likes, until the process runs out of file descriptors. Here:

- a connection must deliver each request's complete headers within ``header_timeout`` seconds
  of connecting or of its first byte after the previous response, else it is closed;
- at most ``max_connections`` are open. A new connection beyond that closes the oldest one that
  has not sent a complete request yet, else the oldest idle keep-alive one; when every
  connection is in a request, the new one is answered 503 and closed. Either way a warning is
  logged (at most
  once every 10 s, with the count since the last one).

The body read timeout is :func:`hub.server.body.read_body`'s. Use :class:`GuardedRunner`
instead of ``web.AppRunner`` (``onnxhub serve`` does; tests use it through their server).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 10.0
_REFUSAL = b'{"error": "too many open connections; retry later"}'
_REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_REFUSAL), _REFUSAL)
)


class _Limits:
    def __init__(self, header_timeout: float, max_connections: int) -> None:
        self.header_timeout = header_timeout
        self.max_connections = max(1, max_connections)
        self.open: OrderedDict[RequestHandler, None] = OrderedDict()
        self.refused = 0
        self.evicted = 0
        self._logged_at = -LOG_EVERY_SECONDS

    def note_cap(self) -> None:
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            log.warning(
                "connection cap of %d reached (ONNXHUB_MAX_CONNECTIONS): %d idle connection(s) "
                "closed and %d new one(s) refused so far",
                self.max_connections,
                self.evicted,
                self.refused,
            )
            self._logged_at = now


class _GuardedHandler(RequestHandler):
    """aiohttp's protocol with the header timeout and the cap's bookkeeping."""

    __slots__ = ("_limits", "_busy", "_header_timer")

    def __init__(self, manager: Server, *, limits: _Limits, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._busy = False
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        limits = self._limits
        super().connection_made(transport)
        if len(limits.open) >= limits.max_connections and not self._evict_one():
            limits.refused += 1
            limits.note_cap()
            transport.write(_REFUSED)  # type: ignore[attr-defined]
            self.force_close()
            return
        limits.open[self] = None
        self._arm_header_timer()

    def _evict_one(self) -> bool:
        """Close the oldest connection that has not sent a complete request yet, else the
        oldest idle keep-alive one; False when every connection is in a request."""
        limits = self._limits
        # aiohttp keeps whether a connection is inside a request only in a private flag
        idle = [c for c in limits.open if not c._busy]  # type: ignore[attr-defined]
        victims = [c for c in idle if c._request_count == 0] or idle
        if not victims:
            return False
        victim = victims[0]
        limits.open.pop(victim, None)
        limits.evicted += 1
        limits.note_cap()
        victim.force_close()
        return True

    def connection_lost(self, exc: BaseException | None) -> None:
        self._limits.open.pop(self, None)
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._busy and self._header_timer is None and self._waiting_for_request():
            self._arm_header_timer()

    def _waiting_for_request(self) -> bool:
        waiter = getattr(self, "_waiter", None)
        return waiter is not None and not waiter.done() and not self._messages

    def _arm_header_timer(self) -> None:
        timeout = self._limits.header_timeout
        if timeout > 0 and self.transport is not None:
            self._header_timer = self._loop.call_later(timeout, self._header_deadline)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline(self) -> None:
        self._header_timer = None
        if not self._busy and (self._waiting_for_request() or self._request_count == 0):
            log.info(
                "closing a connection that sent no complete request headers in %g s",
                self._limits.header_timeout,
            )
            self.force_close()

    async def _handle_request(self, request: Any, start_time: Any, request_handler: Any) -> Any:
        self._busy = True
        self._disarm_header_timer()
        if self in self._limits.open:
            self._limits.open.move_to_end(self, last=True)
        try:
            return await super()._handle_request(request, start_time, request_handler)
        finally:
            self._busy = False


class _GuardedServer(Server):
    _limits: _Limits

    def __call__(self) -> RequestHandler:
        return _GuardedHandler(self, loop=self._loop, limits=self._limits, **self._kwargs)


class GuardedRunner(web.AppRunner):
    """``web.AppRunner`` whose connections have a header timeout and a cap."""

    def __init__(
        self, app: web.Application, *, header_timeout: float, max_connections: int, **kwargs: Any
    ) -> None:
        super().__init__(app, **kwargs)
        self.limits = _Limits(header_timeout, max_connections)

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        server.__class__ = _GuardedServer
        server._limits = self.limits  # type: ignore[attr-defined]
        return server


def run_server(
    app: web.Application,
    *,
    host: str,
    port: int,
    header_timeout: float,
    max_connections: int,
    shutdown_timeout: float,
    event_loop: str = "asyncio",
    reuse_port: bool = False,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM, then shut down within ``shutdown_timeout`` s
    (``web.run_app`` with :class:`GuardedRunner`), on the loop ``event_loop`` names
    (:mod:`hub.server.event_loop`); ``reuse_port``: bind with ``SO_REUSEPORT`` (the
    workers of ``onnxhub serve --workers N`` share the port)."""
    import signal

    async def main() -> None:
        runner = GuardedRunner(
            app,
            header_timeout=header_timeout,
            max_connections=max_connections,
            access_log=None,
            shutdown_timeout=shutdown_timeout,
        )
        await runner.setup()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
            await stop.wait()
            log.info("shutting down (up to %g s)", shutdown_timeout)
        finally:
            await runner.cleanup()

    from hub.server import event_loop as loops

    loops.run(main(), event_loop)
