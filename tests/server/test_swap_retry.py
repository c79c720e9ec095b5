"""A hot swap whose new version fails to load is retried; the old version serves meanwhile.

The failure is real: the new version's blob in the artifact store is damaged (its sha256 no
longer matches, so the store refuses it) and later repaired, as after a transient storage fault.
Runs on SQLite (polling) and on PostgreSQL (LISTEN/NOTIFY wake-ups).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx_graphs import scale_model, v2_input

from hub.api import Hub
from hub.server.app import create_app
from hub.settings import Settings

X = np.arange(6, dtype=np.float32).reshape(2, 3)
REQUEST = {"inputs": [v2_input("x", X)]}


@pytest.fixture
def scale_hub(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    settings = replace(
        Settings.for_home(tmp_path / "home", database_url=database_url),
        event_poll_interval=0.05,
        providers=("CPUExecutionProvider",),
        intra_op_threads=1,
    )
    with Hub(settings) as hub:
        hub.publish(scale_model(2.0), name="s", sample=X, alias="production")
        hub.publish(scale_model(10.0), name="s", sample=X)  # version 2, not production yet
        yield hub


async def _next_event(resp, kinds: set[str], timeout: float = 20.0) -> dict:
    async def read() -> dict:
        kind = None
        while True:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind in kinds:
                return json.loads(line[6:])

    return await asyncio.wait_for(read(), timeout)


async def _y(client) -> list[float]:
    resp = await client.post("/v2/models/s/infer", json=REQUEST)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["outputs"][0]["data"]


def _metric(text: str, name: str, model: str) -> float:
    match = re.search(rf'^{name}\{{model="{model}"\}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


async def test_failed_swap_is_retried_and_the_old_version_keeps_serving(
    aiohttp_client, scale_hub: Hub
) -> None:
    client = await aiohttp_client(create_app(scale_hub))
    assert await _y(client) == (X * 2).ravel().tolist()  # version 1 is loaded and serving
    events = await client.get("/v2/events")

    v2 = scale_hub.get_version("s", 2)
    blob = scale_hub.artifacts.path(v2.sha256)
    good = blob.read_bytes()
    blob.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))  # damaged: sha256 mismatch

    await asyncio.to_thread(scale_hub.set_alias, "s", "production", 2)
    first = await _next_event(events, {"model.swap_failed"})
    assert first["model"] == "s" and first["event_kind"] == "alias.set"
    assert first["attempts"] == 1 and first["retry_in_s"] > 0
    assert "corrupted" in first["error"] and v2.sha256 in first["error"]
    second = await _next_event(events, {"model.swap_failed"})
    assert second["attempts"] == 2 and second["retry_in_s"] > first["retry_in_s"]

    # Meanwhile the alias keeps serving version 1, and /metrics tells the failure.
    assert await _y(client) == (X * 2).ravel().tolist()
    text = await (await client.get("/metrics")).text()
    assert _metric(text, "onnxhub_model_swap_failures_total", "s") >= 2
    assert _metric(text, "onnxhub_model_swap_retries_pending", "s") == 1
    assert _metric(text, "onnxhub_model_swap_recoveries_total", "s") == 0

    blob.write_bytes(good)  # the store recovers; no new catalog event is written
    swapped = await _next_event(events, {"model.swapped"})
    assert (swapped["from_version"], swapped["to_version"]) == (1, 2)
    recovered = await _next_event(events, {"model.swap_recovered"})
    assert recovered["model"] == "s" and recovered["failed_attempts"] >= 2
    assert await _y(client) == (X * 10).ravel().tolist()

    text = await (await client.get("/metrics")).text()
    assert _metric(text, "onnxhub_model_swap_recoveries_total", "s") == 1
    assert _metric(text, "onnxhub_model_swap_retries_pending", "s") == 0
    events.close()


async def test_a_later_event_of_the_model_supersedes_the_pending_retry(
    aiohttp_client, scale_hub: Hub
) -> None:
    client = await aiohttp_client(create_app(scale_hub))
    assert await _y(client) == (X * 2).ravel().tolist()
    events = await client.get("/v2/events")
    blob = scale_hub.artifacts.path(scale_hub.get_version("s", 2).sha256)
    blob.write_bytes(b"not an onnx model")

    await asyncio.to_thread(scale_hub.set_alias, "s", "production", 2)
    await _next_event(events, {"model.swap_failed"})
    # Someone notices and publishes a fixed version 3 as production: it is served, and the
    # broken version 2 stops being retried.
    await asyncio.to_thread(
        scale_hub.publish,
        onnx.load_from_string(scale_model(5.0).SerializeToString()),
        name="s",
        sample=X,
        alias="production",
    )
    swapped = await _next_event(events, {"model.swapped"})
    assert swapped["to_version"] == 3
    await _next_event(events, {"model.swap_recovered"})
    assert await _y(client) == (X * 5).ravel().tolist()
    text = await (await client.get("/metrics")).text()
    assert _metric(text, "onnxhub_model_swap_retries_pending", "s") == 0
    events.close()
