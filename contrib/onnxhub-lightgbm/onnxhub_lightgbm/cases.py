"""Tiny LightGBM models for the hub's shared conformance suite (each trains in well under 1 s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hub.families import ConformanceCase

FAMILY = "lightgbm"


def tabular(n_classes: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_held_out) in float32, so ONNX and LightGBM see the same values."""
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
    import lightgbm

    X, y, held_out = tabular(3)
    return lightgbm.LGBMClassifier(
        n_estimators=12, num_leaves=8, min_child_samples=5, verbose=-1
    ).fit(X, y), held_out


def _regressor(tmp_path: Path) -> tuple[Any, np.ndarray]:
    import lightgbm

    X, y, held_out = tabular(None)
    return lightgbm.LGBMRegressor(
        n_estimators=12, num_leaves=8, min_child_samples=5, verbose=-1
    ).fit(X, y), held_out


def _pipeline(tmp_path: Path) -> tuple[Any, np.ndarray]:
    import lightgbm
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, held_out = tabular(2, seed=1)
    model = make_pipeline(
        StandardScaler(),
        lightgbm.LGBMClassifier(n_estimators=12, num_leaves=8, min_child_samples=5, verbose=-1),
    )
    return model.fit(X, y), held_out


def _text_file(tmp_path: Path) -> tuple[Any, np.ndarray]:
    import lightgbm

    X, y, held_out = tabular(2, seed=2)
    path = tmp_path / "booster.txt"
    model = lightgbm.LGBMClassifier(n_estimators=8, num_leaves=8, min_child_samples=5, verbose=-1)
    model.fit(X, y).booster_.save_model(path)
    return path, held_out


def _booster(tmp_path: Path) -> tuple[Any, np.ndarray]:
    import lightgbm

    X, y, held_out = tabular(None, seed=3)
    model = lightgbm.LGBMRegressor(n_estimators=8, num_leaves=8, min_child_samples=5, verbose=-1)
    return model.fit(X, y).booster_, held_out


#: How users commonly save these models besides LightGBM's own files.
SAVED_AS = ("joblib", "pickle")


def conformance_cases() -> list[ConformanceCase]:
    """Classifier, regressor, StandardScaler pipeline and a Booster object, each also saved
    with joblib and pickle; and a native ``.txt`` model file."""
    return [
        ConformanceCase(FAMILY, "classifier", _classifier, saved_as=SAVED_AS),
        ConformanceCase(FAMILY, "regressor", _regressor, saved_as=SAVED_AS),
        ConformanceCase(FAMILY, "pipeline", _pipeline, saved_as=SAVED_AS),
        ConformanceCase(FAMILY, "booster", _booster, saved_as=SAVED_AS),
        ConformanceCase(FAMILY, "text-file", _text_file),
    ]
