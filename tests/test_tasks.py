"""Issue 9 item 8: one task vocabulary, declared next to the plugin API and used by every family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import hub.families as families
from hub.api import Hub
from hub.catalog import queries
from hub.cli.main import cli
from hub.errors import InvalidInput
from hub.families.tasks import TASK_ALIASES, TASKS, canonical_task, task_from_head
from hub.settings import Settings


def test_vocabulary_is_exported_from_the_plugin_api() -> None:
    assert families.TASKS is TASKS and families.canonical_task is canonical_task
    assert families.GENERATION_TASK in TASKS
    assert all(target in TASKS for target in TASK_ALIASES.values())
    assert not set(TASK_ALIASES) & set(TASKS)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("tabular-classification", "tabular-classification"),
        ("classification", "tabular-classification"),
        ("Tabular_Classification", "tabular-classification"),
        ("  regression ", "tabular-regression"),
        ("sentiment-analysis", "text-classification"),
        ("generative", "generation"),
        (None, None),
    ],
)
def test_canonical_names(given, expected) -> None:  # type: ignore[no-untyped-def]
    assert canonical_task(given) == expected


def test_unknown_task_is_refused_with_the_list() -> None:
    with pytest.raises(InvalidInput, match="unknown --task 'clasification'; known tasks: "):
        canonical_task("clasification", "--task")


def test_head_task() -> None:
    assert task_from_head("classification", [2]) == "tabular-classification"
    assert task_from_head("regression", [2]) == "tabular-regression"
    assert task_from_head("classification", [4]) == "image-classification"
    assert task_from_head("classification", [2, 2]) is None


def test_every_family_catalogues_the_same_names(tmp_path: Path, logreg) -> None:
    """The issue's example: sklearn said tabular-classification, the others classification."""
    import torch

    model, X = logreg
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1))
    with Hub(Settings.for_home(tmp_path / "home")) as hub:
        hub.publish(model, name="sk", sample=X)
        hub.publish(net, name="pt", sample=X)
        hub.publish(model, name="flagged", sample=X, task="classification")
        found = [m.name for m in hub.list_models(task="tabular-classification")]
        assert found == ["flagged", "pt", "sk"]
        assert [m.name for m in hub.list_models(task="classification")] == found
        with pytest.raises(InvalidInput, match="unknown --task"):
            hub.publish(model, name="bad", sample=X, task="clasification")
        card = "---\npipeline_tag: not-a-task\n---\n"
        with pytest.raises(InvalidInput, match="unknown card front matter task 'not-a-task'"):
            hub.publish(model, name="bad", sample=X, card=card)
        assert "bad" not in [m.name for m in hub.list_models()]


def test_rows_catalogued_under_an_alias_still_match(tmp_path: Path, logreg) -> None:
    """A catalog written before the vocabulary (task 'classification') is found by the new name."""
    model, X = logreg
    with Hub(Settings.for_home(tmp_path / "home")) as hub:
        hub.publish(model, name="old", sample=X)

        def rename(session):  # type: ignore[no-untyped-def]
            queries.require_model(session, "old").task = "classification"

        hub.db.transaction(rename)
        assert [m.name for m in hub.list_models(task="tabular-classification")] == ["old"]


def test_cli_models_task_filter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logreg) -> None:
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    model, X = logreg
    with Hub(Settings.for_home(tmp_path / "home")) as hub:
        hub.publish(model, name="iris", sample=X)
    runner = CliRunner()
    result = runner.invoke(cli, ["models", "--task", "classification"])
    assert result.exit_code == 0 and "iris" in result.output
    result = runner.invoke(cli, ["models", "--task", "nonsense"])
    assert result.exit_code == 2 and result.output.startswith("error: unknown task 'nonsense'")
    np.testing.assert_equal(result.output.count("\n"), 1)
