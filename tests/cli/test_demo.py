"""Issue 9 item 16: ``onnxhub demo`` run twice leaves the catalog as one run does."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.api import Hub
from hub.cli.main import cli
from hub.settings import Settings

NAMES = ["diabetes-ridge", "iris-forest", "iris-logreg"]


def _state(home: Path) -> tuple:
    with Hub(Settings.for_home(home)) as hub:
        models = {m.name: (m.versions, dict(m.aliases)) for m in hub.list_models()}
        return models, hub.last_event_id()


def test_demo_twice_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ONNXHUB_HOME", str(home))
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    after_one = _state(home)
    assert sorted(after_one[0]) == NAMES
    assert all(v == ((1,), {"production": 1}) for v in after_one[0].values())

    second = runner.invoke(cli, ["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    assert second.output.count("is already published with these bytes: left as it is") == 3
    assert _state(home) == after_one  # no version, no alias move, no event

    # the user moves production to a version of their own: the demo leaves it there
    with Hub(Settings.for_home(home)) as hub:
        mine = hub.publish(
            _own_model(),
            name="iris-logreg",
            sample=_own_sample(),
            alias="production",
        )
        assert mine.version == 2
    before = _state(home)
    third = runner.invoke(cli, ["demo", "--no-serve"])
    assert third.exit_code == 0, third.output
    assert _state(home) == before


def _own_model():  # type: ignore[no-untyped-def]
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    return DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)


def _own_sample():  # type: ignore[no-untyped-def]
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)[0][:10].astype("float32")
