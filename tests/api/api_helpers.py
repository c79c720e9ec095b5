"""Helpers for the catalog API tests: the iris export record, auth headers, upload forms."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np


@dataclass(frozen=True)
class IrisExport:
    """An exported LogisticRegression: ONNX bytes, its test data, held-out rows, sklearn labels."""

    model_bytes: bytes
    test_data: bytes
    X: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray
    label_outputs: tuple[str, ...]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload_form(
    model_bytes: bytes,
    test_data: bytes | None = None,
    card: str | None = None,
    metadata: dict[str, Any] | None = None,
    filename: str = "model.onnx",
) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("model", model_bytes, filename=filename, content_type="application/octet-stream")
    if test_data is not None:
        form.add_field("test_data", test_data, filename="test_data.npz")
    if card is not None:
        form.add_field("card", card, content_type="text/markdown")
    if metadata is not None:
        form.add_field("metadata", json.dumps(metadata), content_type="application/json")
    return form


def iris_form(export: IrisExport, **metadata: Any) -> aiohttp.FormData:
    meta = {
        "task": "tabular-classification",
        "label_outputs": list(export.label_outputs),
        "family": "sklearn",
        "framework": "scikit-learn",
        "library": "sklearn",
        **metadata,
    }
    return upload_form(export.model_bytes, export.test_data, metadata=meta)


class LiveServer:
    """The app on a real port, on its own event loop in a thread (schemathesis is blocking)."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from aiohttp import web

        from hub.server.app import create_app

        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(create_app(self.hub))
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self.runner = runner
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def start(self) -> str:
        self.thread.start()
        assert self.ready.wait(30)
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
