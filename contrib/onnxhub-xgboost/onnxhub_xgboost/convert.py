"""XGBoost to ONNX through skl2onnx with onnxmltools' tree converter.

onnxmltools' own ``convert_xgboost`` stops at ai.onnx opset 15 and cannot see inside a scikit-learn
pipeline, so the converter is registered with skl2onnx instead: one path for bare estimators and
for pipelines that end in one.
"""

from __future__ import annotations

import functools
from typing import Any

from hub.families import convert_estimator, final_estimator


@functools.cache
def register_converters() -> None:
    """Teach skl2onnx the XGBoost estimators (once per process; skl2onnx keeps a global table)."""
    import xgboost
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    for cls in (xgboost.XGBClassifier, xgboost.XGBRFClassifier):
        update_registered_converter(
            cls,
            f"XGBoost{cls.__name__}",
            calculate_linear_classifier_output_shapes,
            convert_xgboost,
            options=classifier_options,
        )
    for cls in (xgboost.XGBRegressor, xgboost.XGBRFRegressor):
        update_registered_converter(
            cls, f"XGBoost{cls.__name__}", calculate_linear_regressor_output_shapes, convert_xgboost
        )


def is_xgboost_estimator(model: Any) -> bool:
    """True for an XGBoost scikit-learn classifier or regressor (not a ranker)."""
    import sys

    xgboost = sys.modules.get("xgboost")
    if xgboost is None:
        return False
    return isinstance(model, (xgboost.XGBClassifier, xgboost.XGBRegressor))


def is_classifier(model: Any) -> bool:
    """True when the predicting estimator of ``model`` is an XGBoost classifier."""
    import xgboost

    return isinstance(final_estimator(model), xgboost.XGBClassifier)


def to_onnx(model: Any, n_features: int, opset: int | None) -> Any:
    """Convert ``model`` (estimator or pipeline) to an ONNX ModelProto with a dynamic batch."""
    register_converters()
    return convert_estimator(
        model,
        graph_name=f"xgboost_{type(final_estimator(model)).__name__}",
        n_features=n_features,
        classifier=is_classifier(model),
        opset=opset,
    )
