"""Done when: a second hub pulls a private model from a first with a token and serves it; the
same pull without the token is 404; ``hub.Client(...).pipeline(...)(X)`` gives scikit-learn's
labels. Over real HTTP (``hub.Client`` is blocking, so the first hub runs in a thread)."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace

import numpy as np
import pytest
from api_helpers import LiveServer, bearer
from click.testing import CliRunner

import hub
from hub.api import Hub
from hub.catalog import accounts
from hub.cli.main import cli
from hub.errors import NotFound, Unauthorized
from hub.pipelines import local_pipeline
from hub.server.app import create_app
from hub.settings import Settings
from hub.transfer import pull


@pytest.fixture
def first_hub(api_hub, tokens, logreg):  # type: ignore[no-untyped-def]
    """The first hub on a real port; alice publishes iris (private) through hub.Client."""
    server = LiveServer(api_hub)
    url = server.start()
    model, X = logreg
    with hub.Client(url, token=tokens["alice"]) as client:
        version = client.publish(model, name="iris", sample=X, alias="production", private=True)
        assert client.update_model("iris", description="Iris, kept private")["private"] is True
    try:
        yield url, version, model, X
    finally:
        server.stop()


@pytest.fixture
def second_hub(tmp_path):  # type: ignore[no-untyped-def]
    settings = replace(
        Settings.for_home(tmp_path / "second"),
        event_poll_interval=0.05,
        providers=("CPUExecutionProvider",),
        intra_op_threads=1,
    )
    with Hub(settings) as h:
        yield h


def test_client_publishes_browses_downloads_and_predicts(first_hub, tokens, tmp_path) -> None:
    url, version, model, X = first_hub
    assert version["version"] == 1 and version["parity"]["passed"] is True
    assert version["parity"]["rows"] == len(X)  # the server's re-run of every held-out row
    with hub.Client(url, token=tokens["alice"]) as client:
        assert [m["name"] for m in client.models(search="iris")] == ["iris"]
        assert client.model("iris")["private"] is True
        target = client.download("iris", tmp_path / "iris.onnx")
        assert hashlib.sha256(target.read_bytes()).hexdigest() == version["sha256"]
        outputs = client.predict("iris:1", {"input": X})
        np.testing.assert_array_equal(outputs["label"], model.predict(X))
        np.testing.assert_allclose(outputs["probabilities"], model.predict_proba(X), atol=1e-5)
        result = client.pipeline("tabular-classification", "iris")(X)
        np.testing.assert_array_equal(result.labels, model.predict(X))
        np.testing.assert_allclose(result.probabilities, model.predict_proba(X), atol=1e-5)
        with pytest.raises(Exception, match="not tabular-regression"):
            client.pipeline("tabular-regression", "iris")
    with hub.Client(url) as anonymous:  # private: invisible without a token
        assert anonymous.models() == []
        with pytest.raises(NotFound):
            anonymous.pipeline("tabular-classification", "iris")
    with hub.Client(url, token="onh_" + "0" * 43) as bad, pytest.raises(Unauthorized):
        bad.models()


async def test_second_hub_pulls_the_private_model_and_serves_it(
    first_hub, second_hub, tokens, aiohttp_client
) -> None:
    import asyncio

    url, version, model, X = first_hub
    with hub.Client(url) as anonymous, pytest.raises(NotFound, match="unknown model 'iris'"):
        await asyncio.to_thread(pull, second_hub, anonymous, "iris")
    with hub.Client(url, token=tokens["bob"]) as stranger, pytest.raises(NotFound):
        await asyncio.to_thread(pull, second_hub, stranger, "iris")
    assert second_hub.list_models() == []

    with hub.Client(url, token=tokens["alice"]) as client:
        pulled, added = await asyncio.to_thread(pull, second_hub, client, "iris@production")
        again, added_again = await asyncio.to_thread(pull, second_hub, client, "iris:1")
    assert added and not added_again and again["version"] == pulled["version"] == 1
    assert pulled["sha256"] == version["sha256"]
    assert pulled["provenance"] == {
        "source_url": url,
        "source_model": "iris",
        "source_version": 1,
        "sha256": version["sha256"],
    }
    assert pulled["parity"]["passed"] and pulled["parity"]["rows"] == len(X)  # re-run here

    token = second_hub.db.transaction(lambda s: accounts.create_token(s, "local", scope="read"))[0]
    served = await aiohttp_client(create_app(second_hub))
    body = {
        "inputs": [
            {
                "name": "input",
                "datatype": "FP32",
                "shape": list(X.shape),
                "data": X.ravel().tolist(),
            }
        ]
    }
    assert (await served.post("/v2/models/iris/infer", json=body)).status == 404  # still private
    resp = await served.post("/v2/models/iris/infer", json=body, headers=bearer(token))
    assert resp.status == 200
    outputs = {o["name"]: o["data"] for o in (await resp.json())["outputs"]}
    assert outputs["label"] == model.predict(X).tolist()

    labels = local_pipeline("tabular-classification", "iris", hub=second_hub)(X).labels
    np.testing.assert_array_equal(labels, model.predict(X))


def test_login_push_and_pull_from_the_command_line(first_hub, tokens, tmp_path) -> None:
    url, version, model, X = first_hub
    home = tmp_path / "cli-home"
    env = {"ONNXHUB_HOME": str(home), "ONNXHUB_DATABASE_URL": "", "ONNXHUB_TOKEN": ""}
    runner = CliRunner()
    result = runner.invoke(cli, ["pull", url, "iris"], env=env)
    assert result.exit_code == 3 and "unknown model 'iris'" in result.output  # no token: 404

    result = runner.invoke(cli, ["login", url, "--token", tokens["alice"]], env=env)
    assert result.exit_code == 0, result.output
    stored = home / "credentials.json"
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    assert tokens["alice"] not in result.output

    result = runner.invoke(cli, ["pull", url, "iris:1", "--as", "iris-copy"], env=env)
    assert result.exit_code == 0, result.output
    assert "pulled" in result.output and "iris-copy:1" in result.output
    result = runner.invoke(cli, ["pull", url, "iris:1", "--as", "iris-copy"], env=env)
    assert result.exit_code == 0 and "already here" in result.output
    result = runner.invoke(cli, ["show", "iris-copy"], env=env)
    assert result.exit_code == 0, result.output
    assert f"pulled    from {url} iris:1 (sha256 {version['sha256'][:12]}" in result.output

    result = runner.invoke(cli, ["push", "iris-copy:1", "--to", url, "--json"], env=env)
    assert result.exit_code == 0, result.output
    with hub.Client(url, token=tokens["alice"]) as client:
        pushed = client.model("iris-copy")
    assert pushed["owner"] == "alice" and pushed["latest_version"] == 1
    result = runner.invoke(
        cli, ["push", "iris-copy", "--to", url], env={**env, "ONNXHUB_TOKEN": tokens["bob"]}
    )
    assert result.exit_code == 9 and "owner and collaborators" in result.output  # 403


def test_generator_uploaded_over_http_samples_by_seed(api_hub, tokens) -> None:
    from onnx_graphs import generator_model

    from hub.errors import InvalidInput
    from hub.families.generation import draw_latent

    graph, weights = generator_model(latent_dim=4, out_dim=3)
    server = LiveServer(api_hub)
    url = server.start()
    try:
        with hub.Client(url, token=tokens["alice"]) as client:
            with pytest.raises(InvalidInput, match="'latent_input'"):
                client.upload(
                    "gan",
                    graph.SerializeToString(),
                    metadata={"task": "generation", "latent_input": "sample"},
                )
            client.upload(
                "gan",
                graph.SerializeToString(),
                metadata={"task": "generation", "latent_input": "latent"},
            )
            samples = client.pipeline("generation", "gan")(5, seed=7)
    finally:
        server.stop()
    expected = draw_latent(5, 4, 7).astype(np.float32) @ weights
    np.testing.assert_allclose(samples, expected, rtol=1e-5, atol=1e-6)
