"""Serving models with external data: V2 inference from the version's files on disk, refusals
of damaged files at load, the memory charged, and other models answering during a load."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from sqlalchemy import update

from hub.api import Hub
from hub.catalog.file_tables import VersionFile
from hub.server.app import create_app
from hub.server.keys import RUNTIME
from hub.settings import Settings
from tests.large.models import Mlp, mlp_reference, write_mlp


@pytest.fixture
def served(tmp_path: Path, database_url: str, mlp: Mlp, rows: np.ndarray) -> Iterator[Hub]:
    settings = replace(
        Settings.for_home(tmp_path / "home", database_url=database_url),
        event_poll_interval=0.05,
        providers=("CPUExecutionProvider",),
        intra_op_threads=1,
    )
    with Hub(settings) as hub:
        hub.publish(mlp.graph, name="mlp", sample=rows)
        yield hub


def _request(rows: np.ndarray) -> dict:
    return {
        "inputs": [
            {
                "name": "input",
                "shape": list(rows.shape),
                "datatype": "FP32",
                "data": rows.ravel().tolist(),
            }
        ]
    }


async def _infer(client, rows: np.ndarray, model: str = "mlp") -> np.ndarray:  # type: ignore[no-untyped-def]
    resp = await client.post(f"/v2/models/{model}/infer", json=_request(rows))
    assert resp.status == 200, await resp.text()
    out = (await resp.json())["outputs"][0]
    return np.asarray(out["data"], dtype=np.float32).reshape(out["shape"])


def _blob_of(hub: Hub, path: str) -> Path:
    manifest = hub.manifest(hub.get_version("mlp"))
    return hub.artifacts.path(next(f.sha256 for f in manifest.files if f.path == path))


async def test_v2_inference_equals_numpy_and_the_session_maps_the_stored_files(
    aiohttp_client, served: Hub, mlp: Mlp, rows: np.ndarray
) -> None:
    client = await aiohttp_client(create_app(served))
    got = await _infer(client, rows)
    np.testing.assert_allclose(got, mlp_reference(mlp, rows), rtol=1e-5, atol=1e-5)

    version = served.get_version("mlp")
    manifest = served.manifest(version)
    folder = served.settings.home / "cache" / "versions" / manifest.digest
    assert sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.suffix in {".bin", ".onnx"}
    ) == sorted(f.path for f in manifest.files)
    # Charged at least its files, measured around the load (not the graph file's size).
    resident = client.app[RUNTIME].residency.get_nowait(("mlp", 1))
    assert resident is not None and resident.model.size >= manifest.total_size > 2_000_000


@pytest.mark.parametrize(
    "damage, expected",
    [
        ("flip", "corrupted"),
        ("truncate", "bytes, its manifest says"),
        ("delete", "is missing"),
    ],
)
async def test_a_damaged_data_file_is_refused_at_load_naming_it(
    aiohttp_client, served: Hub, rows: np.ndarray, damage: str, expected: str
) -> None:
    blob = _blob_of(served, "weights/layer1/w.bin")
    data = blob.read_bytes()
    if damage == "flip":
        blob.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    elif damage == "truncate":
        blob.write_bytes(data[:-8])
    else:
        blob.unlink()
    client = await aiohttp_client(create_app(served))
    resp = await client.post("/v2/models/mlp/infer", json=_request(rows))
    body = await resp.json()
    assert resp.status == 500  # the store's fault, not the client's
    assert "weights/layer1/w.bin" in body["error"] and expected in body["error"]
    assert "\n" not in body["error"]
    with pytest.raises(Exception, match="weights/layer1/w.bin"):
        served.open("mlp")


async def test_a_manifest_whose_sha256_does_not_match_the_bytes_is_never_served(
    aiohttp_client, served: Hub, rows: np.ndarray
) -> None:
    version = served.get_version("mlp")
    real = _blob_of(served, "weights/layer2/w.bin")
    claimed = "ab" * 32
    fake = served.artifacts.path(claimed)  # a blob named by the manifest's sha256...
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_bytes(real.read_bytes())  # ...holding other bytes of the same size
    with served.db.sessions() as session, session.begin():
        session.execute(
            update(VersionFile)
            .where(VersionFile.path == "weights/layer2/w.bin")
            .values(sha256=claimed)
        )
    assert served.manifest(version).files[-1].sha256 == claimed or any(
        f.sha256 == claimed for f in served.manifest(version).files
    )
    client = await aiohttp_client(create_app(served))
    resp = await client.post("/v2/models/mlp/infer", json=_request(rows))
    body = await resp.json()
    assert resp.status == 500
    assert "weights/layer2/w.bin" in body["error"] and "corrupted" in body["error"]


async def test_other_models_answer_while_a_large_one_loads(
    aiohttp_client, served: Hub, rows: np.ndarray, tmp_path: Path
) -> None:
    other = write_mlp(tmp_path / "src" / "other", seed=5)
    served.publish(other.graph, name="other", sample=rows)
    release = threading.Event()
    started = threading.Event()
    real_source = served.model_source

    def slow_source(info):  # type: ignore[no-untyped-def]
        if info.model == "mlp":
            started.set()
            assert release.wait(60), "the test never released the load"
        return real_source(info)

    served.model_source = slow_source  # type: ignore[method-assign]
    client = await aiohttp_client(create_app(served))
    loading = asyncio.ensure_future(_infer(client, rows, "mlp"))
    assert await asyncio.to_thread(started.wait, 30)
    got = await _infer(client, rows, "other")  # answered while mlp is still loading
    np.testing.assert_allclose(got, mlp_reference(other, rows), rtol=1e-5, atol=1e-5)
    assert not loading.done()
    release.set()
    assert (await loading).shape == (len(rows), 8)


async def test_hot_swap_serves_the_new_files(
    aiohttp_client, served: Hub, rows: np.ndarray, tmp_path: Path, mlp: Mlp
) -> None:
    client = await aiohttp_client(create_app(served))
    np.testing.assert_allclose(await _infer(client, rows), mlp_reference(mlp, rows), atol=1e-5)
    second = write_mlp(tmp_path / "src" / "v2", seed=9)
    await asyncio.to_thread(
        served.publish, second.graph, name="mlp", sample=rows, alias="production"
    )
    expected = mlp_reference(second, rows)
    for _ in range(400):  # the swap happens once version 2 is loaded and warm
        got = await _infer(client, rows)
        if np.allclose(got, expected, atol=1e-5):
            break
        np.testing.assert_allclose(got, mlp_reference(mlp, rows), atol=1e-5)  # old until then
        await asyncio.sleep(0.05)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    runtime = client.app[RUNTIME]
    for _ in range(200):  # the old version is closed once its requests are done
        if not runtime.residency.is_resident(("mlp", 1)):
            break
        await asyncio.sleep(0.05)
    assert not runtime.residency.is_resident(("mlp", 1))
