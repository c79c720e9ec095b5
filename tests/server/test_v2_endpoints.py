"""The V2 REST endpoints against a real catalog: metadata, inference, versions, datatypes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx_graphs import ALL_TYPES, all_types_model, all_types_sample, v2_input

from hub.api import Hub
from hub.server.app import create_app


async def test_health_and_server_metadata(client) -> None:
    assert (await client.get("/v2/health/live")).status == 200
    assert (await client.get("/v2/health/ready")).status == 200
    meta = await (await client.get("/v2")).json()
    assert meta["name"] == "onnxhub"
    assert {"binary_tensor_data", "model_repository"} <= set(meta["extensions"])
    assert meta["parameters"]["providers"] == ["CPUExecutionProvider"]


async def test_model_metadata_follows_the_spec(client) -> None:
    resp = await client.get("/v2/models/iris")
    assert resp.status == 200
    meta = await resp.json()
    assert meta["name"] == "iris" and meta["versions"] == ["1"]
    assert meta["platform"] == "onnxruntime_onnx"
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert {o["name"]: o["shape"] for o in meta["outputs"]} == {
        "label": [-1],
        "probabilities": [-1, 3],
    }
    assert meta["parameters"]["providers"] == ["CPUExecutionProvider"]
    same = await (await client.get("/v2/models/iris/versions/1")).json()
    assert same["inputs"] == meta["inputs"]
    assert (await client.get("/v2/models/iris/ready")).status == 200
    assert (await client.get("/v2/models/iris/versions/1/ready")).status == 200


async def test_json_inference_matches_scikit_learn(client, logreg) -> None:
    model, X = logreg
    rows = X[:5]
    body = {"id": "req-7", "inputs": [v2_input("input", rows)]}
    resp = await client.post("/v2/models/iris/infer", json=body)
    assert resp.status == 200, await resp.text()
    doc = await resp.json()
    assert doc["id"] == "req-7" and doc["model_name"] == "iris" and doc["model_version"] == "1"
    out = {o["name"]: o for o in doc["outputs"]}
    assert out["label"]["datatype"] == "INT64" and out["label"]["shape"] == [5]
    assert out["label"]["data"] == model.predict(rows).tolist()
    probabilities = np.array(out["probabilities"]["data"]).reshape(out["probabilities"]["shape"])
    np.testing.assert_allclose(probabilities, model.predict_proba(rows), atol=1e-5)

    nested = {
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [5, 4], "data": rows.tolist()}],
        "outputs": [{"name": "label"}],
    }
    doc = await (await client.post("/v2/models/iris/infer", json=nested)).json()
    assert [o["name"] for o in doc["outputs"]] == ["label"]
    assert doc["outputs"][0]["data"] == model.predict(rows).tolist()
    assert "id" not in doc


async def test_version_segment_takes_numbers_and_aliases(client, catalog: Hub, ridge) -> None:
    model, X = ridge
    from sklearn.linear_model import Ridge

    other = Ridge(alpha=0.1).fit(X, -X[:, 0])
    catalog.publish(other, name="linear", sample=X)  # version 2
    row = {"inputs": [v2_input(catalog.get_version("linear").inputs[0].name, X[:2])]}

    async def served(path: str) -> tuple[str, float]:
        resp = await client.post(path, json=row)
        assert resp.status == 200, await resp.text()
        doc = await resp.json()
        return doc["model_version"], doc["outputs"][0]["data"][0]

    assert (await served("/v2/models/linear/infer"))[0] == "2"  # latest without production
    assert (await served("/v2/models/linear/versions/1/infer"))[1] == pytest.approx(
        float(model.predict(X[:1])[0]), rel=1e-4
    )
    catalog.set_alias("linear", "production", 1)
    catalog.set_alias("linear", "canary", 2)
    assert (await served("/v2/models/linear/versions/canary/infer"))[0] == "2"
    assert (await served("/v2/models/linear/versions/production/infer"))[0] == "1"
    meta = await (await client.get("/v2/models/linear")).json()
    assert meta["versions"] == ["1", "2"]
    for path in (
        "/v2/models/linear/versions/9/infer",
        "/v2/models/linear/versions/nope/infer",
        "/v2/models/nosuch/infer",
    ):
        resp = await client.post(path, json=row)
        assert resp.status == 404 and "error" in await resp.json()


@pytest.fixture
async def typed_client(aiohttp_client, catalog: Hub):  # type: ignore[no-untyped-def]
    catalog.publish(all_types_model(), name="alltypes", sample=all_types_sample())
    return await aiohttp_client(create_app(catalog))


async def test_every_datatype_round_trips_as_json(typed_client) -> None:
    sample = all_types_sample(rows=4)
    inputs = []
    for v2, key in zip(ALL_TYPES, sample):
        array = sample[key]
        data = array.tolist()  # nested lists, strings for BYTES, true/false for BOOL
        inputs.append({"name": key, "datatype": v2, "shape": list(array.shape), "data": data})
    resp = await typed_client.post("/v2/models/alltypes/infer", json={"inputs": inputs})
    assert resp.status == 200, await resp.text()
    out = {o["name"]: o for o in (await resp.json())["outputs"]}
    for v2, key in zip(ALL_TYPES, sample):
        got = out["out_" + key[3:]]
        assert got["datatype"] == v2 and got["shape"] == [4, 2]
        assert got["data"] == sample[key].ravel().tolist(), v2


async def test_every_datatype_round_trips_as_binary(typed_client) -> None:
    from hub.server.binary import encode_bytes_elements

    sample = all_types_sample(rows=2)
    header_inputs, blobs = [], []
    for v2, key in zip(ALL_TYPES, sample):
        array = sample[key]
        blob = encode_bytes_elements(array) if v2 == "BYTES" else array.tobytes()
        header_inputs.append(
            {
                "name": key,
                "datatype": v2,
                "shape": list(array.shape),
                "parameters": {"binary_data_size": len(blob)},
            }
        )
        blobs.append(blob)
    header = json.dumps(
        {"inputs": header_inputs, "parameters": {"binary_data_output": True}}
    ).encode()
    resp = await typed_client.post(
        "/v2/models/alltypes/infer",
        data=header + b"".join(blobs),
        headers={
            "Inference-Header-Content-Length": str(len(header)),
            "Content-Type": "application/octet-stream",
        },
    )
    assert resp.status == 200, await resp.text()
    body = await resp.read()
    length = int(resp.headers["Inference-Header-Content-Length"])
    doc = json.loads(body[:length])
    offset = length
    for output, blob in zip(doc["outputs"], blobs):
        size = output["parameters"]["binary_data_size"]
        assert "data" not in output and body[offset : offset + size] == blob, output["name"]
        offset += size
    assert offset == len(body)


async def test_nan_literals_are_accepted_and_non_finite_outputs_are_null(client) -> None:
    body = '{"inputs":[{"name":"input","datatype":"FP32","shape":[1,5],"data":[NaN,1,2,3,4]}]}'
    response = await client.post(
        "/v2/models/linear/infer", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 200, await response.text()
    text = await response.text()
    assert "NaN" not in text  # strict JSON: clients in any language can parse it
    assert (await response.json())["outputs"][0]["data"] == [None]
