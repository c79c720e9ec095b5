"""``POST /api/models/{name}/versions``: what the server accepts, re-runs and refuses."""

from __future__ import annotations

import io
import pickle
from dataclasses import replace
from pathlib import Path

import pytest
from api_helpers import bearer, iris_form, upload_form
from onnx import TensorProto, helper
from yarl import URL

from hub.api import Hub
from hub.catalog.models import Model, Version
from hub.export.parity import pack_test_data, unpack_test_data
from hub.server.app import create_app


@pytest.fixture
async def client(aiohttp_client, api_hub):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(api_hub))


def _artifact_files(hub: Hub) -> list[Path]:
    root = hub.settings.artifacts
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _row_counts(hub: Hub) -> tuple[int, int]:
    from sqlalchemy import func, select

    with hub.db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Model)),
            session.scalar(select(func.count()).select_from(Version)),
        )


async def test_upload_stores_the_servers_own_parity_figures(client, api_hub, tokens, iris_export):
    claimed = {"rows": 1, "passed": True, "claim": "anything the client says"}
    resp = await client.post(
        "/api/models/iris/versions",
        data=iris_form(iris_export, parity=claimed, alias="production", tags=["demo"]),
        headers=bearer(tokens["alice"]),
    )
    assert resp.status == 201, await resp.text()
    version = await resp.json()
    assert version["version"] == 1 and version["aliases"] == ["production"]
    parity = version["parity"]
    # the server re-ran all held-out rows through onnxruntime and compared each output
    assert parity["rows"] == len(iris_export.X) and parity["passed"] is True
    assert {o["name"] for o in parity["outputs"]} == {"label", "probabilities"}
    assert version["metadata"]["client_parity"] == claimed  # kept, but apart
    detail = await (await client.get("/api/models/iris")).json()
    assert detail["owner"] == "alice" and detail["tags"] == ["demo"]
    assert detail["versions"][0]["parity_passed"] is True
    assert detail["library"] == "sklearn" and detail["task"] == "tabular-classification"


async def test_a_model_can_be_created_private(client, tokens, iris_export):
    resp = await client.post(
        "/api/models/secret/versions",
        data=iris_form(iris_export, private=True),
        headers=bearer(tokens["alice"]),
    )
    assert resp.status == 201
    assert (await client.get("/api/models/secret")).status == 404
    owner = await client.get("/api/models/secret", headers=bearer(tokens["alice"]))
    assert (await owner.json())["private"] is True
    form = iris_form(iris_export, private="yes")
    resp = await client.post("/api/models/x/versions", data=form, headers=bearer(tokens["alice"]))
    assert resp.status == 400 and "'private'" in (await resp.json())["error"]


async def test_test_data_that_the_model_does_not_reproduce_is_422(
    client, api_hub, tokens, iris_export
):
    feeds, expected = unpack_test_data(iris_export.test_data)
    expected["probabilities"] = expected["probabilities"][:, ::-1].copy()  # a false claim
    lying = pack_test_data(feeds, expected)
    form = upload_form(iris_export.model_bytes, lying, metadata={"label_outputs": ["label"]})
    resp = await client.post(
        "/api/models/iris/versions", data=form, headers=bearer(tokens["alice"])
    )
    assert resp.status == 422
    assert "probabilities" in (await resp.json())["error"]
    assert _row_counts(api_hub) == (0, 0) and _artifact_files(api_hub) == []


class _Detonator:
    """Unpickling this writes a file: proof that the server never unpickles an upload."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.write_text, (self.marker, "unpickled!"))


@pytest.mark.parametrize("filename", ["model.pkl", "model.joblib", "model.onnx"])
async def test_pickle_and_joblib_uploads_are_415_and_never_loaded(
    client, api_hub, tokens, tmp_path, filename
):
    import joblib

    marker = tmp_path / "marker"
    if filename.endswith(".joblib"):
        buffer = io.BytesIO()
        joblib.dump(_Detonator(marker), buffer, compress=3)
        payload = buffer.getvalue()
    else:
        payload = pickle.dumps(_Detonator(marker), protocol=4)
    form = upload_form(payload, filename=filename)
    resp = await client.post("/api/models/m/versions", data=form, headers=bearer(tokens["alice"]))
    assert resp.status == 415
    assert "pickle/joblib" in (await resp.json())["error"]
    assert not marker.exists()
    assert _row_counts(api_hub) == (0, 0) and _artifact_files(api_hub) == []


def _external_data_model(location: str) -> bytes:
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1], [2.0])
    weight.data_location = TensorProto.EXTERNAL
    del weight.float_data[:]
    entry = weight.external_data.add()
    entry.key, entry.value = "location", location
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model.SerializeToString()


@pytest.mark.parametrize(
    "location,word",
    [("../../etc/passwd", "outside"), ("/etc/passwd", "outside"), ("weights.bin", "external file")],
)
async def test_external_data_is_refused(client, api_hub, tokens, location, word):
    form = upload_form(_external_data_model(location))
    resp = await client.post("/api/models/m/versions", data=form, headers=bearer(tokens["alice"]))
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert word in error and location in error
    assert _row_counts(api_hub) == (0, 0) and _artifact_files(api_hub) == []


BAD_FORMS = [
    ("no model part", 400, "part 'model'"),
    ("corrupt onnx", 400, "part 'model'"),
    ("metadata not json", 400, "part 'metadata' is not valid JSON"),
    ("metadata list", 400, "part 'metadata' must be a JSON object"),
    ("metadata unknown field", 400, "unknown field(s) owner"),
    ("tags not a list", 400, "metadata field 'tags'"),
    ("bad alias", 400, "invalid alias '1st'"),
    ("test data not npz", 400, "part 'test_data' is not an .npz"),
    ("card never closed", 400, "never closed"),
    ("card bad field", 400, "front matter field 'tags'"),
    ("unknown part", 400, "unknown part 'weights'"),
]


def _bad_form(label: str, export) -> object:  # type: ignore[no-untyped-def]
    import aiohttp

    raw_meta = {
        "metadata not json": b"{not json",
        "metadata list": b"[1, 2]",
        "metadata unknown field": b'{"owner": "mallory"}',
        "tags not a list": b'{"tags": "a,b"}',
        "bad alias": b'{"alias": "1st"}',
    }
    form = aiohttp.FormData()
    if label == "no model part":
        form.add_field("metadata", "{}", content_type="application/json")
        return form
    if label == "corrupt onnx":
        return upload_form(b"\x08\x07garbage\xff")
    form.add_field("model", export.model_bytes, filename="m.onnx")
    if label in raw_meta:
        form.add_field("metadata", raw_meta[label].decode(), content_type="application/json")
    elif label == "test data not npz":
        form.add_field("test_data", b"plain text", filename="t.npz")
    elif label == "card never closed":
        form.add_field("card", "---\nlicense: mit\n# no end", content_type="text/markdown")
    elif label == "card bad field":
        form.add_field("card", "---\ntags: {a: 1}\n---\nbody", content_type="text/markdown")
    elif label == "unknown part":
        form.add_field("weights", "x")
    return form


@pytest.mark.parametrize("label,status,message", BAD_FORMS, ids=[b[0] for b in BAD_FORMS])
async def test_malformed_uploads_name_the_part_or_field(
    client, api_hub, tokens, iris_export, label, status, message
):
    form = _bad_form(label, iris_export)
    resp = await client.post("/api/models/m/versions", data=form, headers=bearer(tokens["alice"]))
    assert resp.status == status, await resp.text()
    assert message in (await resp.json())["error"]
    assert _row_counts(api_hub) == (0, 0) and _artifact_files(api_hub) == []
    assert (await client.get("/api/whoami")).status == 200  # still serving


async def test_broken_multipart_and_wrong_media_type(client, api_hub, tokens):
    headers = {**bearer(tokens["alice"]), "Content-Type": "multipart/form-data; boundary=XYZ"}
    body = b'--XYZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nabc'  # never ends
    resp = await client.post("/api/models/m/versions", data=body, headers=headers)
    assert resp.status == 400 and "multipart" in (await resp.json())["error"]
    resp = await client.post(
        "/api/models/m/versions", json={"model": "x"}, headers=bearer(tokens["alice"])
    )
    assert resp.status == 415
    assert _row_counts(api_hub) == (0, 0)


async def test_upload_over_the_limit_is_413_and_leaves_nothing(
    aiohttp_client, api_hub, tokens, iris_export
):
    small = replace(api_hub.settings, max_request_bytes=len(iris_export.model_bytes) + 100)
    client = await aiohttp_client(create_app(api_hub, small))
    resp = await client.post(
        "/api/models/iris/versions", data=iris_form(iris_export), headers=bearer(tokens["alice"])
    )
    assert resp.status == 413
    assert "limit" in (await resp.json())["error"]
    assert _row_counts(api_hub) == (0, 0) and _artifact_files(api_hub) == []
    # streamed without a Content-Length: refused while reading, the same way
    payload = iris_form(iris_export)()
    writer = _Collect()
    await payload.write(writer)

    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(writer.data), 4096):
            yield writer.data[i : i + 4096]

    resp = await client.post(
        "/api/models/iris/versions",
        data=chunks(),
        headers={**bearer(tokens["alice"]), "Content-Type": payload.content_type},
    )
    assert resp.status == 413
    assert _row_counts(api_hub) == (0, 0) and _artifact_files(api_hub) == []


class _Collect:
    def __init__(self) -> None:
        self.data = b""

    async def write(self, chunk: bytes) -> None:
        self.data += bytes(chunk)


@pytest.mark.parametrize(
    "path",
    [
        "/api/models/a%2Fb",
        "/api/models/a/b",
        "/api/models/%2e%2e",
        "/api/models/..%2F..%2Fetc",
        "/api/models/x%00y",
        "/api/models/.hidden",
        "/api/models/%2e%2e/versions/1",
    ],
)
async def test_bad_names_are_400(client, tokens, path):
    for method in ("GET", "POST", "PATCH"):
        raw = URL(str(client.make_url("/")).rstrip("/") + path, encoded=True)  # sent as written
        resp = await client.session.request(method, raw, headers=bearer(tokens["alice"]))
        assert resp.status in (400, 405), (method, path, resp.status)
        if method == "GET":
            assert resp.status == 400, path
            assert "error" in await resp.json()
