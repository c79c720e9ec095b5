"""The real server on a free localhost port, in a thread with its own event loop, so a real
browser can talk to it while the test drives the browser synchronously."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web

from hub.server.app import create_app


class LiveServer:
    """``onnxhub serve``'s app over ``hub``, listening on 127.0.0.1 (``url`` once started)."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.url = ""

    def _call(self, coroutine: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start(self) -> None:
        self.runner = web.AppRunner(create_app(self.hub), shutdown_timeout=2.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> "LiveServer":
        self.thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        if self.runner is not None:
            self._call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
