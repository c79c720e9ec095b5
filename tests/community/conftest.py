"""Fixtures for the community features: real scikit-learn models exported once (two iris
classifiers that agree in signature, one regression that does not); the hub on SQLite and on
PostgreSQL with four people and their tokens (``api_hub``, ``tokens``) is in tests/conftest.py."""

from __future__ import annotations

import numpy as np
import pytest
from community_helpers import Export

from hub.api import Hub
from hub.settings import Settings


def _export(tmp_path_factory: pytest.TempPathFactory, model, X: np.ndarray) -> Export:  # type: ignore[no-untyped-def]
    with Hub(Settings.for_home(tmp_path_factory.mktemp("export-home"))) as hub:
        checked = hub.export(model, X)
    proba = model.predict_proba(X) if hasattr(model, "predict_proba") else None
    return Export(
        model_bytes=checked.model_bytes,
        test_data=checked.test_data,
        X=X,
        predictions=model.predict(X),
        probabilities=proba,
        label_outputs=tuple(checked.exported.label_outputs),
    )


@pytest.fixture(scope="session")
def iris_v1(tmp_path_factory, iris_split) -> Export:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    Xtr, Xte, ytr, _ = iris_split
    return _export(tmp_path_factory, LogisticRegression(max_iter=500).fit(Xtr, ytr), Xte)


@pytest.fixture(scope="session")
def iris_v2(tmp_path_factory, iris_split) -> Export:  # type: ignore[no-untyped-def]
    """Another iris classifier (stronger regularisation): same signature, other numbers."""
    from sklearn.linear_model import LogisticRegression

    Xtr, Xte, ytr, _ = iris_split
    return _export(tmp_path_factory, LogisticRegression(C=0.05, max_iter=500).fit(Xtr, ytr), Xte)


@pytest.fixture(scope="session")
def ridge_export(tmp_path_factory) -> Export:  # type: ignore[no-untyped-def]
    """A regression on 5 features: its input shape and outputs differ from the iris models'."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 5)).astype(np.float32)
    y = X @ np.arange(1, 6, dtype=np.float32) + 0.5
    return _export(tmp_path_factory, Ridge(alpha=0.1).fit(X[:60], y[:60]), X[60:])
