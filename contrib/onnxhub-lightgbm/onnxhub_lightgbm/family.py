"""The ``lightgbm`` family: LightGBM estimators, pipelines ending in one, Boosters, text files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from hub import ConformanceCase, ExportedModel, FamilyInfo, FamilyPlugin
from hub.errors import ExportFailed, InvalidInput
from hub.tabular import estimator_outputs, feature_matrix, missing_distributions
from onnxhub_lightgbm import convert, native

#: pip distribution for each module the family needs, for the install hint.
_REQUIREMENTS = {
    "lightgbm": "lightgbm",
    "onnxmltools": "onnxmltools",
    "skl2onnx": "skl2onnx",
    "sklearn": "scikit-learn",
}
#: Claim score for LightGBM objects: above the scikit-learn family's generic 10.
SPECIFIC_SCORE = 50
FILE_SCORE = 100


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


def _is_booster(model: Any) -> bool:
    lightgbm = sys.modules.get("lightgbm")
    return lightgbm is not None and isinstance(model, lightgbm.Booster)


def as_estimator(model: Any) -> Any:
    """The estimator form of ``model``: a Booster is wrapped; anything else is returned as is."""
    return native.wrap_booster(model, "the Booster") if _is_booster(model) else model


class LightGBMFamily(FamilyPlugin):
    """Exports LGBMClassifier / LGBMRegressor (also inside a scikit-learn Pipeline) to ONNX.

    Classifiers get outputs ``label`` (the classes' own type: int64 or string) and
    ``probabilities`` (float32, no ZipMap); regressors get ``variable``: the names the
    scikit-learn family uses.
    """

    def __init__(self) -> None:
        self.info = _family_info()

    # -- claiming and loading ------------------------------------------------------------
    def claim(self, model: Any) -> int | None:
        if isinstance(model, Path):
            return FILE_SCORE if native.looks_like_lightgbm_file(model) else None
        if _is_booster(model) or convert.is_lightgbm_estimator(convert.final_estimator(model)):
            return SPECIFIC_SCORE
        return None

    def load(self, path: Path) -> Any:
        return native.load_native(path)

    # -- export and parity ---------------------------------------------------------------
    def export(self, model: Any, sample: Any, opset: int | None) -> ExportedModel:
        import lightgbm
        import onnxmltools

        estimator = as_estimator(model)
        final = convert.final_estimator(estimator)
        if not convert.is_lightgbm_estimator(final):
            raise ExportFailed(
                f"the lightgbm family exports LGBMClassifier and LGBMRegressor models "
                f"(or pipelines ending in one, or Boosters), not {type(final).__name__}"
            )
        try:
            objective = str(final.objective_)
        except Exception:
            raise InvalidInput(
                f"the {type(final).__name__} is not fitted; train it first"
            ) from None
        matrix = feature_matrix(sample, convert.expected_features(estimator), "lightgbm")
        onnx_model = convert.to_onnx(estimator, matrix.shape[1], opset)
        classifier = convert.is_classifier(estimator)
        return ExportedModel(
            model=onnx_model,
            feeds={convert.INPUT_NAME: matrix},
            framework_version=lightgbm.__version__,
            label_outputs=("label",) if classifier else (),
            task="classification" if classifier else "regression",
            metadata={
                "converter": f"onnxmltools {onnxmltools.__version__}",
                "estimator": type(final).__name__,
                "objective": objective,
            },
        )

    def predict(self, model: Any, sample: Any, exported: ExportedModel) -> dict[str, np.ndarray]:
        estimator = as_estimator(model)
        matrix = exported.feeds.get(convert.INPUT_NAME)
        if matrix is None:
            matrix = feature_matrix(sample, convert.expected_features(estimator), "lightgbm")
        return estimator_outputs(estimator, matrix, convert.is_classifier(estimator))

    def card_defaults(self, model: Any) -> dict[str, Any]:
        estimator = as_estimator(model)
        task = (
            "tabular-classification" if convert.is_classifier(estimator) else "tabular-regression"
        )
        return {
            "library": "lightgbm",
            "task": task,
            "tags": ["lightgbm", "gradient-boosting", "tabular"],
        }

    def conformance_cases(self) -> list[ConformanceCase]:
        from onnxhub_lightgbm import cases

        return cases.conformance_cases()
