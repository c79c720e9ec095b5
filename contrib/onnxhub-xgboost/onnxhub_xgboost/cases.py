"""Tiny XGBoost models for the hub's shared conformance suite (each trains in well under 1 s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hub.families import ConformanceCase

FAMILY = "xgboost"


def tabular(n_classes: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_held_out): float32 features, so ONNX and XGBoost see the same values."""
    from sklearn.datasets import make_classification, make_regression

    if n_classes is None:
        X, y = make_regression(n_samples=240, n_features=6, noise=0.5, random_state=seed)
    else:
        X, y = make_classification(
            n_samples=240, n_features=6, n_informative=4, n_classes=n_classes, random_state=seed
        )
    X = X.astype(np.float32)
    return X[:180], y[:180], X[180:]


def _classifier(tmp_path: Path) -> tuple[Any, np.ndarray]:
    import xgboost

    X, y, held_out = tabular(3)
    return xgboost.XGBClassifier(n_estimators=12, max_depth=3).fit(X, y), held_out


def _regressor(tmp_path: Path) -> tuple[Any, np.ndarray]:
    import xgboost

    X, y, held_out = tabular(None)
    return xgboost.XGBRegressor(n_estimators=12, max_depth=3).fit(X, y), held_out


def _pipeline(tmp_path: Path) -> tuple[Any, np.ndarray]:
    import xgboost
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, held_out = tabular(2, seed=1)
    model = make_pipeline(StandardScaler(), xgboost.XGBClassifier(n_estimators=12, max_depth=3))
    return model.fit(X, y), held_out


def _ubj_file(tmp_path: Path) -> tuple[Any, np.ndarray]:
    import xgboost

    X, y, held_out = tabular(2, seed=2)
    path = tmp_path / "booster.ubj"
    xgboost.XGBClassifier(n_estimators=8, max_depth=3).fit(X, y).get_booster().save_model(path)
    return path, held_out


def _booster(tmp_path: Path) -> tuple[Any, np.ndarray]:
    import xgboost

    X, y, held_out = tabular(None, seed=3)
    return xgboost.XGBRegressor(n_estimators=8, max_depth=3).fit(X, y).get_booster(), held_out


#: How users commonly save these models besides XGBoost's own files.
SAVED_AS = ("joblib", "pickle")


def conformance_cases() -> list[ConformanceCase]:
    """Classifier, regressor, StandardScaler pipeline and a Booster object, each also saved
    with joblib and pickle; and a native ``.ubj`` Booster file."""
    return [
        ConformanceCase(FAMILY, "classifier", _classifier, saved_as=SAVED_AS),
        ConformanceCase(FAMILY, "regressor", _regressor, saved_as=SAVED_AS),
        ConformanceCase(FAMILY, "pipeline", _pipeline, saved_as=SAVED_AS),
        ConformanceCase(FAMILY, "booster", _booster, saved_as=SAVED_AS),
        ConformanceCase(FAMILY, "ubj-file", _ubj_file),
    ]
