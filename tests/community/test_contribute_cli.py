"""``onnxhub contribute`` and ``onnxhub contributions`` against a live server: a real
scikit-learn model file exported and checked here, then checked, approved and served there."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
import requests
from click.testing import CliRunner
from live_server import LiveServer

from hub.cli.main import cli
from hub.client import Client


@pytest.fixture
def live(api_hub):  # type: ignore[no-untyped-def]
    server = LiveServer(api_hub).start()
    yield server
    server.stop()


def _upload(url: str, export, token: str) -> None:  # type: ignore[no-untyped-def]
    with Client(url, token=token) as client:
        client.upload(
            "iris",
            export.model_bytes,
            test_data=export.test_data,
            metadata={"task": "tabular-classification", "label_outputs": ["label"]},
        )


def _run(args: list[str], token: str, home: Path):  # type: ignore[no-untyped-def]
    env = {"ONNXHUB_TOKEN": token, "ONNXHUB_HOME": str(home)}
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def test_contribute_review_and_serve_from_the_command_line(
    live, tokens, iris_v1, iris_split, tmp_path
) -> None:
    from sklearn.linear_model import LogisticRegression

    _upload(live.url, iris_v1, tokens["alice"])
    Xtr, Xte, ytr, _ = iris_split
    better = LogisticRegression(C=10.0, max_iter=1000).fit(Xtr, ytr)
    joblib.dump(better, tmp_path / "better.joblib")
    np.save(tmp_path / "sample.npy", Xte)
    home = tmp_path / "cli-home"
    args = ["contribute", str(tmp_path / "better.joblib"), "--to", "iris", "--hub", live.url]
    result = _run(
        [*args, "--sample", str(tmp_path / "sample.npy"), "--title", "C=10"], tokens["bob"], home
    )
    assert result.exit_code == 0, result.output
    assert "opened contribution #1 to iris" in result.output
    assert result.output.count("[ok  ]") == 9
    listed = _run(["contributions", "list", "iris", "--hub", live.url], tokens["bob"], home)
    assert "#1  open      checks passed  bob: C=10" in listed.output
    # bob may not approve; alice may
    refused = _run(
        ["contributions", "approve", "iris", "1", "--hub", live.url], tokens["bob"], home
    )
    assert refused.exit_code != 0 and "owner and collaborators" in refused.output
    approved = _run(
        ["contributions", "approve", "iris", "1", "--alias", "production", "--hub", live.url],
        tokens["alice"],
        home,
    )
    assert approved.exit_code == 0, approved.output
    assert "approved #1: iris:2" in approved.output and "production -> 2" in approved.output
    answer = requests.post(
        f"{live.url}/v2/models/iris/infer",
        json={
            "inputs": [
                {
                    "name": "input",
                    "datatype": "FP32",
                    "shape": [5, 4],
                    "data": Xte[:5].ravel().tolist(),
                }
            ]
        },
        timeout=60,
    ).json()
    labels = next(o for o in answer["outputs"] if o["name"] == "label")["data"]
    assert answer["model_version"] == "2"
    assert labels == better.predict(Xte[:5]).tolist()
    shown = _run(["contributions", "show", "iris", "1", "--hub", live.url], tokens["bob"], home)
    assert "approved (version 2)" in shown.output


def test_a_contribution_that_fails_its_checks_exits_5_and_can_be_rejected(
    live, tokens, iris_v1, tmp_path
) -> None:
    from sklearn.linear_model import Ridge

    _upload(live.url, iris_v1, tokens["alice"])
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 5)).astype(np.float32)
    joblib.dump(Ridge().fit(X, X.sum(axis=1)), tmp_path / "ridge.joblib")
    np.save(tmp_path / "x.npy", X[:10])
    home = tmp_path / "cli-home"
    result = _run(
        [
            "contribute",
            str(tmp_path / "ridge.joblib"),
            "--to",
            "iris",
            "--hub",
            live.url,
            "--sample",
            str(tmp_path / "x.npy"),
        ],
        tokens["carol"],
        home,
    )
    assert result.exit_code == 5
    assert "[FAIL] signature_compatible: incompatible with version 1" in result.output
    assert "checks failed (signature_compatible)" in result.output
    rejected = _run(
        ["contributions", "reject", "iris", "1", "--comment", "wrong task", "--hub", live.url],
        tokens["alice"],
        home,
    )
    assert rejected.exit_code == 0 and "rejected #1 of iris" in rejected.output
    listed = _run(
        ["contributions", "list", "iris", "--status", "rejected", "--hub", live.url],
        tokens["alice"],
        home,
    )
    assert "#1  rejected  checks FAILED  carol" in listed.output
    missing = _run(["contributions", "list", "iris"], tokens["alice"], home)
    assert missing.exit_code == 2 and "which hub?" in missing.output
