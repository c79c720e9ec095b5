"""Artifacts on S3 (moto's server on loopback, reached through the AWS variables only).

Two hubs share one catalog and one bucket but each has its own home, hence its own cache,
as two replicas would.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import boto3
import numpy as np
import pytest
from s3_server import aws_env

from hub.api import Hub
from hub.catalog.remote_artifacts import RemoteArtifactStore
from hub.errors import NotFound, StorageError, Unavailable
from hub.settings import Settings


def _hub(tmp_path: Path, name: str, bucket: str, database_url: str) -> Hub:
    return Hub(
        Settings.from_env(
            {
                "ONNXHUB_HOME": str(tmp_path / name),
                "ONNXHUB_DATABASE_URL": database_url,
                "ONNXHUB_ARTIFACTS": f"s3://{bucket}/models",
            }
        )
    )


def _objects(bucket: str) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def test_two_hubs_share_one_bucket_and_keep_their_own_cache(
    tmp_path: Path, s3_bucket: str, database_url: str, logreg
) -> None:
    model, X = logreg
    with _hub(tmp_path, "a", s3_bucket, database_url) as a:
        assert isinstance(a.artifacts, RemoteArtifactStore)
        info = a.publish(model, name="iris", sample=X, alias="production")
        objects = _objects(s3_bucket)
        key = f"models/{info.sha256[:2]}/{info.sha256}"
        assert hashlib.sha256(objects[key]).hexdigest() == info.sha256
        assert all(hashlib.sha256(v).hexdigest() == k.rsplit("/", 1)[1] for k, v in objects.items())
        assert not (tmp_path / "a" / "artifacts").exists()  # nothing local but the cache
        with _hub(tmp_path, "b", s3_bucket, database_url) as b:
            cached = tmp_path / "b" / "artifact-cache" / info.sha256[:2] / info.sha256
            assert not cached.exists()
            predictor = b.open("iris")
            assert cached.is_file()  # fetched once, verified, kept
            np.testing.assert_array_equal(predictor.predict(X)["label"], model.predict(X))
            # Identical bytes published again are stored once.
            again = b.publish(model, name="iris", sample=X)
            assert again.sha256 == info.sha256 and len(_objects(s3_bucket)) == len(objects)


def test_cache_is_verified_and_bad_blobs_are_refused(
    tmp_path: Path, s3_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = RemoteArtifactStore(f"s3://{s3_bucket}/blobs", tmp_path / "cache")
    data = np.arange(1000, dtype=np.float32).tobytes()
    digest, created = store.put(data)
    assert created and store.put(data) == (digest, False)
    cached = store.path(digest)
    assert cached.read_bytes() == data

    # A damaged cached copy is dropped and fetched again, read whole or as a verified file.
    cached.write_bytes(b"garbage")
    assert store.read(digest) == data and cached.read_bytes() == data
    cached.write_bytes(b"garbage")
    assert store.verified_file(digest) == cached and cached.read_bytes() == data

    # A damaged object in the store is refused, logged, and never cached or served.
    cached.unlink()
    boto3.client("s3").put_object(
        Bucket=s3_bucket, Key=f"blobs/{digest[:2]}/{digest}", Body=data[:-4] + b"\0\0\0\0"
    )
    with caplog.at_level(logging.ERROR, logger="hub.catalog.remote_artifacts"):
        with pytest.raises(StorageError, match="corrupted .*refused"):
            store.read(digest)
        with pytest.raises(StorageError, match="corrupted"):
            store.path(digest)
        with pytest.raises(StorageError, match="corrupted"):
            store.verified_file(digest)
    assert not cached.exists()
    assert any(digest in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)

    missing = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(NotFound, match="missing"):
        store.read(missing)
    with pytest.raises(NotFound):
        store.read("../../etc/passwd")
    store.delete(digest)
    assert not store.exists(digest)


def test_a_reader_never_sees_a_partial_object(tmp_path: Path, s3_bucket: str) -> None:
    """While a large blob is uploaded, a second store polling the same key sees either
    nothing or the whole, verified object."""
    writer = RemoteArtifactStore(f"s3://{s3_bucket}/big", tmp_path / "w")
    reader = RemoteArtifactStore(f"s3://{s3_bucket}/big", tmp_path / "r")
    data = np.random.default_rng(0).bytes(24 * 1024 * 1024)
    digest = hashlib.sha256(data).hexdigest()
    seen: list[int] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            try:
                seen.append(len(reader.read(digest)))
                return
            except NotFound:
                seen.append(0)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        assert writer.put(data) == (digest, True)
    finally:
        done.set()
        thread.join(30)
    assert reader.read(digest) == data
    assert set(seen) <= {0, len(data)}


def test_unreachable_store_is_a_clear_error_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logreg
) -> None:
    for name, value in aws_env("http://127.0.0.1:9").items():  # nothing listens on port 9
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    model, X = logreg
    with Hub(
        Settings.from_env(
            {"ONNXHUB_HOME": str(tmp_path / "home"), "ONNXHUB_ARTIFACTS": "s3://nobucket/x"}
        )
    ) as hub:
        with pytest.raises(Unavailable) as caught:  # 503 / exit 8: retry later
            hub.publish(model, name="iris", sample=X)
        message = str(caught.value)
        assert "unreachable" in message
        assert "s3://nobucket/x" in message and "\n" not in message
        assert "onnxhub-test-secret" not in message and "onnxhub-test-key" not in message
        assert hub.list_models() == []  # nothing half-written in the catalog


async def test_store_lost_while_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aiohttp_client
) -> None:
    """A replica whose object store goes away keeps serving what it has loaded; a model it
    still has to fetch is 503 with Retry-After, and the server stays ready."""
    from moto.server import ThreadedMotoServer
    from onnx_graphs import scale_model, v2_input

    from hub.server.app import create_app

    store = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    store.start()
    host, port = store.get_host_and_port()
    for name, value in aws_env(f"http://{host}:{port}").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    boto3.client("s3").create_bucket(Bucket="lost")
    env = {
        "ONNXHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'catalog.db'}",
        "ONNXHUB_ARTIFACTS": "s3://lost/m",
    }
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    with Hub(Settings.from_env({**env, "ONNXHUB_HOME": str(tmp_path / "cli")})) as publisher:
        publisher.publish(scale_model(2.0), name="a", sample=x)
        publisher.publish(scale_model(3.0), name="b", sample=x)
    replica = Hub(Settings.from_env({**env, "ONNXHUB_HOME": str(tmp_path / "replica")}))
    try:
        client = await aiohttp_client(create_app(replica))
        body = {"inputs": [v2_input("x", x)]}
        resp = await client.post("/v2/models/a/infer", json=body)
        assert resp.status == 200
        store.stop()
        resp = await client.post("/v2/models/a/infer", json=body)
        assert resp.status == 200 and (await resp.json())["outputs"][0]["data"][1] == 2.0
        resp = await client.post("/v2/models/b/infer", json=body)
        assert resp.status == 503 and "Retry-After" in resp.headers
        error = (await resp.json())["error"]
        assert "artifact store s3://lost/m is unreachable" in error
        assert "onnxhub-test-secret" not in error
        assert (await client.get("/v2/health/ready")).status == 200
        await client.close()
    finally:
        replica.close()
