"""The CLI with a model whose weights are external data: publish the folder, show its files,
download it as a folder, check it; refusals are one line with the storage/input exit code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hub.cli.main import cli
from tests.large.models import Mlp, write_mlp


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ONNXHUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("ONNXHUB_ARTIFACTS", raising=False)
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_publish_show_download_check_a_folder(run, mlp: Mlp, tmp_path: Path) -> None:
    np.save(tmp_path / "sample.npy", np.ones((3, 32), np.float32))
    published = run(
        "publish", str(mlp.graph), "--name", "mlp", "--sample", str(tmp_path / "sample.npy")
    )
    assert published.exit_code == 0, published.output
    total = sum(p.stat().st_size for p in mlp.folder.rglob("*") if p.is_file())
    assert f"{total} bytes" in published.output

    shown = run("show", "mlp")
    assert shown.exit_code == 0
    assert f"files     6 files, {total / 2**20:.1f} MiB ({total} bytes)" in shown.output
    for name in ["model.onnx", *mlp.data_files]:
        assert f"    {name}  " in shown.output
    as_json = json.loads(run("show", "mlp", "--json").output)
    files = as_json["files"]
    assert files["total_size"] == total
    assert {f["path"]: f["sha256"] for f in files["files"]} == _tree(mlp.folder)

    out = tmp_path / "downloaded"
    downloaded = run("download", "mlp:1", "-o", str(out))
    assert downloaded.exit_code == 0, downloaded.output
    assert "wrote 6 files" in downloaded.output
    assert _tree(out) == _tree(mlp.folder)
    again = run("download", "mlp:1", "-o", str(out))
    assert again.exit_code == 2 and "already exists" in again.output

    checked = run("check", "mlp")
    assert checked.exit_code == 0 and "passed" in checked.output.lower()


def test_a_one_file_model_still_downloads_as_a_file(run, tmp_path: Path) -> None:
    source = write_mlp(tmp_path / "src", widths=(4, 3))
    import onnx

    model = onnx.load(str(source.graph))  # external data loaded: a self-contained model
    onnx.save_model(model, str(tmp_path / "small.onnx"))
    assert run("publish", str(tmp_path / "small.onnx"), "--name", "small").exit_code == 0
    shown = run("show", "small")
    assert "files     1 file, " in shown.output and "    model.onnx  " in shown.output
    target = tmp_path / "copy.onnx"
    assert run("download", "small", "-o", str(target)).exit_code == 0
    assert target.read_bytes() == (tmp_path / "small.onnx").read_bytes()


def test_refusals_are_one_line_with_an_exit_code(run, mlp: Mlp, tmp_path: Path) -> None:
    (mlp.folder / "weights/layer2/w.bin").unlink()
    result = run("publish", str(mlp.graph), "--name", "mlp")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "weights/layer2/w.bin" in result.output


def test_a_triton_repository_holds_the_graph_and_its_data_files(mlp: Mlp, tmp_path: Path) -> None:
    from hub.api import Hub
    from hub.interop.triton import export_repository
    from hub.settings import Settings

    with Hub(Settings.for_home(tmp_path / "home")) as hub:
        hub.publish(mlp.graph, name="mlp", sample=np.ones((2, 32), np.float32))
        export_repository(hub, tmp_path / "repo", [("mlp", 1)])
    version = tmp_path / "repo" / "mlp" / "1"
    assert _tree(version) == _tree(mlp.folder)  # model.onnx and weights/... beside it
    assert (tmp_path / "repo" / "mlp" / "config.pbtxt").is_file()
