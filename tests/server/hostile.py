"""Helpers for the hostile-client tests: runaway graphs, a well-behaved probe, memory peaks."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Awaitable, Iterator

import numpy as np
import onnx
from aiohttp import web
from aiohttp.test_utils import TestServer
from onnx import TensorProto, helper
from onnx_graphs import loop_model, model_of  # noqa: F401  (loop_model: re-exported for the tests)

from hub.server.connections import GuardedRunner
from hub.server.keys import SETTINGS

ROW = [5.1, 3.5, 1.4, 0.2]
GOOD = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": ROW}]}


def bytes_model() -> onnx.ModelProto:
    """``text`` (string ``[-1]``) -> Identity -> ``same``."""
    return model_of(
        helper.make_graph(
            [helper.make_node("Identity", ["text"], ["same"])],
            "strings",
            [helper.make_tensor_value_info("text", TensorProto.STRING, [None])],
            [helper.make_tensor_value_info("same", TensorProto.STRING, [None])],
        )
    )


def write_token(hub: Any) -> dict[str, str]:
    """Headers with a write token of the local owner (repository load/unload need one)."""
    from hub.catalog import accounts

    def make(session: Any) -> str:
        accounts.get_or_create_user(session, hub.settings.user)
        return accounts.create_token(session, hub.settings.user, scope="write")[0]

    return {"Authorization": f"Bearer {hub.db.transaction(make)}"}


def loop_request(n: int) -> dict:
    return {"inputs": [{"name": "n", "datatype": "INT64", "shape": [1], "data": [n]}]}


@dataclass
class Probe:
    """A well-behaved client: 1-row requests to ``iris`` one after another, each timed."""

    client: Any
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            resp = await self.client.post("/v2/models/iris/infer", json=GOOD)
            await resp.read()
            self.latencies.append(time.perf_counter() - started)
            self.statuses.append(resp.status)
            await asyncio.sleep(0.005)

    async def during(self, attack: Awaitable[Any]) -> Any:
        """Run the probe while ``attack`` runs; returns the attack's result."""
        stop = asyncio.Event()
        task = asyncio.ensure_future(self._run(stop))
        await asyncio.sleep(0.02)
        try:
            return await attack
        finally:
            stop.set()
            await task

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)

    def p99(self) -> float:
        return float(np.percentile(self.latencies, 99)) if self.latencies else 0.0


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Yields a list that holds, on exit, the peak bytes allocated above the start (tracemalloc
    sees Python objects and numpy buffers alike)."""
    result: list[int] = []
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    try:
        yield result
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result.append(peak - base)


class GuardedTestServer(TestServer):
    """The test server with ``onnxhub serve``'s connection limits (header timeout, cap)."""

    def __init__(self, app: web.Application, **kwargs: object) -> None:
        super().__init__(app, **kwargs)  # type: ignore[arg-type]
        settings = app[SETTINGS]
        self.header_timeout = settings.header_timeout
        self.max_connections = settings.max_connections

    async def _make_runner(self, **kwargs: object) -> GuardedRunner:
        return GuardedRunner(
            self.app,
            header_timeout=self.header_timeout,
            max_connections=self.max_connections,
            **kwargs,  # type: ignore[arg-type]
        )
