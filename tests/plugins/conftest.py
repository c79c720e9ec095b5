"""Fixtures for the built-in family tests: a fresh plugin registry and small data splits."""

from __future__ import annotations

import numpy as np
import pytest

from hub.families.registry import FamilyRegistry, get_plugin_manager


@pytest.fixture
def registry() -> FamilyRegistry:
    """A fresh plugin manager per test, with the installed entry points."""
    return get_plugin_manager()


@pytest.fixture(scope="session")
def classification_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test): 200 training rows, 40 held out, 6 features."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=240, n_features=6, n_informative=4, n_redundant=1, random_state=7
    )
    return X[:200], y[:200], X[200:], y[200:]


@pytest.fixture(scope="session")
def regression_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test): 200 training rows, 40 held out, 5 features."""
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=240, n_features=5, noise=0.5, random_state=3)
    return X[:200], y[:200], X[200:], y[200:]
