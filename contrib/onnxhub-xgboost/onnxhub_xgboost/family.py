"""The ``xgboost`` family: XGBoost estimators, pipelines ending in one, and Booster files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from hub import ConformanceCase, ExportedModel, FamilyInfo, FamilyPlugin
from hub.errors import ExportFailed, InvalidInput
from hub.tabular import estimator_outputs, feature_matrix, missing_distributions
from onnxhub_xgboost import convert, native

#: pip distribution for each module the family needs, for the install hint.
_REQUIREMENTS = {
    "xgboost": "xgboost-cpu",
    "onnxmltools": "onnxmltools",
    "skl2onnx": "skl2onnx",
    "sklearn": "scikit-learn",
}
#: Claim score for XGBoost objects: above the scikit-learn family's generic 10.
SPECIFIC_SCORE = 50
FILE_SCORE = 100


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


def _is_booster(model: Any) -> bool:
    xgboost = sys.modules.get("xgboost")
    return xgboost is not None and isinstance(model, xgboost.Booster)


def as_estimator(model: Any) -> Any:
    """The scikit-learn form of ``model``: a Booster is wrapped; anything else is returned as is."""
    return native.wrap_booster(model, "the Booster") if _is_booster(model) else model


class XGBoostFamily(FamilyPlugin):
    """Exports XGBClassifier / XGBRegressor (also inside a scikit-learn Pipeline) to ONNX.

    Classifiers get outputs ``label`` (int64) and ``probabilities`` (float32, no ZipMap);
    regressors get ``variable``: the names the scikit-learn family uses, so clients see one
    shape of output whichever tree library trained the model.
    """

    def __init__(self) -> None:
        self.info = _family_info()

    # -- claiming and loading ------------------------------------------------------------
    def claim(self, model: Any) -> int | None:
        if isinstance(model, Path):
            return FILE_SCORE if native.looks_like_xgboost_file(model) else None
        if _is_booster(model) or convert.is_xgboost_estimator(convert.final_estimator(model)):
            return SPECIFIC_SCORE
        return None

    def load(self, path: Path) -> Any:
        return native.load_native(path)

    # -- export and parity ---------------------------------------------------------------
    def export(self, model: Any, sample: Any, opset: int | None) -> ExportedModel:
        import onnxmltools
        import xgboost

        estimator = as_estimator(model)
        final = convert.final_estimator(estimator)
        if not isinstance(final, (xgboost.XGBClassifier, xgboost.XGBRegressor)):
            raise ExportFailed(
                f"the xgboost family exports XGBClassifier and XGBRegressor models "
                f"(or pipelines ending in one), not {type(final).__name__}"
            )
        try:
            final.get_booster()
        except Exception:
            raise InvalidInput(
                f"the {type(final).__name__} is not fitted; train it first"
            ) from None
        matrix = feature_matrix(sample, convert.expected_features(estimator), "xgboost")
        onnx_model = convert.to_onnx(estimator, matrix.shape[1], opset)
        classifier = convert.is_classifier(estimator)
        return ExportedModel(
            model=onnx_model,
            feeds={convert.INPUT_NAME: matrix},
            framework_version=xgboost.__version__,
            label_outputs=("label",) if classifier else (),
            task="classification" if classifier else "regression",
            metadata={
                "converter": f"onnxmltools {onnxmltools.__version__}",
                "estimator": type(final).__name__,
                "objective": native.objective_of(final.get_booster()),
            },
        )

    def predict(self, model: Any, sample: Any, exported: ExportedModel) -> dict[str, np.ndarray]:
        estimator = as_estimator(model)
        matrix = exported.feeds.get(convert.INPUT_NAME)
        if matrix is None:
            matrix = feature_matrix(sample, convert.expected_features(estimator), "xgboost")
        return estimator_outputs(estimator, matrix, convert.is_classifier(estimator))

    def card_defaults(self, model: Any) -> dict[str, Any]:
        estimator = as_estimator(model)
        task = (
            "tabular-classification" if convert.is_classifier(estimator) else "tabular-regression"
        )
        return {
            "library": "xgboost",
            "task": task,
            "tags": ["xgboost", "gradient-boosting", "tabular"],
        }

    def conformance_cases(self) -> list[ConformanceCase]:
        from onnxhub_xgboost import cases

        return cases.conformance_cases()
