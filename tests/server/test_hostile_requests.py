"""What one request can make the server allocate or send: bounded before anything is built.

Each test runs the attack on loopback against the real server, measures the server-side peak
allocation (tracemalloc: Python objects and numpy buffers) and the status code, and checks
that a well-behaved client goes on being answered.
"""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hostile import GOOD, ROW, GuardedTestServer, Probe, bytes_model, peak_memory

from hub.api import Hub
from hub.server.app import create_app

MiB = 1024 * 1024


async def _post(client, path: str, body: bytes, header_length: int | None = None):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/octet-stream" if header_length else "application/json"}
    if header_length is not None:
        headers["Inference-Header-Content-Length"] = str(header_length)
    resp = await client.post(path, data=body, headers=headers)
    return resp.status, await resp.json()


# -- 1. allocation from a declared shape ------------------------------------------------------


@pytest.mark.parametrize("model", ["iris", "no-such-model"])
async def test_a_huge_declared_bytes_shape_without_data_allocates_nothing(client, model) -> None:
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": [400_000_000],
                    "parameters": {"binary_data_size": 0},
                }
            ]
        }
    ).encode()
    with peak_memory() as peak:
        status, doc = await _post(client, f"/v2/models/{model}/infer", header, len(header))
    assert status == 400
    assert "400000000" in doc["error"] and "ONNXHUB_MAX_REQUEST_ELEMENTS" in doc["error"]
    assert peak[0] < 2 * MiB, peak  # was ~3 GB: an object array sized from the shape
    assert (await client.post("/v2/models/iris/infer", json=GOOD)).status == 200


async def test_bytes_elements_must_each_have_their_length_prefix(client) -> None:
    # Within the element bound, but 1000 elements cannot fit in 12 bytes.
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": [1000],
                    "parameters": {"binary_data_size": 12},
                }
            ]
        }
    ).encode()
    with peak_memory() as peak:
        status, doc = await _post(client, "/v2/models/iris/infer", header + b"\0" * 12, len(header))
    assert status == 400 and "needs at least 4000 bytes" in doc["error"]
    assert peak[0] < 1 * MiB


async def test_a_json_shape_larger_than_its_data_is_refused_before_decoding(client) -> None:
    """Sibling: JSON ``data`` declared as ``[10**7]`` with two values."""
    body = {
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [10_000_000], "data": [1, 2]}]
    }
    with peak_memory() as peak:
        status, doc = await _post(client, "/v2/models/iris/infer", json.dumps(body).encode())
    assert status == 400 and "needs 10000000 values" in doc["error"]
    assert peak[0] < 1 * MiB


async def test_the_element_bound_counts_all_inputs_together(
    tmp_path: Path, aiohttp_client, serve_settings, logreg
) -> None:
    """Sibling: many inputs each under the bound cannot add up past it."""
    settings = replace(serve_settings, max_request_elements=1000)
    with Hub(settings) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        client = await aiohttp_client(GuardedTestServer(create_app(hub)))
        inputs = [
            {"name": f"in{i}", "datatype": "FP32", "shape": [300], "data": [0.0] * 300}
            for i in range(4)
        ]
        status, doc = await _post(
            client, "/v2/models/iris/infer", json.dumps({"inputs": inputs}).encode()
        )
        assert status == 400 and "in3" in doc["error"] and "100 this request" in doc["error"]


# -- 2. amplification ---------------------------------------------------------------------


async def test_repeated_output_names_are_refused(client) -> None:
    body = {**GOOD, "outputs": [{"name": "probabilities"}] * 4000}
    data = json.dumps(body).encode()
    with peak_memory() as peak:
        status, doc = await _post(client, "/v2/models/iris/infer", data)
    assert status == 400 and "'probabilities' is requested more than once" in doc["error"]
    assert peak[0] < 4 * MiB  # was a 64 MB response and ~700 MB of server memory


async def test_the_response_size_is_bounded_by_a_setting(
    aiohttp_client, serve_settings, logreg
) -> None:
    """Sibling: many rows of a legal request whose answer exceeds ONNXHUB_MAX_RESPONSE_BYTES."""
    settings = replace(serve_settings, max_response_bytes=20_000)
    with Hub(settings) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        client = await aiohttp_client(GuardedTestServer(create_app(hub)))
        rows = np.tile(np.asarray(ROW, np.float32), (2000, 1))
        body = {
            "inputs": [
                {
                    "name": "input",
                    "datatype": "FP32",
                    "shape": [2000, 4],
                    "data": rows.ravel().tolist(),
                }
            ]
        }
        status, doc = await _post(client, "/v2/models/iris/infer", json.dumps(body).encode())
        assert status == 400 and "ONNXHUB_MAX_RESPONSE_BYTES" in doc["error"]
        assert (await client.post("/v2/models/iris/infer", json=GOOD)).status == 200


# -- 4. large legal bodies ------------------------------------------------------------------


@pytest.fixture
async def strings_client(aiohttp_client, serve_settings, logreg):  # type: ignore[no-untyped-def]
    with Hub(serve_settings) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        hub.publish(bytes_model(), name="strings", sample=np.array(["a", "bc"], dtype=object))
        yield await aiohttp_client(GuardedTestServer(create_app(hub)))


async def test_a_large_bytes_body_is_decoded_off_the_event_loop(strings_client) -> None:
    count = 1_000_000
    blob = (struct.pack("<I", 6) + b"abcdef") * count
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": [count],
                    "parameters": {"binary_data_size": len(blob)},
                }
            ],
            "outputs": [{"name": "same", "parameters": {"binary_data": True}}],
        }
    ).encode()
    probe = Probe(strings_client)

    async def attack():  # type: ignore[no-untyped-def]
        resp = await strings_client.post(
            "/v2/models/strings/infer",
            data=header + blob,
            headers={
                "Inference-Header-Content-Length": str(len(header)),
                "Content-Type": "application/octet-stream",
            },
        )
        return resp.status, await resp.read(), resp.headers

    status, payload, headers = await probe.during(attack())
    assert status == 200
    json_len = int(headers["Inference-Header-Content-Length"])
    assert payload[json_len:] == blob  # every string came back, in order
    assert all(s == 200 for s in probe.statuses) and probe.latencies
    print(
        f"\n10 MB BYTES body: probe worst {probe.worst * 1000:.0f} ms over {len(probe.latencies)}"
    )


async def test_mixed_length_strings_decode_exactly(strings_client) -> None:
    texts = ["", "a", "\u00e9t\u00e9", "x" * 300, "\0lead", "trail\0", "z"]
    blob = b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in texts)
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": [len(texts)],
                    "parameters": {"binary_data_size": len(blob)},
                }
            ]
        }
    ).encode()
    status, doc = await _post(
        strings_client, "/v2/models/strings/infer", header + blob, len(header)
    )
    assert status == 200 and doc["outputs"][0]["data"] == texts
    uniform = ["ab\0", "cd\0"]  # same length, trailing NULs: kept
    blob = b"".join(struct.pack("<I", 3) + t.encode() for t in uniform)
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": [2],
                    "parameters": {"binary_data_size": len(blob)},
                }
            ]
        }
    ).encode()
    status, doc = await _post(
        strings_client, "/v2/models/strings/infer", header + blob, len(header)
    )
    assert status == 200 and doc["outputs"][0]["data"] == uniform


async def test_a_large_json_body_is_decoded_off_the_event_loop(client) -> None:
    rows = np.random.default_rng(0).random((250_000, 4)).astype(np.float32)
    body = json.dumps(
        {
            "inputs": [
                {
                    "name": "input",
                    "datatype": "FP32",
                    "shape": list(rows.shape),
                    "data": rows.ravel().tolist(),
                }
            ],
            "outputs": [{"name": "label"}],
        }
    ).encode()
    probe = Probe(client)

    async def attack():  # type: ignore[no-untyped-def]
        resp = await client.post(
            "/v2/models/iris/infer", data=body, headers={"Content-Type": "application/json"}
        )
        return resp.status, await resp.json()

    status, doc = await probe.during(attack())
    assert status == 200 and doc["outputs"][0]["shape"] == [250_000]
    assert all(s == 200 for s in probe.statuses)
    print(f"\n{len(body) / MiB:.0f} MB JSON body: probe worst {probe.worst * 1000:.0f} ms")
