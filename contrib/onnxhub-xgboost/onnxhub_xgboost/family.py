"""The ``xgboost`` family: XGBoost estimators, pipelines ending in one, and Booster files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hub.families import ConformanceCase, FamilyInfo, TabularFamily, missing_distributions
from onnxhub_xgboost import convert, native

#: pip distribution for each module the family needs, for the install hint.
_REQUIREMENTS = {
    "xgboost": "xgboost-cpu",
    "onnxmltools": "onnxmltools",
    "skl2onnx": "skl2onnx",
    "sklearn": "scikit-learn",
}


def _family_info() -> FamilyInfo:
    missing = missing_distributions(_REQUIREMENTS)
    return FamilyInfo(
        name="xgboost",
        framework="xgboost",
        summary="XGBoost classifiers and regressors (objects, pipelines, .ubj/.json files)",
        file_suffixes=native.SUFFIXES,
        available=not missing,
        install_hint=f"pip install {' '.join(missing)}" if missing else None,
    )


class XGBoostFamily(TabularFamily):
    """Exports XGBClassifier / XGBRegressor (also inside a scikit-learn Pipeline) to ONNX.

    Classifiers get outputs ``label`` (int64) and ``probabilities`` (float32, no ZipMap);
    regressors get ``variable``.
    """

    accepts = "XGBClassifier and XGBRegressor models (or pipelines ending in one)"
    extra_tags = ("gradient-boosting", "tabular")

    def __init__(self) -> None:
        self.info = _family_info()

    def is_estimator(self, model: Any) -> bool:
        return convert.is_xgboost_estimator(model)

    def is_classifier(self, estimator: Any) -> bool:
        return convert.is_classifier(estimator)

    def to_onnx(self, estimator: Any, n_features: int, opset: int | None) -> Any:
        return convert.to_onnx(estimator, n_features, opset)

    def is_native(self, model: Any) -> bool:
        xgboost = sys.modules.get("xgboost")
        return xgboost is not None and isinstance(model, xgboost.Booster)

    def as_estimator(self, model: Any) -> Any:
        return native.wrap_booster(model, "the Booster") if self.is_native(model) else model

    def claims_file(self, path: Path) -> bool:
        return native.looks_like_xgboost_file(path)

    def load_native(self, path: Path) -> Any:
        return native.load_native(path)

    def fitted_metadata(self, final: Any) -> dict[str, Any]:
        return {"objective": native.objective_of(final.get_booster())}

    def conformance_cases(self) -> list[ConformanceCase]:
        from onnxhub_xgboost import cases

        return cases.conformance_cases()
