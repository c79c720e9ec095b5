"""Repository extension, server-sent events, metrics and generation over HTTP."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import numpy as np
from onnx_graphs import generator_model, v2_input

from hub.api import Hub
from hub.server.app import create_app

ROW = {
    "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]
}


def _write_token(hub: Hub) -> dict[str, str]:
    from hub.catalog import accounts

    def make(session) -> str:  # type: ignore[no-untyped-def]
        accounts.get_or_create_user(session, hub.settings.user)
        return accounts.create_token(session, hub.settings.user, scope="write")[0]

    return {"Authorization": f"Bearer {hub.db.transaction(make)}"}


async def test_unload_makes_the_model_not_ready_until_loaded_again(client, catalog) -> None:
    token = _write_token(catalog)  # load and unload need write on the model
    index = await (await client.post("/v2/repository/index")).json()
    assert {(e["name"], e["version"], e["state"]) for e in index} == {
        ("iris", "1", "READY"),
        ("linear", "1", "READY"),
    }
    assert (await client.post("/v2/models/iris/infer", json=ROW)).status == 200

    assert (await client.post("/v2/repository/models/iris/unload")).status == 401
    assert (await client.post("/v2/repository/models/iris/unload", headers=token)).status == 200
    resp = await client.get("/v2/models/iris/ready")
    assert resp.status == 503
    resp = await client.post("/v2/models/iris/infer", json=ROW)
    assert resp.status == 503 and "Retry-After" in resp.headers
    assert "unloaded" in (await resp.json())["error"]
    index = await (await client.post("/v2/repository/index")).json()
    assert {e["name"]: e["state"] for e in index}["iris"] == "UNAVAILABLE"
    assert (
        await client.post(
            "/v2/models/linear/infer",
            json={"inputs": [v2_input("input", np.ones((1, 5), np.float32))]},
        )
    ).status != 503

    resp = await client.post("/v2/repository/models/iris/load", headers=token)
    assert resp.status == 200 and (await resp.json())["state"] == "READY"
    assert (await client.get("/v2/models/iris/ready")).status == 200
    assert (await client.post("/v2/models/iris/infer", json=ROW)).status == 200
    assert (await client.post("/v2/repository/models/nosuch/load", headers=token)).status == 404


async def _read_events(resp, wanted: int, timeout: float = 5.0) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    kind = None

    async def read() -> None:
        nonlocal kind
        while len(events) < wanted:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))

    await asyncio.wait_for(read(), timeout)
    return events


async def test_sse_streams_catalog_and_runtime_events(client, catalog: Hub, ridge) -> None:
    resp = await client.get("/v2/events")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    assert (await client.post("/v2/models/iris/infer", json=ROW)).status == 200
    await asyncio.to_thread(catalog.set_alias, "iris", "production", 1)
    events = await _read_events(resp, 2)
    kinds = [k for k, _ in events]
    assert kinds == ["model.loaded", "alias.set"], events
    assert events[0][1]["providers"] == ["CPUExecutionProvider"]
    assert events[1][1]["model"] == "iris" and events[1][1]["alias"] == "production"
    resp.close()

    # Reconnecting with Last-Event-ID replays the catalog events after it.
    last = events[1][1]["id"]
    model, X = ridge
    await asyncio.to_thread(catalog.publish, model, name="linear", sample=X)
    replay = await client.get("/v2/events", headers={"Last-Event-ID": str(last - 1)})
    got = await _read_events(replay, 2)
    assert [k for k, _ in got][:2] == ["alias.set", "version.published"]
    assert got[0][1]["id"] == last
    replay.close()


async def test_metrics_report_requests_batches_and_providers(client) -> None:
    for _ in range(3):
        assert (await client.post("/v2/models/iris/infer", json=ROW)).status == 200
    text = await (await client.get("/metrics")).text()
    assert 'onnxhub_inference_requests_total{model="iris"} 3.0' in text
    assert 'onnxhub_inference_latency_seconds_count{model="iris"} 3.0' in text
    assert 'onnxhub_batch_size_count{model="iris"} 3.0' in text
    assert "onnxhub_loaded_models 1.0" in text
    assert 'onnxhub_queue_depth{model="iris",version="1"} 0.0' in text
    assert (
        'onnxhub_model_provider{model="iris",provider="CPUExecutionProvider",version="1"} 1.0'
        in text
    )


class GeneratorCatalog:
    """The real hub, with ``gen`` marked as a generator (what the generative family records)."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._hub, name)

    def get_version(self, name, ref=None):  # type: ignore[no-untyped-def]
        info = self._hub.get_version(name, ref)
        if name == "gen":
            info = replace(
                info, task="generation", metadata={**info.metadata, "latent_input": "latent"}
            )
        return info


async def test_generation_draws_the_latent_from_the_seed(aiohttp_client, catalog: Hub) -> None:
    from hub.families.generation import draw_latent

    graph, weights = generator_model(latent_dim=4, out_dim=3)
    catalog.publish(graph, name="gen", sample=np.zeros((2, 4), np.float32))
    client = await aiohttp_client(create_app(GeneratorCatalog(catalog), catalog.settings))
    body = {"inputs": [], "parameters": {"seed": 7, "num_samples": 5}}
    first = await client.post("/v2/models/gen/infer", json=body)
    assert first.status == 200, await first.text()
    doc = await first.json()
    samples = np.array(doc["outputs"][0]["data"], np.float32).reshape(doc["outputs"][0]["shape"])
    np.testing.assert_allclose(samples, draw_latent(5, 4, 7) @ weights, rtol=1e-5, atol=1e-6)
    assert doc["parameters"] == {"seed": 7, "num_samples": 5}
    again = await (await client.post("/v2/models/gen/infer", json=body)).json()
    assert again["outputs"][0]["data"] == doc["outputs"][0]["data"]
    other = await (
        await client.post(
            "/v2/models/gen/infer", json={"parameters": {"seed": 8, "num_samples": 5}}
        )
    ).json()
    assert other["outputs"][0]["data"] != doc["outputs"][0]["data"]
    bad = await client.post("/v2/models/gen/infer", json={"parameters": {"seed": "x"}})
    assert bad.status == 400 and "seed" in (await bad.json())["error"]
