"""A scripted mix of the probe's attacks against a real ``onnxhub serve`` while a well-behaved
client keeps asking: it is answered every time, and each attack gets its clear 4xx/5xx.

The latency figures are printed (``-s``) and recorded in ``bench/hostile.md``; the only timing
asserted is the stated bound, p99 under one second, for the well-behaved client.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from attacks import (
    Payloads,
    Probe,
    attack_body,
    attack_chunked,
    attack_cross_site,
    attack_event_id,
    attack_half_open,
    attack_loop,
    attack_spellings,
)
from hostile import bytes_model, loop_model
from serve_process import ServeProcess

from hub.api import Hub

MiB = 1024 * 1024
LIMIT = 8 * MiB


@pytest.fixture
def served(tmp_path: Path, serve_settings, logreg):  # type: ignore[no-untyped-def]
    with Hub(serve_settings) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        hub.publish(bytes_model(), name="strings", sample=np.array(["a", "bc"], dtype=object))
        hub.publish(loop_model(), name="loop", sample=np.array([3], dtype=np.int64))
    env = {
        "ONNXHUB_HOME": str(serve_settings.home),
        "ONNXHUB_PROVIDERS": "CPUExecutionProvider",
        "ONNXHUB_INTRA_OP_THREADS": "1",
        "ONNXHUB_MAX_REQUEST_BYTES": str(LIMIT),
        "ONNXHUB_RUN_TIMEOUT": "2",
        "ONNXHUB_HEADER_TIMEOUT": "2",
        "ONNXHUB_MAX_CONNECTIONS": "128",
        "ONNXHUB_DRAIN_TIMEOUT": "1",
    }
    server = ServeProcess.serve(env, tmp_path / "serve.log")
    try:
        server.wait_ready()
        yield server
    finally:
        assert server.terminate(timeout=30) == 0  # SIGTERM ends even the runaway runs


async def test_a_mix_of_attacks_leaves_a_well_behaved_client_answered(served) -> None:
    base = served.url
    payloads = Payloads(scale=0.08).build()
    probe = Probe(base)
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        for _ in range(3):  # warm the models up (the first request loads them)
            await attack_loop_quick(session, base)
        probe_task = asyncio.ensure_future(probe.run(stop))
        await asyncio.sleep(0.3)
        results = await asyncio.gather(
            *(attack_body(session, base, payloads, "shape") for _ in range(5)),
            *(attack_body(session, base, payloads, "amplify") for _ in range(5)),
            attack_body(session, base, payloads, "gzip"),
            attack_body(session, base, payloads, "brotli"),
            attack_body(session, base, payloads, "big_json"),
            attack_body(session, base, payloads, "big_bytes", model="strings"),
            attack_loop(session, base),
            attack_loop(session, base),
            attack_chunked(session, base, LIMIT),
            attack_half_open("127.0.0.1", served.port, 300, 3.0),
            attack_event_id(session, base),
            attack_cross_site(session, base),
            attack_spellings(session, base, 300),
        )
        await asyncio.sleep(0.3)
        stop.set()
        await probe_task
    summary = probe.summary()
    print(f"\nattack results: {results}\nwell-behaved client: {summary}")
    shape, amplify = results[0:5], results[5:10]
    gzip_, brotli, big_json, big_bytes, loop1, loop2, chunked = results[10:17]
    assert set(shape) == {"400"} and set(amplify) == {"400"}
    assert gzip_ == "413" and brotli == "415" and chunked == "413"
    assert big_json == "200" and big_bytes == "200"  # large legal bodies are served
    assert loop1 == "504" and loop2 == "504"
    assert results[18] == "400" and results[19] == "403/403"
    assert probe.failures == [] and summary["requests"] > 20
    assert summary["p99_ms"] < 1000, summary


async def attack_loop_quick(session: aiohttp.ClientSession, base: str) -> None:
    for model, body in (
        ("loop", {"inputs": [{"name": "n", "datatype": "INT64", "shape": [1], "data": [2]}]}),
        (
            "iris",
            {
                "inputs": [
                    {"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}
                ]
            },
        ),
        (
            "strings",
            {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}]},
        ),
    ):
        async with session.post(f"{base}/v2/models/{model}/infer", json=body) as resp:
            assert resp.status == 200, await resp.text()
