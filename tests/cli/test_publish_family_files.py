"""`onnxhub publish m.joblib --family NAME`: a contrib family's estimator saved with joblib is
published from the CLI and served with the framework's own predictions.

End to end through the hub's CLI and API, so it lives with the hub's tests: a family's own
package imports only hub.families and hub.errors (tests/test_plugin_contract.py).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from click.testing import CliRunner

from hub.api import Hub
from hub.cli.main import cli
from hub.settings import Settings


def _xgboost_classifier(X: np.ndarray, y: np.ndarray) -> object:
    import xgboost

    return xgboost.XGBClassifier(n_estimators=15, max_depth=3).fit(X, y)


def _lightgbm_classifier(X: np.ndarray, y: np.ndarray) -> object:
    import lightgbm

    return lightgbm.LGBMClassifier(
        n_estimators=15, num_leaves=8, min_child_samples=5, verbose=-1
    ).fit(X, y)


@pytest.mark.parametrize(
    ("family", "train"), [("xgboost", _xgboost_classifier), ("lightgbm", _lightgbm_classifier)]
)
def test_joblib_file_published_with_family_named(family, train, tmp_path, monkeypatch) -> None:
    """Issue 9 item 4: `joblib.dump(model, "m.joblib")` then `onnxhub publish m.joblib
    --family NAME --sample S.npy` (it failed: "not a readable ... model: 'utf-8' codec")."""
    pytest.importorskip(family)
    joblib = pytest.importorskip("joblib")
    cases = importlib.import_module(f"onnxhub_{family}.cases")
    X, y, held_out = cases.tabular(3)
    model = train(X, y)
    joblib.dump(model, tmp_path / "m.joblib")
    np.save(tmp_path / "S.npy", held_out)
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(
        cli,
        ["publish", str(tmp_path / "m.joblib"), "--name", "gbm", "--family", family]
        + ["--sample", str(tmp_path / "S.npy")],
    )
    assert result.exit_code == 0, result.output
    with Hub(Settings.for_home(tmp_path / "home")) as hub:
        version = hub.get_version("gbm")
        assert version.family == family and version.parity["passed"]
        labels = hub.open("gbm").predict(held_out)["label"]
        np.testing.assert_array_equal(labels, model.predict(held_out))
