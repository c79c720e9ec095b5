"""LightGBM to ONNX through skl2onnx with onnxmltools' tree converter.

onnxmltools' own ``convert_lightgbm`` stops at ai.onnx opset 15 and cannot see inside a scikit-learn
pipeline, so the converter is registered with skl2onnx instead: one path for bare estimators and
for pipelines that end in one.
"""

from __future__ import annotations

import functools
from typing import Any

from hub.families import convert_estimator, final_estimator


@functools.cache
def register_converters() -> None:
    """Teach skl2onnx the LightGBM estimators and Booster wrappers (once: a global table)."""
    import lightgbm
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    from onnxhub_lightgbm.booster import BoosterClassifier, BoosterRegressor

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    for cls in (lightgbm.LGBMClassifier, BoosterClassifier):
        update_registered_converter(
            cls,
            f"LightGbm{cls.__name__}",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options=classifier_options,
        )
    for cls in (lightgbm.LGBMRegressor, BoosterRegressor):
        update_registered_converter(
            cls,
            f"LightGbm{cls.__name__}",
            calculate_linear_regressor_output_shapes,
            convert_lightgbm,
        )


def is_lightgbm_estimator(model: Any) -> bool:
    """True for a LightGBM scikit-learn classifier or regressor, or a wrapped Booster."""
    import sys

    booster = sys.modules.get("onnxhub_lightgbm.booster")
    if booster is not None and isinstance(
        model, (booster.BoosterClassifier, booster.BoosterRegressor)
    ):
        return True
    lightgbm = sys.modules.get("lightgbm")
    return lightgbm is not None and isinstance(
        model, (lightgbm.LGBMClassifier, lightgbm.LGBMRegressor)
    )


def is_classifier(model: Any) -> bool:
    """True when the predicting estimator of ``model`` is a LightGBM classifier."""
    import lightgbm

    from onnxhub_lightgbm.booster import BoosterClassifier

    return isinstance(final_estimator(model), (lightgbm.LGBMClassifier, BoosterClassifier))


def to_onnx(model: Any, n_features: int, opset: int | None) -> Any:
    """Convert ``model`` (estimator or pipeline) to an ONNX ModelProto with a dynamic batch."""
    register_converters()
    return convert_estimator(
        model,
        graph_name=f"lightgbm_{type(final_estimator(model)).__name__}",
        n_features=n_features,
        classifier=is_classifier(model),
        opset=opset,
    )
