"""Local writes (CLI and ``hub.Hub``) act as ``ONNXHUB_USER``; each version keeps its own card."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
import pytest
from click.testing import CliRunner

from hub.api import Hub
from hub.catalog import accounts
from hub.cli.main import cli
from hub.settings import Settings

CARD_ONE = "---\nlicense: mit\ntags: [flowers]\ndatasets: [iris]\n---\n\n# Iris\n\nFirst card.\n"
CARD_TWO = "---\nlicense: apache-2.0\ntags: [flowers, v2]\n---\n\n# Iris v2\n\nSecond card.\n"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ONNXHUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("ONNXHUB_ARTIFACTS", raising=False)
    runner = CliRunner()

    def invoke(*args: str, user: str = "local"):  # type: ignore[no-untyped-def]
        monkeypatch.setenv("ONNXHUB_USER", user)
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_cli_publish_acts_as_onnxhub_user_and_keeps_each_versions_card(
    run, tmp_path: Path, logreg
) -> None:  # type: ignore[no-untyped-def]
    model, X = logreg
    joblib.dump(model, tmp_path / "iris.joblib")
    np.save(tmp_path / "sample.npy", X)
    (tmp_path / "one.md").write_text(CARD_ONE)
    (tmp_path / "two.md").write_text(CARD_TWO)
    publish = ("publish", str(tmp_path / "iris.joblib"), "--name", "iris")
    run(*publish, "--sample", str(tmp_path / "sample.npy"), "--card", str(tmp_path / "one.md"),
        user="alice")  # fmt: skip
    # bob publishes a version of alice's model: the local CLI is the admin path, so it may,
    # and the version records that bob did it; the model stays alice's
    run(*publish, "--sample", str(tmp_path / "sample.npy"), "--card", str(tmp_path / "two.md"),
        user="bob")  # fmt: skip

    first = json.loads(run("show", "iris:1", "--json"))
    second = json.loads(run("show", "iris:2", "--json"))
    assert first["model"]["owner"] == second["model"]["owner"] == "alice"
    assert first["version"]["metadata"]["published_by"] == "alice"
    assert second["version"]["metadata"]["published_by"] == "bob"
    assert first["card_data"] == {"license": "mit", "tags": ["flowers"], "datasets": ["iris"]}
    assert "First card." in first["card"] and "Second card." not in first["card"]
    assert second["card_data"]["license"] == "apache-2.0"
    assert "Second card." in second["card"]

    users = {u["name"]: u["admin"] for u in json.loads(run("users", "list", "--json"))}
    assert users == {"alice": False, "bob": False}  # created on first use, never admins

    text = run("show", "iris:2")
    assert "published by bob" in text
    assert "    license: apache-2.0" in text
    assert "    tags: flowers, v2" in text
    assert "# Iris v2" in text and "Second card." in text
    assert "First card." not in text


def test_hub_publish_owner_is_the_settings_user(settings: Settings, logreg) -> None:  # type: ignore[no-untyped-def]
    model, X = logreg
    with Hub(replace(settings, user="carol")) as hub:
        version = hub.publish(model, name="iris", sample=X)
        assert hub.get_model("iris").owner == "carol"
        assert version.metadata["published_by"] == "carol"
        assert "card" not in version.metadata  # no card given: none stored
        with hub.db.session() as session:
            carol = accounts.find_user(session, "carol")
            assert carol is not None and not carol.admin
        published = [e for e in hub.events_after(0) if e.kind == "version.published"]
        assert published[-1].payload["by"] == "carol"


def test_an_invalid_onnxhub_user_fails_before_anything_is_written(
    run, tmp_path: Path, logreg
) -> None:  # type: ignore[no-untyped-def]
    model, X = logreg
    joblib.dump(model, tmp_path / "iris.joblib")
    np.save(tmp_path / "sample.npy", X)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "publish",
            str(tmp_path / "iris.joblib"),
            "--name",
            "iris",
            "--sample",
            str(tmp_path / "sample.npy"),
        ],
        env={"ONNXHUB_USER": "no such user!", "ONNXHUB_HOME": str(tmp_path / "home")},
    )
    assert result.exit_code == 2, result.output
    assert "invalid user name 'no such user!'" in result.output
    assert result.output.count("\n") == 1
    assert json.loads(run("models", "--json")) == []
