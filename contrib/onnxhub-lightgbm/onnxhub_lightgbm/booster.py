"""scikit-learn estimators around a bare ``lightgbm.Booster`` (loaded from a file, or passed in).

They carry what onnxmltools' converter reads (``booster_``, ``classes_``, ``boosting_type``) and
what parity needs (``predict``, ``predict_proba``). skl2onnx picks its classifier parser (the one
that yields ``label`` and ``probabilities``) only for ``ClassifierMixin`` subclasses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


class _BoosterEstimator(BaseEstimator):
    """Common part of the Booster wrappers: the header facts the converter and parity need."""

    def __init__(self, booster: Any) -> None:
        header = booster.dump_model(num_iteration=1)
        self.booster = booster
        self.booster_ = booster
        self.objective_ = str(header.get("objective", "")).split(" ")[0]
        self.n_features_in_ = int(booster.num_feature())
        self.boosting_type = "rf" if header.get("average_output") else "gbdt"
        self.num_class_ = int(header.get("num_class", 1))


class BoosterClassifier(ClassifierMixin, _BoosterEstimator):
    """A binary or multiclass Booster as a classifier with classes ``0..k-1``."""

    def __init__(self, booster: Any) -> None:
        super().__init__(booster)
        self.classes_ = np.arange(max(self.num_class_, 2))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        raw = np.asarray(self.booster_.predict(X))
        return raw if raw.ndim == 2 else np.column_stack([1.0 - raw, raw])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class BoosterRegressor(RegressorMixin, _BoosterEstimator):
    """A regression Booster."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster_.predict(X))
