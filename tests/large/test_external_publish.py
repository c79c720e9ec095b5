"""Publishing, checking, opening and downloading models whose weights are external data files."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import numpy as np
import onnx
import pytest

from hub.api import Hub
from hub.catalog.manifest import Manifest
from hub.errors import InvalidModelFile, NotFound, StorageError
from tests.large.models import Mlp, mlp_reference, point_tensor_at, write_mlp


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _blobs(hub: Hub) -> set[str]:
    root = hub.artifacts.root
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_folder_publishes_as_is_with_a_manifest_of_every_file(
    hub: Hub, mlp: Mlp, rows: np.ndarray
) -> None:
    version = hub.publish(mlp.graph, name="mlp", sample=rows)
    manifest = hub.manifest(version)

    assert [f.path for f in manifest.files] == ["model.onnx", *mlp.data_files]
    assert [f.role for f in manifest.files] == ["graph"] + ["data"] * len(mlp.data_files)
    for entry in manifest.files:
        source = mlp.folder / entry.path
        assert entry.size == source.stat().st_size
        assert entry.sha256 == _sha(source)
        assert hub.artifacts.path(entry.sha256).read_bytes() == source.read_bytes()
    assert version.sha256 == manifest.graph.sha256
    assert (
        version.size
        == manifest.total_size
        == sum(p.stat().st_size for p in mlp.folder.rglob("*") if p.is_file())
    )
    assert manifest.to_json()["total_size"] == version.size
    assert Manifest.from_json(manifest.to_json()) == manifest
    # The stored test data are onnxruntime's outputs, equal to the numpy MLP.
    stored = np.load(__import__("io").BytesIO(hub.test_data(version)))
    np.testing.assert_allclose(stored["output:output"], mlp_reference(mlp, rows), atol=1e-5)


def test_published_model_checks_opens_and_downloads_verified(
    hub: Hub, mlp: Mlp, rows: np.ndarray, tmp_path: Path
) -> None:
    hub.publish(mlp.graph, name="mlp", sample=rows)
    version, report = hub.check("mlp")
    assert report.passed and report.outputs

    predictor = hub.open("mlp")
    got = predictor.predict({"input": rows[:3]})["output"]
    np.testing.assert_allclose(got, mlp_reference(mlp, rows[:3]), rtol=1e-5, atol=1e-5)

    graph = hub.materialise(version)
    assert graph.name == "model.onnx" and (graph.parent / "weights/layer2/w.bin").is_file()
    # The local folder shares the store's files (hard links): nothing was copied.
    entry = hub.manifest(version).files[1]
    assert os.path.samefile(graph.parent / entry.path, hub.artifacts.path(entry.sha256))

    written = hub.download_files(version, tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == [
        "model.onnx",
        *mlp.data_files,
    ]
    for path in written:
        relative = path.relative_to(tmp_path / "out")
        assert path.read_bytes() == (mlp.folder / relative).read_bytes()
        assert not os.path.samefile(path, hub.artifacts.path(_sha(path)))  # a copy
    with pytest.raises(Exception, match="already exists"):
        hub.download_files(version, tmp_path / "out")


@pytest.mark.parametrize(
    "location",
    ["../outside.bin", "/etc/passwd", "weights/.hidden/w.bin", ".w.bin", "weights/../../x.bin"],
)
def test_locations_outside_the_folder_or_hidden_are_refused(
    sqlite_hub: Hub, mlp: Mlp, rows: np.ndarray, location: str
) -> None:
    (mlp.folder.parent / "outside.bin").write_bytes(b"\0" * 4096 * 4)
    point_tensor_at(mlp.graph, "w0", location)
    with pytest.raises(InvalidModelFile, match="refused") as caught:
        sqlite_hub.publish(mlp.graph, name="mlp", sample=rows)
    assert "\n" not in caught.value.message and "w0" in caught.value.message
    assert sqlite_hub.list_models() == []
    assert _blobs(sqlite_hub) == set()


def test_a_symlink_leaving_the_folder_is_refused(
    sqlite_hub: Hub, mlp: Mlp, rows: np.ndarray, tmp_path: Path
) -> None:
    target = mlp.folder / "weights/layer0/w.bin"
    moved = tmp_path / "elsewhere.bin"
    target.rename(moved)
    target.symlink_to(moved)
    with pytest.raises(InvalidModelFile, match="outside the model's folder"):
        sqlite_hub.publish(mlp.graph, name="mlp", sample=rows)
    assert sqlite_hub.list_models() == []


def test_a_data_file_shorter_than_its_tensor_is_refused_naming_it(
    sqlite_hub: Hub, mlp: Mlp, rows: np.ndarray
) -> None:
    path = mlp.folder / "weights/layer1/w.bin"
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size - 4)
    with pytest.raises(InvalidModelFile) as caught:
        sqlite_hub.publish(mlp.graph, name="mlp", sample=rows)
    message = caught.value.message
    assert "weights/layer1/w.bin" in message and "shorter" in message and "'w1'" in message
    assert sqlite_hub.list_models() == [] and _blobs(sqlite_hub) == set()


def test_a_missing_data_file_is_refused_naming_it(
    sqlite_hub: Hub, mlp: Mlp, rows: np.ndarray
) -> None:
    (mlp.folder / "weights/biases.bin").unlink()
    with pytest.raises(InvalidModelFile, match=r"weights/biases\.bin .*is missing"):
        sqlite_hub.publish(mlp.graph, name="mlp", sample=rows)


def test_a_length_that_disagrees_with_the_tensor_is_refused(
    sqlite_hub: Hub, mlp: Mlp, rows: np.ndarray
) -> None:
    model = onnx.load(str(mlp.graph), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "length":
            entry.value = "16"
    onnx.save_model(model, str(mlp.graph))
    with pytest.raises(InvalidModelFile, match="declares .* bytes"):
        sqlite_hub.publish(mlp.graph, name="mlp", sample=rows)


def test_disk_full_while_storing_leaves_no_version_and_no_blob(
    sqlite_hub: Hub, mlp: Mlp, rows: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hub.catalog.artifacts as artifacts

    real_fdopen = os.fdopen
    calls = {"n": 0}

    class FullDisk:
        """A file whose writes fail with ENOSPC once two files went through."""

        def __init__(self, handle):  # type: ignore[no-untyped-def]
            self.handle = handle

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            self.handle.close()

        def write(self, data):  # type: ignore[no-untyped-def]
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(self.handle, name)

    def fdopen(fd, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        handle = real_fdopen(fd, *args, **kwargs)
        return FullDisk(handle) if calls["n"] >= 3 else handle

    monkeypatch.setattr(artifacts.os, "fdopen", fdopen)
    with pytest.raises(StorageError, match="No space left on device"):
        sqlite_hub.publish(mlp.graph, name="mlp", sample=rows)
    assert calls["n"] >= 3  # two files were stored before the disk filled up
    assert sqlite_hub.list_models() == []  # no model, no version
    root = sqlite_hub.artifacts.root
    assert not [p for p in root.rglob("*") if p.name.startswith(".tmp-")]  # nothing half-written
    for blob in (p for p in root.rglob("*") if p.is_file() and len(p.name) == 64):
        assert _sha(blob) == blob.name  # what is left is whole, unreferenced, for gc


def test_identical_folders_share_blobs_and_versions_differ(
    sqlite_hub: Hub, tmp_path: Path, rows: np.ndarray
) -> None:
    first = write_mlp(tmp_path / "a")
    second = write_mlp(tmp_path / "b" / "nested")
    v1 = sqlite_hub.publish(first.graph, name="mlp", sample=rows)
    count = len(_blobs(sqlite_hub))
    v2 = sqlite_hub.publish(second.graph, name="mlp", sample=rows)
    assert (v1.version, v2.version) == (1, 2)
    assert sqlite_hub.manifest(v1) == sqlite_hub.manifest(v2)
    assert len(_blobs(sqlite_hub)) == count  # same bytes, stored once


def test_a_proto_with_external_data_must_be_published_by_path(
    sqlite_hub: Hub, mlp: Mlp, rows: np.ndarray
) -> None:
    proto = onnx.load(str(mlp.graph), load_external_data=False)
    with pytest.raises(Exception, match="publish it by the path of its .onnx file"):
        sqlite_hub.publish(proto, name="mlp", sample=rows)


def test_an_unknown_version_has_no_manifest(sqlite_hub: Hub, mlp: Mlp, rows: np.ndarray) -> None:
    version = sqlite_hub.publish(mlp.graph, name="mlp", sample=rows)
    with pytest.raises(NotFound):
        sqlite_hub.manifest(type(version)(**{**version.__dict__, "version": 7}))


def test_a_framework_export_over_the_limit_is_written_with_external_data(
    sqlite_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    import torch

    import hub.onnx.external as external

    torch.manual_seed(0)
    x = torch.randn(64, 8)
    y = (x[:, :4] * 2 - x[:, 4:]).tanh()
    net = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(50):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        optimizer.step()
    net.eval()
    sample = np.random.default_rng(3).standard_normal((5, 8)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(sample)).numpy()

    # As if the export were over protobuf's 2 GiB: its weights (2 KiB each) go to a data file.
    monkeypatch.setattr(external, "EXTERNAL_DATA_THRESHOLD", 1000)
    written: list[Path] = []
    real_save = external.save_with_external_data

    def save(model, *args):  # type: ignore[no-untyped-def]
        files = real_save(model, *args)
        written.append(files.root)
        return files

    monkeypatch.setattr("hub.export.convert.save_with_external_data", save)
    version = sqlite_hub.publish(net, name="net", sample=sample)
    assert len(written) == 1 and not written[0].exists()  # the temporary folder is gone
    manifest = sqlite_hub.manifest(version)
    assert [f.path for f in manifest.files] == ["model.onnx", external.EXPORT_DATA_FILE]
    assert manifest.data[0].size >= 64 * 8 * 4 + 4 * 64 * 4
    assert version.parity and version.parity["passed"]

    stored = np.load(io.BytesIO(sqlite_hub.test_data(version)))
    name = version.outputs[0].name
    np.testing.assert_allclose(stored[f"output:{name}"], expected, rtol=1e-5, atol=1e-6)
    got = sqlite_hub.open("net").predict({version.inputs[0].name: sample})[name]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_a_large_torch_module_is_exported_through_a_file(
    sqlite_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    import hub.onnx.external as external
    import hub_plugins.torch.export as torch_export

    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(6, 64), torch.nn.Tanh(), torch.nn.Linear(64, 2))
    net.eval()
    sample = np.random.default_rng(4).standard_normal((4, 6)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(sample)).numpy()
    monkeypatch.setattr(torch_export, "LARGE_EXPORT_BYTES", 100)  # as if over 1 GiB
    monkeypatch.setattr(external, "EXTERNAL_DATA_THRESHOLD", 500)
    folders: list[str] = []
    real_folder = torch_export.tempfile.TemporaryDirectory

    def folder(*args, **kwargs):  # type: ignore[no-untyped-def]
        made = real_folder(*args, **kwargs)
        folders.append(made.name)
        return made

    monkeypatch.setattr(torch_export.tempfile, "TemporaryDirectory", folder)
    version = sqlite_hub.publish(net, name="big-torch", sample=sample)
    assert len(folders) == 1 and not Path(folders[0]).exists()  # exported through a file
    assert len(sqlite_hub.manifest(version).data) == 1
    got = sqlite_hub.open("big-torch").predict({version.inputs[0].name: sample})
    np.testing.assert_allclose(got[version.outputs[0].name], expected, rtol=1e-4, atol=1e-5)


def test_a_graph_the_family_normalises_is_stored_normalised_beside_the_same_data(
    sqlite_hub: Hub, mlp: Mlp, rows: np.ndarray, tmp_path: Path
) -> None:
    model = onnx.load(str(mlp.graph), load_external_data=False)
    model.ir_version = 3  # too old to carry opset 17: the onnx family raises it
    onnx.save_model(model, str(mlp.graph))
    version = sqlite_hub.publish(mlp.graph, name="mlp", sample=rows)
    manifest = sqlite_hub.manifest(version)
    stored = onnx.load_from_string(sqlite_hub.artifacts.path(manifest.graph.sha256).read_bytes())
    assert stored.ir_version > 3 and manifest.graph.sha256 != _sha(mlp.graph)
    assert [f.sha256 for f in manifest.data] == [_sha(mlp.folder / f.path) for f in manifest.data]
    got = sqlite_hub.open("mlp").predict({"input": rows})["output"]
    np.testing.assert_allclose(got, mlp_reference(mlp, rows), rtol=1e-5, atol=1e-5)
    written = sqlite_hub.download_files(version, tmp_path / "out")
    assert onnx.load(str(written[0]), load_external_data=False).ir_version == stored.ir_version


def test_prune_removes_the_local_folders_of_deleted_versions(
    sqlite_hub: Hub, tmp_path: Path, rows: np.ndarray
) -> None:
    from datetime import datetime, timezone

    from sqlalchemy import update

    from hub.catalog.models import Version

    first = sqlite_hub.publish(write_mlp(tmp_path / "a").graph, name="mlp", sample=rows)
    second = sqlite_hub.publish(write_mlp(tmp_path / "b", seed=2).graph, name="mlp", sample=rows)
    old_folder = sqlite_hub.materialise(first).parent
    new_folder = sqlite_hub.materialise(second).parent
    assert sqlite_hub.prune_local_folders() == []  # both versions are live
    with sqlite_hub.db.sessions() as session, session.begin():
        session.execute(
            update(Version).where(Version.number == 1).values(deleted_at=datetime.now(timezone.utc))
        )
    assert sqlite_hub.prune_local_folders() == [old_folder]
    assert not old_folder.exists() and (new_folder / "model.onnx").is_file()
