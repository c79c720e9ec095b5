"""The onnxhub CLI in a subprocess-free runner: real files, real exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from click.testing import CliRunner

from hub.cli.main import cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ONNXHUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("ONNXHUB_ARTIFACTS", raising=False)
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def files(tmp_path: Path, logreg):  # type: ignore[no-untyped-def]
    model, X = logreg
    joblib.dump(model, tmp_path / "iris.joblib")
    np.save(tmp_path / "sample.npy", X)
    np.savetxt(tmp_path / "sample.csv", X, delimiter=",", header="a,b,c,d", comments="")
    (tmp_path / "README.md").write_text(
        "---\nlicense: apache-2.0\ntags: [flowers]\n---\n\nIris model.\n"
    )
    return tmp_path, model, X


def test_publish_show_models_alias_check_download(run, files) -> None:
    folder, model, X = files
    result = run(
        "publish",
        str(folder / "iris.joblib"),
        "--name",
        "iris",
        "--sample",
        str(folder / "sample.npy"),
        "--card",
        str(folder / "README.md"),
        "--tag",
        "demo",
        "--alias",
        "production",
    )
    assert result.exit_code == 0, result.output
    assert "published iris:1" in result.output and "PASSED" in result.output
    result = run(
        "publish",
        str(folder / "iris.joblib"),
        "--name",
        "iris",
        "--sample",
        str(folder / "sample.csv"),
    )
    assert result.exit_code == 0 and "published iris:2" in result.output

    shown = json.loads(run("show", "iris@production", "--json").output)
    assert shown["version"]["version"] == 1 and shown["model"]["license"] == "apache-2.0"
    assert shown["version"]["parity"]["passed"] is True
    assert {"demo", "flowers"} <= set(shown["model"]["tags"])
    text = run("show", "iris:2").output
    assert "iris:2" in text and "label mismatch 0.0000%" in text and "input" in text

    listed = json.loads(run("models", "--json", "--tag", "flowers").output)
    assert [m["name"] for m in listed] == ["iris"] and listed[0]["latest_version"] == 2

    assert run("alias", "iris", "production", "2").output.strip() == "iris@production -> 2"
    assert json.loads(run("show", "iris", "--json").output)["version"]["version"] == 2

    checked = run("check", "iris:1")
    assert checked.exit_code == 0 and "iris:1: parity on 45 rows: PASSED" in checked.output

    target = folder / "got.onnx"
    assert run("download", "iris:1", "-o", str(target)).exit_code == 0
    import onnxruntime as ort

    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    labels = session.run(["label"], {session.get_inputs()[0].name: X})[0]
    np.testing.assert_array_equal(labels, model.predict(X))
    data = folder / "test.npz"
    assert run("download", "iris:1", "--test-data", "-o", str(data)).exit_code == 0
    assert any(k.startswith("input:") for k in np.load(data).files)


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("show", "nope"), 3, "unknown model 'nope'"),
        (("show", "iris:x"), 2, "positive integer"),
        (("alias", "nope", "production", "1"), 3, "unknown model"),
        (
            ("publish", "missing.joblib", "--name", "m", "--sample", "missing.npy"),
            2,
            "does not exist",
        ),
        (("check", "ghost@production"), 3, "unknown model 'ghost'"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(run, args, code, fragment) -> None:
    result = run(*args)
    assert result.exit_code == code
    assert fragment in result.output
    assert "Traceback" not in result.output


def test_publish_refuses_bad_samples_and_writes_nothing(run, files) -> None:
    folder, model, X = files
    np.save(folder / "wide.npy", np.hstack([X, X]))
    result = run(
        "publish",
        str(folder / "iris.joblib"),
        "--name",
        "iris",
        "--sample",
        str(folder / "wide.npy"),
    )
    assert result.exit_code == 2 and "feature" in result.output
    assert "Traceback" not in result.output
    (folder / "junk.npy").write_bytes(b"not numpy")
    result = run(
        "publish",
        str(folder / "iris.joblib"),
        "--name",
        "iris",
        "--sample",
        str(folder / "junk.npy"),
    )
    assert result.exit_code == 2 and "cannot read sample file junk.npy" in result.output
    result = run("publish", str(folder / "iris.joblib"), "--name", "iris")
    assert result.exit_code == 2 and "--sample is required" in result.output
    result = run(
        "publish",
        str(folder / "iris.joblib"),
        "--name",
        "iris",
        "--family",
        "nope",
        "--sample",
        str(folder / "sample.npy"),
    )
    assert result.exit_code == 3 and "unknown family 'nope'" in result.output
    assert run("models").output.strip() == "no models"


def test_alias_to_a_missing_version(run, files) -> None:
    folder, _, _ = files
    run(
        "publish",
        str(folder / "iris.joblib"),
        "--name",
        "iris",
        "--sample",
        str(folder / "sample.npy"),
    )
    result = run("alias", "iris", "production", "4")
    assert result.exit_code == 3 and "has no version 4" in result.output


def test_plugins_lists_families_with_their_distribution(run) -> None:
    listed = json.loads(run("plugins", "--json").output)
    families = {f["family"]: f for f in listed["families"]}
    assert {"onnx", "sklearn"} <= set(families)
    assert families["sklearn"]["distribution"] == "onnxhub"
    assert families["sklearn"]["framework"] == "scikit-learn"


def test_publish_a_torchscript_generator_with_latent_dim(run, tmp_path: Path) -> None:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).eval()
    path = tmp_path / "gen.pt"
    torch.jit.save(torch.jit.script(net), str(path))
    result = run("publish", str(path), "--name", "gen", "--latent-dim", "4", "--json")
    assert result.exit_code == 0, result.output
    version = json.loads(result.output)
    assert version["task"] == "generation" and version["metadata"]["latent_input"] == "latent"
    assert version["inputs"] == [{"name": "latent", "datatype": "FP32", "shape": [-1, 4]}]
    assert version["parity"]["passed"] and version["parity"]["rows"] == 16


HIDE_TORCH = """
import importlib.util, sys
real_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *args: (
    None if name.split(".")[0] == "torch" else real_find_spec(name, *args)
)
from hub.cli.main import cli
sys.argv = ["onnxhub", *sys.argv[1:]]
cli()
"""


def test_a_family_without_its_framework_is_unavailable_with_a_hint(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**__import__("os").environ, "ONNXHUB_HOME": str(tmp_path / "home")}
    listed = subprocess.run(
        [sys.executable, "-c", HIDE_TORCH, "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    families = {f["family"]: f for f in json.loads(listed.stdout)["families"]}
    assert families["torch"]["available"] is False
    assert families["torch"]["install_hint"] == "pip install 'onnxhub[torch]'"
    assert families["sklearn"]["available"] is True
    (tmp_path / "net.pt").write_bytes(b"not really torch")
    np.save(tmp_path / "rows.npy", np.zeros((2, 3), np.float32))
    published = subprocess.run(
        [
            sys.executable,
            "-c",
            HIDE_TORCH,
            "publish",
            str(tmp_path / "net.pt"),
            "--name",
            "net",
            "--family",
            "torch",
            "--sample",
            str(tmp_path / "rows.npy"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert published.returncode == 6 and "Traceback" not in published.stderr
    assert "family 'torch' is installed but its framework" in published.stderr
    assert "pip install 'onnxhub[torch]'" in published.stderr
