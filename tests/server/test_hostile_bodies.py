"""Compressed, chunked and slow bodies: inflated off the event loop, limited after inflating.

The server accepts ``Content-Encoding`` identity, gzip and deflate (415 for anything else,
brotli included); a body over ``ONNXHUB_MAX_REQUEST_BYTES`` once decompressed, or received, is
413 ``{"error"}`` and counted in ``/metrics``, whatever its transfer encoding.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from dataclasses import replace

import pytest
from hostile import GOOD, GuardedTestServer, Probe, peak_memory

from hub.api import Hub
from hub.server.app import create_app

MiB = 1024 * 1024


@pytest.fixture
async def small_limit_client(aiohttp_client, serve_settings, logreg):  # type: ignore[no-untyped-def]
    settings = replace(serve_settings, max_request_bytes=1 * MiB, body_timeout=1.0)
    with Hub(settings) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        yield await aiohttp_client(GuardedTestServer(create_app(hub)))


async def _errors_413(client) -> float:  # type: ignore[no-untyped-def]
    text = await (await client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith('onnxhub_request_errors_total{status="413"}'):
            return float(line.split()[-1])
    return 0.0


async def test_a_gzip_request_is_inflated_and_answered(client) -> None:
    body = gzip.compress(json.dumps(GOOD).encode())
    resp = await client.post(
        "/v2/models/iris/infer",
        data=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert resp.status == 200 and (await resp.json())["outputs"][0]["data"] == [0]
    deflated = zlib.compress(json.dumps(GOOD).encode())
    resp = await client.post(
        "/v2/models/iris/infer",
        data=deflated,
        headers={"Content-Encoding": "deflate", "Content-Type": "application/json"},
    )
    assert resp.status == 200


async def test_a_gzip_bomb_is_413_without_stalling_or_inflating_it(small_limit_client) -> None:
    client = small_limit_client
    bomb = gzip.compress(b" " * (200 * MiB), compresslevel=9)  # ~200 KB on the wire
    before = await _errors_413(client)
    probe = Probe(client)

    async def attack():  # type: ignore[no-untyped-def]
        resp = await client.post(
            "/v2/models/iris/infer",
            data=bomb,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        return resp.status, resp.headers["Content-Type"], await resp.json()

    with peak_memory() as peak:
        status, content_type, doc = await probe.during(attack())
    assert status == 413 and content_type == "application/json"
    assert "once decompressed" in doc["error"] and str(MiB) in doc["error"]
    assert peak[0] < 16 * MiB, peak  # never more than the limit inflated (was ~550 MB)
    assert await _errors_413(client) == before + 1
    assert all(s == 200 for s in probe.statuses)
    print(f"\ngzip bomb: peak {peak[0] / MiB:.1f} MiB, probe worst {probe.worst * 1000:.0f} ms")


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "gzip, br"])
async def test_other_content_codings_are_415(client, coding) -> None:
    resp = await client.post(
        "/v2/models/iris/infer",
        data=b"\x0b\x02\x80{}\x03",
        headers={"Content-Encoding": coding, "Content-Type": "application/json"},
    )
    assert resp.status == 415 and "Content-Encoding" in (await resp.json())["error"]
    assert (await client.post("/v2/models/iris/infer", json=GOOD)).status == 200


async def test_a_corrupt_gzip_body_is_refused(client) -> None:
    resp = await client.post(
        "/v2/models/iris/infer",
        data=gzip.compress(b'{"inputs": []}')[:-6],
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert resp.status == 415 and "compressed request body" in (await resp.json())["error"]


async def test_a_chunked_body_over_the_limit_is_413_and_counted(small_limit_client) -> None:
    client = small_limit_client
    before = await _errors_413(client)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b" " * 64 * 1024  # 2.5 MiB in all, no Content-Length

    resp = await client.post(
        "/v2/models/iris/infer", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert resp.headers["Content-Type"] == "application/json"
    assert "ONNXHUB_MAX_REQUEST_BYTES" in (await resp.json())["error"]
    assert await _errors_413(client) == before + 1
    assert (await client.post("/v2/models/iris/infer", json=GOOD)).status == 200


async def test_a_declared_length_over_the_limit_is_413_before_reading(small_limit_client) -> None:
    """Sibling: ``Content-Length`` alone says the body is too large."""
    client = small_limit_client
    resp = await client.post(
        "/v2/models/iris/infer",
        data=b" " * (MiB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 413 and "of 1048577 bytes" in (await resp.json())["error"]


async def test_a_body_that_trickles_in_is_408_after_the_body_timeout(small_limit_client) -> None:
    client = small_limit_client

    async def trickle():  # type: ignore[no-untyped-def]
        yield b'{"inputs": '
        await asyncio.sleep(3)  # longer than the 1 s body timeout
        yield b"[]}"

    resp = await client.post(
        "/v2/models/iris/infer", data=trickle(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 408 and "ONNXHUB_BODY_TIMEOUT" in (await resp.json())["error"]
