"""Typed application keys: everything shared hangs off the app, nothing is module-global."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hub.server.metrics import ServerMetrics
from hub.serving.events import EventBroadcaster
from hub.serving.runtime import InferenceRuntime
from hub.settings import Settings


@dataclass
class ServerState:
    """``ready`` turns false while the server drains at shutdown."""

    ready: bool = False


HUB: web.AppKey[Any] = web.AppKey("hub")
SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", InferenceRuntime)
BROADCASTER = web.AppKey("broadcaster", EventBroadcaster)
METRICS = web.AppKey("metrics", ServerMetrics)
SERVER_STATE = web.AppKey("server_state", ServerState)
#: Threads for decoding and encoding bodies above ``Settings.offload_bytes``.
CODEC = web.AppKey("codec", ThreadPoolExecutor)
