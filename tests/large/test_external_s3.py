"""A model with external data on S3 (moto's server on loopback): published by one hub, served
and downloaded by another, whose cache is filled by streaming each file to disk."""

from __future__ import annotations

from pathlib import Path

import boto3
import numpy as np
import pytest

from hub.api import Hub
from hub.catalog.remote_artifacts import RemoteArtifactStore
from hub.errors import StorageError
from hub.settings import Settings
from tests.large.models import Mlp, mlp_reference


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


def test_a_folder_on_s3_is_served_and_downloaded_by_another_hub(
    tmp_path: Path, s3_bucket: str, mlp: Mlp, rows: np.ndarray
) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    with _hub(tmp_path, "a", s3_bucket, url) as a:
        version = a.publish(mlp.graph, name="mlp", sample=rows)
        manifest = a.manifest(version)
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert {f"models/{f.sha256[:2]}/{f.sha256}" for f in manifest.files} <= keys

    with _hub(tmp_path, "b", s3_bucket, url) as b:
        assert isinstance(b.artifacts, RemoteArtifactStore)
        got = b.open("mlp").predict({"input": rows})["output"]
        np.testing.assert_allclose(got, mlp_reference(mlp, rows), rtol=1e-5, atol=1e-5)
        written = b.download_files(b.get_version("mlp"), tmp_path / "out")
        for path in written:
            relative = path.relative_to(tmp_path / "out")
            assert path.read_bytes() == (mlp.folder / relative).read_bytes()

    # A damaged object is refused when a fresh cache fetches it, naming the artifact.
    bad = manifest.files[2]
    boto3.client("s3").put_object(
        Bucket=s3_bucket, Key=f"models/{bad.sha256[:2]}/{bad.sha256}", Body=b"\0" * bad.size
    )
    with _hub(tmp_path, "c", s3_bucket, url) as c:
        with pytest.raises(StorageError, match=f"{bad.sha256} .*is corrupted"):
            c.materialise(c.get_version("mlp"))
        cache = tmp_path / "c" / "artifact-cache"
        assert not [p for p in cache.rglob("*") if p.name == bad.sha256]  # never cached
        assert not list(cache.rglob(".tmp-*"))
