"""Each bad request gets a clear ``{"error": ...}`` with the right status, and the server goes on."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from onnx_graphs import v2_input

from hub.api import Hub
from hub.server.app import create_app

ROW = [5.1, 3.5, 1.4, 0.2]


def _req(**input_fields) -> dict:
    base = {"name": "input", "datatype": "FP32", "shape": [1, 4], "data": ROW}
    base.update(input_fields)
    return {"inputs": [base]}


BAD = [
    ("malformed json", b'{"inputs": [', 400, "malformed JSON"),
    ("not an object", b"[1, 2]", 400, "JSON object"),
    ("wrong datatype", _req(datatype="FP64"), 400, "expects datatype FP32"),
    ("unknown datatype", _req(datatype="FLOAT"), 400, "unknown datatype"),
    ("too few values", _req(data=ROW[:3]), 400, "needs 4 values, got 3"),
    (
        "data too short for the shape",
        b'{"inputs":[{"name":"input","datatype":"FP32","shape":[2,4],"data":[1,2,3]}]}',
        400,
        "shape [2, 4] needs 8 values, more than its data can hold (7 characters of JSON)",
    ),
    ("shape mismatch", _req(shape=[2, 2]), 400, "has shape [2, 2]"),
    ("text in numbers", _req(data=["a", "b", "c", "d"]), 400, "does not fit FP32"),
    ("ragged nested", _req(data=[[1, 2], [3]]), 400, "input 'input'"),
    ("negative dim", _req(shape=[-1, 4]), 400, "$.inputs[0].shape[0]: expected `int` >= 0"),
    ("missing input", {"inputs": []}, 400, "missing input"),
    ("unknown input", _req(name="features"), 400, "unknown input 'features'"),
    ("unknown output", {**_req(), "outputs": [{"name": "scores"}]}, 400, "unknown output 'scores'"),
    (
        "no data",
        {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4]}]},
        400,
        "neither 'data'",
    ),
]


@pytest.mark.parametrize("label,body,status,message", BAD, ids=[b[0] for b in BAD])
async def test_bad_request_is_refused_and_the_server_keeps_serving(
    client, label, body, status, message
) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = await client.post(
        "/v2/models/iris/infer", data=data, headers={"Content-Type": "application/json"}
    )
    assert resp.status == status
    error = (await resp.json())["error"]
    assert message in error, error
    ok = await client.post("/v2/models/iris/infer", json=_req())
    assert ok.status == 200


async def test_binary_sizes_are_checked(client) -> None:
    def header(size: int) -> bytes:
        return json.dumps(
            {
                "inputs": [
                    {
                        "name": "input",
                        "datatype": "FP32",
                        "shape": [1, 4],
                        "parameters": {"binary_data_size": size},
                    }
                ]
            }
        ).encode()

    blob = np.array(ROW, dtype=np.float32).tobytes()
    for length, payload, message in (
        (len(header(12)), header(12) + blob[:12], "needs 16"),
        (len(header(16)), header(16) + blob + b"xx", "not claimed"),
        (len(header(16)), header(16) + blob[:8], "runs past"),
        (len(header(16)) + 999, header(16) + blob, "body has"),
    ):
        resp = await client.post(
            "/v2/models/iris/infer",
            data=payload,
            headers={"Inference-Header-Content-Length": str(length)},
        )
        assert resp.status == 400
        assert message in (await resp.json())["error"]


async def test_body_over_the_limit_is_413(aiohttp_client, catalog: Hub) -> None:
    settings = replace(catalog.settings, max_request_bytes=2048)
    client = await aiohttp_client(create_app(catalog, settings))
    rows = np.ones((200, 4), dtype=np.float32)
    resp = await client.post("/v2/models/iris/infer", json={"inputs": [v2_input("input", rows)]})
    assert resp.status == 413
    assert "limit of 2048 bytes" in (await resp.json())["error"]
    resp = await client.post("/v2/models/iris/infer", json=_req())
    assert resp.status == 200


async def test_errors_are_counted_by_status(client) -> None:
    await client.post("/v2/models/iris/infer", data=b"{")
    await client.post("/v2/models/nosuch/infer", json=_req())
    text = await (await client.get("/metrics")).text()
    assert 'onnxhub_request_errors_total{status="400"} 1.0' in text
    assert 'onnxhub_request_errors_total{status="404"} 1.0' in text
