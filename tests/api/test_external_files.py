"""A version whose weights are external-data files, over HTTP: the version JSON returns its
manifest, every file downloads from ``files/{path}`` (ETag, Range, If-None-Match; private =
404), and ``pull`` fetches every file, resumes an interrupted transfer with ``Range``,
verifies each sha256 and serves what it pulled (equal to numpy on the same weights)."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import requests
from api_helpers import LiveServer, bearer

import hub
from hub import remote_files
from hub.api import Hub
from hub.errors import InvalidInput, NotFound, StorageError
from hub.settings import Settings
from hub.transfer import pull, push
from tests.large.models import Mlp, mlp_reference, write_mlp


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _raw_get(url: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def mlp(tmp_path: Path) -> Mlp:
    """About 2 MB of float32 weights in five data files, nested in the model's folder."""
    return write_mlp(tmp_path / "src" / "mlp")


@pytest.fixture
def source(api_settings: Settings, tokens: dict[str, str], mlp: Mlp) -> Iterator[str]:
    """The first hub on a real port, holding alice's private ``mlp`` (published locally)."""
    rows = np.random.default_rng(1).standard_normal((6, 32)).astype(np.float32)
    with Hub(replace(api_settings, user="alice")) as alice:
        alice.publish(mlp.graph, name="mlp", sample=rows)
    with Hub(api_settings) as served:
        server = LiveServer(served)
        url = server.start()
        with hub.Client(url, token=tokens["alice"]) as client:
            client.update_model("mlp", private=True)
        try:
            yield url
        finally:
            server.stop()


@pytest.fixture
def second_hub(tmp_path: Path) -> Iterator[Hub]:
    settings = replace(
        Settings.for_home(tmp_path / "second"),
        providers=("CPUExecutionProvider",),
        intra_op_threads=1,
    )
    with Hub(settings) as h:
        yield h


def test_every_file_downloads_with_etag_range_and_if_none_match(
    source: str, tokens: dict[str, str], mlp: Mlp
) -> None:
    expected = _tree(mlp.folder)
    auth = bearer(tokens["alice"])
    record = requests.get(f"{source}/api/models/mlp/versions/1", headers=auth, timeout=30).json()
    manifest = record["files"]
    assert [f["path"] for f in manifest["files"]][0] == "model.onnx"
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == {
        path: _sha(data) for path, data in expected.items()
    }
    assert manifest["total_size"] == record["size"] == sum(map(len, expected.values()))

    base = f"{source}/api/models/mlp/versions/1/files/"
    for entry in manifest["files"]:
        resp = requests.get(base + entry["path"], headers=auth, timeout=30)
        assert resp.status_code == 200
        assert resp.content == expected[entry["path"]]
        assert resp.headers["ETag"] == f'"{entry["sha256"]}"'
        assert int(resp.headers["Content-Length"]) == entry["size"]

    weights = "weights/layer1/w.bin"
    data = expected[weights]
    part = requests.get(base + weights, headers={**auth, "Range": "bytes=1000-1999"}, timeout=30)
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    tail = requests.get(base + weights, headers={**auth, "Range": "bytes=-10"}, timeout=30)
    assert tail.status_code == 206 and tail.content == data[-10:]
    beyond = requests.get(
        base + weights, headers={**auth, "Range": f"bytes={len(data)}-"}, timeout=30
    )
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    etag = f'"{_sha(data)}"'
    same = requests.get(
        base + weights, headers={**auth, "Range": "bytes=5-9", "If-Range": etag}, timeout=30
    )
    assert same.status_code == 206 and same.content == data[5:10]
    other = requests.get(
        base + weights, headers={**auth, "Range": "bytes=5-9", "If-Range": '"0"'}, timeout=30
    )
    assert other.status_code == 200 and other.content == data  # another copy: all of it
    cached = requests.get(base + weights, headers={**auth, "If-None-Match": etag}, timeout=30)
    assert cached.status_code == 304 and cached.content == b""

    # model.onnx is the graph alone, with the graph's own length
    graph = requests.get(f"{source}/api/models/mlp/versions/1/model.onnx", headers=auth, timeout=30)
    assert graph.content == expected["model.onnx"]
    assert int(graph.headers["Content-Length"]) == len(expected["model.onnx"])

    prefix = "/api/models/mlp/versions/1/files/"
    for bad in ("weights/nothing.bin", "../model.onnx", "weights/../../1/model.onnx", "%2e%2e/x"):
        status, body = _raw_get(source, prefix + bad, auth)  # sent as written, not normalised
        assert status in (400, 404), bad
        assert "error" in json.loads(body)
    # private: exactly as an unknown model to anyone else
    for headers in ({}, bearer(tokens["bob"])):
        resp = requests.get(base + weights, headers=headers, timeout=30)
        assert resp.status_code == 404 and resp.json() == {"error": "unknown model 'mlp'"}


async def test_pull_fetches_every_file_verifies_and_serves_it(
    source: str, tokens: dict[str, str], second_hub: Hub, mlp: Mlp
) -> None:
    with hub.Client(source) as anonymous, pytest.raises(NotFound):
        await asyncio.to_thread(pull, second_hub, anonymous, "mlp")
    with hub.Client(source, token=tokens["alice"]) as client:
        pulled, added = await asyncio.to_thread(pull, second_hub, client, "mlp:1")
        _, added_again = await asyncio.to_thread(pull, second_hub, client, "mlp:1")
    assert added and not added_again
    version = second_hub.get_version("mlp", 1)
    manifest = second_hub.manifest(version)
    expected = _tree(mlp.folder)
    assert {f.path: f.sha256 for f in manifest.files} == {p: _sha(d) for p, d in expected.items()}
    pulls = Path(second_hub.settings.home) / "pulls"
    assert not pulls.exists() or list(pulls.iterdir()) == []  # the staging folder is gone
    assert pulled["provenance"]["source_version"] == 1

    rows = np.random.default_rng(7).standard_normal((5, 32)).astype(np.float32)
    predictor = second_hub.open("mlp")
    got = predictor.predict({"input": rows})["output"]
    np.testing.assert_allclose(got, mlp_reference(mlp, rows), rtol=1e-4, atol=1e-5)
    out = second_hub.download_files(version, Path(second_hub.settings.home) / "out")
    assert {p.name for p in out} == {"model.onnx", "w.bin", "biases.bin"}

    # and back: a push streams the graph and every data file; the first hub checks them again
    with hub.Client(source, token=tokens["alice"]) as client:
        pushed = push(second_hub, client, "mlp", 1)
        assert pushed["version"] == 2 and pushed["parity"]["passed"]
        assert client.version("mlp:2")["files"] == client.version("mlp:1")["files"]


def test_uploads_with_data_parts_are_checked_and_leave_nothing_behind(
    source: str, tokens: dict[str, str], mlp: Mlp, api_settings: Settings
) -> None:
    url = f"{source}/api/models/mlp-up/versions"
    graph = mlp.graph.read_bytes()
    data = [
        ("data", path, "application/octet-stream", mlp.folder / path) for path in mlp.data_files
    ]

    def post(parts: list) -> requests.Response:  # type: ignore[type-arg]
        content_type, body = remote_files.multipart_body(
            [("model", "model.onnx", "application/octet-stream", graph), *parts]
        )
        headers = {**bearer(tokens["alice"]), "Content-Type": content_type}
        return requests.post(url, data=body, headers=headers, timeout=60)

    resp = post([*data[1:], ("data", "../evil.bin", "application/octet-stream", b"x")])
    assert resp.status_code == 400 and "outside the model's folder" in resp.json()["error"]
    resp = post(data[1:])  # one data file left out
    assert resp.status_code == 400
    assert f"data file {mlp.data_files[0]} (tensor" in resp.json()["error"]
    assert "is missing" in resp.json()["error"]
    resp = post([*data, ("data", mlp.data_files[0], "application/octet-stream", b"x")])
    assert resp.status_code == 400 and "more than once" in resp.json()["error"]
    resp = post([])  # no data part: a graph naming external data is refused as before
    assert resp.status_code == 400 and "external file" in resp.json()["error"]
    staging = api_settings.home / "uploads"
    assert not staging.exists() or list(staging.iterdir()) == []

    resp = post(data)
    assert resp.status_code == 201, resp.text
    assert resp.json()["metadata"]["published_by"] == "alice"
    assert list(staging.iterdir()) == []
    with hub.Client(source, token=tokens["alice"]) as client:
        record = client.version("mlp-up:1")
    assert {f["path"]: f["sha256"] for f in record["files"]["files"]} == {
        path: _sha(content) for path, content in _tree(mlp.folder).items()
    }


def test_an_interrupted_pull_resumes_with_range_and_a_bad_file_is_refused(
    source: str,
    tokens: dict[str, str],
    second_hub: Hub,
    mlp: Mlp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(remote_files, "CHUNK", 64 * 1024)
    sent: list[tuple[str, str | None]] = []
    original_request = requests.Session.request
    original_iter = requests.Response.iter_content
    cut = {"armed": True}

    def request(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        sent.append((url.rsplit("/files/", 1)[-1], (kwargs.get("headers") or {}).get("Range")))
        return original_request(self, method, url, **kwargs)

    def iter_content(self: requests.Response, chunk_size: int = 1, **kw: Any) -> Any:
        for index, block in enumerate(original_iter(self, chunk_size, **kw)):
            if cut["armed"] and self.url.endswith("layer1/w.bin") and index == 3:
                cut["armed"] = False
                raise requests.exceptions.ChunkedEncodingError("connection reset (simulated)")
            yield block

    monkeypatch.setattr(requests.Session, "request", request)
    monkeypatch.setattr(requests.Response, "iter_content", iter_content)
    with hub.Client(source, token=tokens["alice"]) as client:
        with pytest.raises(StorageError, match=r"layer1/w\.bin .* interrupted after 196608 of"):
            pull(second_hub, client, "mlp:1")
        assert second_hub.list_models() == []  # nothing catalogued from a partial transfer
        sent.clear()
        pull(second_hub, client, "mlp:1")
    assert ("weights/layer1/w.bin", "bytes=196608-") in sent
    # files that arrived whole the first time are not fetched again
    assert not any(path == "weights/layer0/w.bin" for path, _ in sent)
    version = second_hub.get_version("mlp", 1)
    assert second_hub.manifest(version).graph.sha256 == _sha(mlp.graph.read_bytes())

    # a staged part file that is not a prefix of the real bytes: refused, removed, named
    staging = Path(second_hub.settings.home) / "pulls" / "again"
    part = staging / "weights" / "biases.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\x00" * 100)
    with hub.Client(source, token=tokens["alice"]) as client:
        record = client.version("mlp:1")
        with pytest.raises(StorageError, match=r"weights/biases\.bin of mlp:1 arrived with"):
            remote_files.fetch_files(client, record, staging)
        assert not part.exists()
        paths = remote_files.fetch_files(client, record, staging)
    assert {p.relative_to(staging).as_posix(): p.read_bytes() for p in paths} == _tree(mlp.folder)


def test_a_manifest_naming_a_path_outside_the_folder_is_refused(tmp_path: Path) -> None:
    for bad in ("../x.bin", "/etc/passwd", "a/../../b", "a\\b", ""):
        with pytest.raises(InvalidInput, match="unsafe file path"):
            remote_files.safe_member(bad)


def test_onnxhub_pull_and_show_from_the_command_line(
    source: str, tokens: dict[str, str], mlp: Mlp, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from hub.cli.main import cli

    env = {
        "ONNXHUB_HOME": str(tmp_path / "cli-home"),
        "ONNXHUB_DATABASE_URL": "",
        "ONNXHUB_TOKEN": tokens["alice"],
    }
    runner = CliRunner()
    result = runner.invoke(cli, ["pull", source, "mlp:1", "--as", "mlp-local"], env=env)
    assert result.exit_code == 0, result.output
    assert "pulled" in result.output and "mlp-local:1" in result.output
    shown = runner.invoke(cli, ["show", "mlp-local"], env=env)
    assert shown.exit_code == 0, shown.output
    total = sum(len(d) for d in _tree(mlp.folder).values())
    assert f"files     6 files, {total / 2**20:.1f} MiB ({total} bytes)" in shown.output
    assert f"pulled    from {source} mlp:1" in shown.output
    out = tmp_path / "copy"
    downloaded = runner.invoke(cli, ["download", "mlp-local", "-o", str(out)], env=env)
    assert downloaded.exit_code == 0, downloaded.output
    assert _tree(out) == _tree(mlp.folder)  # every byte back out, as published
