"""The ``lightgbm`` family: LightGBM estimators, pipelines ending in one, Boosters, text files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hub.families import ConformanceCase, FamilyInfo, TabularFamily, missing_distributions
from onnxhub_lightgbm import convert, native

#: pip distribution for each module the family needs, for the install hint.
_REQUIREMENTS = {
    "lightgbm": "lightgbm",
    "onnxmltools": "onnxmltools",
    "skl2onnx": "skl2onnx",
    "sklearn": "scikit-learn",
}


def _family_info() -> FamilyInfo:
    missing = missing_distributions(_REQUIREMENTS)
    return FamilyInfo(
        name="lightgbm",
        framework="lightgbm",
        summary="LightGBM classifiers and regressors (objects, pipelines, .txt files)",
        file_suffixes=native.SUFFIXES,
        available=not missing,
        install_hint=f"pip install {' '.join(missing)}" if missing else None,
    )


class LightGBMFamily(TabularFamily):
    """Exports LGBMClassifier / LGBMRegressor (also inside a scikit-learn Pipeline) to ONNX.

    Classifiers get outputs ``label`` (the classes' own type: int64 or string) and
    ``probabilities`` (float32, no ZipMap); regressors get ``variable``.
    """

    accepts = "LGBMClassifier and LGBMRegressor models (or pipelines ending in one, or Boosters)"
    extra_tags = ("gradient-boosting", "tabular")

    def __init__(self) -> None:
        self.info = _family_info()

    def is_estimator(self, model: Any) -> bool:
        return convert.is_lightgbm_estimator(model)

    def is_classifier(self, estimator: Any) -> bool:
        return convert.is_classifier(estimator)

    def to_onnx(self, estimator: Any, n_features: int, opset: int | None) -> Any:
        return convert.to_onnx(estimator, n_features, opset)

    def is_native(self, model: Any) -> bool:
        lightgbm = sys.modules.get("lightgbm")
        return lightgbm is not None and isinstance(model, lightgbm.Booster)

    def as_estimator(self, model: Any) -> Any:
        return native.wrap_booster(model, "the Booster") if self.is_native(model) else model

    def claims_file(self, path: Path) -> bool:
        return native.looks_like_lightgbm_file(path)

    def load_native(self, path: Path) -> Any:
        return native.load_native(path)

    def fitted_metadata(self, final: Any) -> dict[str, Any]:
        return {"objective": str(final.objective_)}

    def conformance_cases(self) -> list[ConformanceCase]:
        from onnxhub_lightgbm import cases

        return cases.conformance_cases()
