"""XGBoost to ONNX through skl2onnx with onnxmltools' tree converter.

onnxmltools' own ``convert_xgboost`` stops at ai.onnx opset 15 and cannot see inside a scikit-learn
pipeline, so the converter is registered with skl2onnx instead: one path for bare estimators and
for pipelines that end in one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from hub import DEFAULT_OPSET
from hub.errors import ExportFailed, InvalidInput

#: ai.onnx.ml opset of the TreeEnsemble operators the converter emits.
ML_OPSET = 3
INPUT_NAME = "input"


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


def final_estimator(model: Any) -> Any:
    """The estimator that predicts: the last step of a pipeline, or the model itself."""
    pipeline = _pipeline_module()
    while pipeline is not None and isinstance(model, pipeline.Pipeline):
        model = model.steps[-1][1]
    return model


def _pipeline_module() -> Any:
    import sys

    return sys.modules.get("sklearn.pipeline")


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


def expected_features(model: Any) -> int | None:
    """How many feature columns ``model`` was trained on, when it says."""
    try:
        count = getattr(model, "n_features_in_", None)
    except Exception:  # an unfitted or file-loaded wrapper may raise instead of lacking it
        return None
    return int(count) if count is not None else None


def feature_matrix(sample: Any, expected: int | None) -> np.ndarray:
    """The sample as a 2-D float32 matrix with the model's feature count, or InvalidInput."""
    if isinstance(sample, Mapping):
        raise InvalidInput(
            "the xgboost family takes one 2-D array of feature rows, not a mapping of inputs"
        )
    try:
        matrix = np.asarray(sample, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the sample is not numeric feature rows: {exc}") from None
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise InvalidInput(
            "the sample must be a non-empty 2-D array (rows, features); "
            f"got shape {list(matrix.shape)}"
        )
    if expected is not None and matrix.shape[1] != expected:
        raise InvalidInput(
            f"the sample has {matrix.shape[1]} features per row but the model expects {expected}"
        )
    return matrix


def to_onnx(model: Any, n_features: int, opset: int | None) -> Any:
    """Convert ``model`` (estimator or pipeline) to an ONNX ModelProto with a dynamic batch."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    register_converters()
    final = final_estimator(model)
    options = {id(final): {"zipmap": False}} if is_classifier(model) else None
    try:
        onnx_model = convert_sklearn(
            model,
            name=f"xgboost_{type(final).__name__}",
            initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
            target_opset={"": opset or DEFAULT_OPSET, "ai.onnx.ml": ML_OPSET},
            options=options,
        )
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportFailed(
            f"cannot convert {type(model).__name__} to ONNX: {type(exc).__name__}: {message}"
        ) from None
    _dedupe_opsets(onnx_model)
    return onnx_model


def _dedupe_opsets(onnx_model: Any) -> None:
    # skl2onnx may import the default domain twice when a foreign converter adds nodes.
    seen: dict[str, int] = {}
    for opset in onnx_model.opset_import:
        seen[opset.domain] = max(seen.get(opset.domain, 0), opset.version)
    del onnx_model.opset_import[:]
    for domain, version in seen.items():
        entry = onnx_model.opset_import.add()
        entry.domain, entry.version = domain, version
