"""Helpers for families whose models are scikit-learn-compatible estimators on one feature matrix.

Public API for plugins (the gradient-boosting contrib families use it): checking a sample as a
2-D float32 matrix, and converting through skl2onnx with the converters a family registered,
classifiers without ZipMap, a dynamic batch dimension and one default-domain opset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hub.errors import ExportFailed, InvalidInput, first_line
from hub.onnx.versions import DEFAULT_OPSET

#: Input name of every single-matrix export.
INPUT_NAME = "input"
#: ai.onnx.ml opset of the TreeEnsemble operators (onnxruntime runs 3 everywhere).
ML_OPSET = 3


def final_estimator(model: Any) -> Any:
    """The estimator that predicts: the last step of a (nested) Pipeline, or the model itself."""
    import sys

    pipeline = sys.modules.get("sklearn.pipeline")
    while pipeline is not None and isinstance(model, pipeline.Pipeline):
        model = model.steps[-1][1]
    return model


def expected_features(model: Any) -> int | None:
    """How many feature columns ``model`` was trained on, when it says."""
    try:
        count = getattr(model, "n_features_in_", None)
    except Exception:  # an unfitted or file-loaded wrapper may raise instead of lacking it
        return None
    return int(count) if count is not None else None


def feature_matrix(sample: Any, expected: int | None, family: str) -> np.ndarray:
    """The sample as a non-empty 2-D float32 matrix with ``expected`` columns, or InvalidInput."""
    if isinstance(sample, Mapping):
        raise InvalidInput(
            f"the {family} family takes one 2-D array of feature rows, not a mapping of inputs"
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


def convert_estimator(
    model: Any, *, graph_name: str, n_features: int, classifier: bool, opset: int | None
) -> Any:
    """skl2onnx conversion of ``model`` (estimator or pipeline) to a ModelProto.

    The family registers its converters with skl2onnx first. Classifiers get ``zipmap=False``,
    so probabilities are a tensor; a conversion error becomes one ExportFailed line.
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    final = final_estimator(model)
    try:
        onnx_model = convert_sklearn(
            model,
            name=graph_name,
            initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
            target_opset={"": opset or DEFAULT_OPSET, "ai.onnx.ml": ML_OPSET},
            options={id(final): {"zipmap": False}} if classifier else None,
        )
    except Exception as exc:
        message = first_line(exc)
        raise ExportFailed(
            f"cannot convert {type(model).__name__} to ONNX: {type(exc).__name__}: {message}"
        ) from None
    _merge_opset_imports(onnx_model)
    return onnx_model


def _merge_opset_imports(onnx_model: Any) -> None:
    # skl2onnx may import the default domain twice when a foreign converter adds nodes.
    seen: dict[str, int] = {}
    for entry in onnx_model.opset_import:
        seen[entry.domain] = max(seen.get(entry.domain, 0), entry.version)
    del onnx_model.opset_import[:]
    for domain, version in seen.items():
        entry = onnx_model.opset_import.add()
        entry.domain, entry.version = domain, version


def estimator_outputs(
    estimator: Any, matrix: np.ndarray, classifier: bool
) -> dict[str, np.ndarray]:
    """The framework's own outputs under the ONNX names: ``label`` and ``probabilities`` for a
    classifier, ``variable`` ([rows, targets]) for a regressor."""
    if classifier:
        return {
            "label": np.asarray(estimator.predict(matrix)),
            "probabilities": np.asarray(estimator.predict_proba(matrix)),
        }
    return {"variable": np.asarray(estimator.predict(matrix)).reshape(len(matrix), -1)}


def missing_distributions(requirements: Mapping[str, str]) -> list[str]:
    """The pip distributions (values) whose import modules (keys) are not installed.

    Uses ``importlib.util.find_spec``, so nothing heavy is imported to answer it.
    """
    import importlib.util

    return [
        dist for module, dist in requirements.items() if importlib.util.find_spec(module) is None
    ]
