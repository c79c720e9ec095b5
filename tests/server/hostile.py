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

from hub.server.connections import GuardedRunner
from hub.server.keys import SETTINGS

ROW = [5.1, 3.5, 1.4, 0.2]
GOOD = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": ROW}]}


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


def loop_model(constant_trips: int | None = None) -> onnx.ModelProto:
    """``count = n`` computed by a Loop adding 1 per iteration, float32 ``[1]``.

    The trip count is the request's ``n`` (int64 ``[1]``), or ``constant_trips`` baked into
    the graph. Either way the run takes as long as the number says.
    """
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "one"], ["acc_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [1]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])],
    )
    nodes = [
        helper.make_node(
            "Constant", [], ["zero"], value=helper.make_tensor("z", TensorProto.FLOAT, [1], [0.0])
        ),
        helper.make_node(
            "Constant", [], ["true"], value=helper.make_tensor("t", TensorProto.BOOL, [], [True])
        ),
    ]
    if constant_trips is None:
        nodes.append(helper.make_node("Squeeze", ["n"], ["trips"]))
        inputs = [helper.make_tensor_value_info("n", TensorProto.INT64, [1])]
    else:
        nodes.append(
            helper.make_node(
                "Constant",
                [],
                ["trips"],
                value=helper.make_tensor("m", TensorProto.INT64, [], [constant_trips]),
            )
        )
        nodes.append(helper.make_node("Identity", ["x"], ["x_out"]))
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])]
    nodes.append(helper.make_node("Loop", ["trips", "true", "zero"], ["count"], body=body))
    outputs = [helper.make_tensor_value_info("count", TensorProto.FLOAT, [1])]
    if constant_trips is not None:
        outputs.append(helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [None, 1]))
    return _model(helper.make_graph(nodes, "loop", inputs, outputs))


def bytes_model() -> onnx.ModelProto:
    """``text`` (string ``[-1]``) -> Identity -> ``same``."""
    return _model(
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
