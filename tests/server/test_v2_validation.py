"""JSON values are validated against their datatype, and the request schema against its types.

A value that does not fit (1.5 for INT64, "1" for FP32, true for INT32, 300 for UINT8) is a 400
naming the input and the first bad value, as Triton and the Open Inference Protocol do; a field
of the wrong JSON type anywhere is a 400 naming its path.
"""

from __future__ import annotations

import json

import msgspec
import numpy as np
import pytest
from hostile import GuardedTestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx_graphs import all_types_model, all_types_sample

from hub.api import Hub
from hub.errors import InvalidInput
from hub.server.app import create_app
from hub.server.v2_codec import decode_request


@pytest.fixture
async def typed_client(aiohttp_client, serve_settings):  # type: ignore[no-untyped-def]
    with Hub(serve_settings) as hub:
        hub.publish(all_types_model(), name="types", sample=all_types_sample())
        yield await aiohttp_client(GuardedTestServer(create_app(hub)))


def _one(name: str, datatype: str, data: object, shape: list[int] | None = None) -> dict:
    return {
        "inputs": [{"name": name, "datatype": datatype, "shape": shape or [1, 2], "data": data}]
    }


REFUSED = [
    ("INT64", [1.5, 2.7], "data[0] is 1.5"),
    ("INT64", [1, "2"], 'data[1] is "2"'),
    ("INT32", [[1, 2], [3, True]], "data[1][1] is true", [2, 2]),
    ("UINT8", [1, 300], "data[1] is 300"),
    ("INT8", [-129, 0], "data[0] is -129"),
    ("UINT64", [0, -1], "data[1] is -1"),
    ("FP32", ["1.0", 2], 'data[0] is "1.0"'),
    ("FP64", [1, None], "data[1] is null"),
    ("BOOL", [1, 0], "data[0] is 1"),
    ("BYTES", ["a", 5], "data[1] is 5"),
    ("INT64", [1.0, 2], "data[0] is 1.0"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[f"{c[0]}-{c[2]}" for c in REFUSED])
async def test_values_that_do_not_fit_the_datatype_are_refused(typed_client, case) -> None:
    datatype, data, where = case[0], case[1], case[2]
    shape = case[3] if len(case) > 3 else [1, 2]
    name = f"in_{datatype.lower()}"
    resp = await typed_client.post("/v2/models/types/infer", json=_one(name, datatype, data, shape))
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert f"input {name!r}" in error and where in error, error


async def test_values_that_fit_are_served_exactly(typed_client) -> None:
    sample = all_types_sample(rows=2)
    inputs = []
    for key, array in sample.items():
        datatype = key[3:].upper()
        data = array.tolist()
        if datatype == "UINT64":
            data = [[2**64 - 1, 0], [1, 2]]  # the whole unsigned range
        if datatype.startswith("FP"):
            data = [[1, 2.5], [-3, 0]]  # integers are numbers too
        inputs.append({"name": key, "datatype": datatype, "shape": [2, 2], "data": data})
    resp = await typed_client.post("/v2/models/types/infer", json={"inputs": inputs})
    assert resp.status == 200, await resp.text()
    outputs = {o["name"]: o["data"] for o in (await resp.json())["outputs"]}
    assert outputs["out_uint64"] == [2**64 - 1, 0, 1, 2]
    assert outputs["out_fp32"] == [1.0, 2.5, -3.0, 0.0]
    assert outputs["out_bytes"] == np.asarray(sample["in_bytes"]).ravel().tolist()
    assert outputs["out_bool"] == np.asarray(sample["in_bool"]).ravel().tolist()


WRONG_TYPES = [
    ({"inputs": [], "outputs": [{"name": "y", "parameters": [None]}]}, "$.outputs[0].parameters"),
    ({"inputs": {"name": "x"}}, "$.inputs"),
    ({"inputs": [{"name": 3, "datatype": "FP32", "shape": [1], "data": [1]}]}, "$.inputs[0].name"),
    (
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": "1", "data": [1]}]},
        "$.inputs[0].shape",
    ),
    (
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1.5], "data": [1]}]},
        "$.inputs[0].shape[0]",
    ),
    (
        {
            "inputs": [
                {
                    "name": "x",
                    "datatype": "FP32",
                    "shape": [1],
                    "parameters": {"binary_data_size": "4"},
                }
            ]
        },
        "$.inputs[0].parameters.binary_data_size",
    ),
    ({"inputs": [], "parameters": []}, "$.parameters"),
    ({"inputs": [], "parameters": {"a": [1]}}, "$.parameters"),
    ({"id": 7, "inputs": []}, "$.id"),
    ({"inputs": [], "outputs": [{"parameters": {}}]}, "$.outputs[0]"),
    (
        {"inputs": [], "outputs": [{"name": "y", "parameters": {"binary_data": "yes"}}]},
        "$.outputs[0].parameters.binary_data",
    ),
]


@pytest.mark.parametrize("body,path", WRONG_TYPES, ids=[w[1] for w in WRONG_TYPES])
async def test_a_field_of_the_wrong_type_is_a_400_naming_its_path(client, body, path) -> None:
    resp = await client.post("/v2/models/iris/infer", json=body)
    assert resp.status == 400
    assert (await resp.json())["error"].startswith(path), path


async def test_the_nan_path_gives_the_same_errors(client) -> None:
    body = b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [NaN, 1, 2, 3]}], "outputs": [{"name": "label", "parameters": [1]}]}'
    resp = await client.post(
        "/v2/models/iris/infer", data=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert (await resp.json())["error"].startswith("$.outputs[0].parameters")
    ok = body.replace(b', "outputs": [{"name": "label", "parameters": [1]}]', b"")
    resp = await client.post(
        "/v2/models/iris/infer", data=ok, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 200


async def test_server_metadata_answers_with_and_without_the_trailing_slash(client) -> None:
    docs = []
    for path in ("/v2", "/v2/"):
        resp = await client.get(path)
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
        docs.append(await resp.json())
    assert docs[0] == docs[1] and docs[0]["name"] == "onnxhub"


# -- property: any JSON document is either a request or a 400, never anything else -----------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "id",
        "inputs",
        "outputs",
        "parameters",
        "name",
        "shape",
        "datatype",
        "data",
        "binary_data",
        "binary_data_size",
    ]
)
documents = st.recursive(
    json_values,
    lambda children: (
        st.dictionaries(field_names, children, max_size=5) | st.lists(children, max_size=3)
    ),
    max_leaves=25,
)
valid_inputs = st.builds(
    lambda dt, n: {
        "name": "x",
        "datatype": dt,
        "shape": [n],
        "data": [0] * n if dt != "BYTES" else [""] * n,
    },
    st.sampled_from(["FP32", "INT64", "BYTES", "UINT8"]),
    st.integers(0, 3),
)
mutated = st.builds(
    lambda inp, key, value: {"inputs": [{**inp, key: value}]},
    valid_inputs,
    st.sampled_from(["name", "shape", "datatype", "data", "parameters"]),
    json_values,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(documents, mutated))
def test_any_json_document_decodes_or_is_a_400(doc) -> None:
    body = msgspec.json.encode(doc)
    try:
        decoded = decode_request(body, max_elements=10_000)
    except InvalidInput as exc:
        assert exc.status == 400 and exc.message
        return
    for array in decoded.feeds.values():
        assert isinstance(array, np.ndarray)
    assert json.loads(body).get("id") == decoded.id
