"""scikit-learn estimator -> ONNX with skl2onnx, and the estimator's own outputs for parity.

Exports are tensors only (``zipmap=False``), take a dynamic batch dimension, and are
byte-reproducible: the graph is named after the estimator class instead of a random uuid.
Output names are skl2onnx's: ``label`` and ``probabilities`` for classifiers, ``variable`` for
regressors and transformers, ``label`` and ``scores`` for clusterers.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from hub.errors import ExportFailed, InvalidInput, first_line
from hub.families import graph_inputs
from hub_plugins.sklearn.sample import InputGroup, framework_matrix

FAMILY = "sklearn"

_CLASS_IN_MESSAGE = re.compile(r"<class '([\w.]+)'>")
_ZIPMAP_REFUSED = re.compile(r"Option 'zipmap' not in .* for class '(\w+)'")


def final_estimator(model: Any) -> Any:
    """The last step of a (possibly nested) Pipeline, or the model itself."""
    while hasattr(model, "steps") and model.steps:
        model = model.steps[-1][1]
    return model


def first_step(model: Any) -> Any:
    """The first step of a (possibly nested) Pipeline, or the model itself."""
    while hasattr(model, "steps") and model.steps:
        model = model.steps[0][1]
    return model


def check_multi_input(model: Any, groups: list[InputGroup]) -> None:
    """Several inputs need a ColumnTransformer to route their columns; refuse them otherwise."""
    from sklearn.compose import ColumnTransformer

    if len(groups) > 1 and not isinstance(first_step(model), ColumnTransformer):
        names = ", ".join(g.name for g in groups)
        raise InvalidInput(
            f"a sample of several column groups ({names}) needs a ColumnTransformer as the "
            f"first step; {type(model).__name__} takes one 2-D array"
        )


def check_fitted(model: Any) -> None:
    """InvalidInput naming the class when ``model`` has not been fitted."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except NotFittedError:
        raise InvalidInput(
            f"the {type(model).__name__} is not fitted; fit it before publishing"
        ) from None
    except TypeError as exc:  # not an estimator at all
        raise InvalidInput(
            f"{type(model).__name__} is not a scikit-learn estimator: {exc}"
        ) from None


def resolve_opset(opset: int | None) -> int:
    """The ai.onnx opset to target: the hub default, or the caller's if both libraries run it."""
    from skl2onnx import get_latest_tested_opset_version

    from hub.families import DEFAULT_OPSET, runtime_limits

    if opset is None:
        return DEFAULT_OPSET
    newest = min(runtime_limits()[1], get_latest_tested_opset_version())
    if not 9 <= opset <= newest:
        raise InvalidInput(
            f"opset {opset} is out of range for the {FAMILY} family (9 to {newest} with the "
            "installed skl2onnx and onnxruntime)"
        )
    return opset


def _initial_types(groups: list[InputGroup]) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    kinds = {"float": FloatTensorType, "string": StringTensorType}
    return [(g.name, kinds[g.kind]([None, g.width])) for g in groups]


def _export_failure(model: Any, exc: Exception) -> ExportFailed:
    from skl2onnx.common.exceptions import MissingConverter, MissingShapeCalculator

    text = str(exc).strip()
    found = _CLASS_IN_MESSAGE.search(text)
    culprit = found.group(1).rsplit(".", 1)[-1] if found else type(model).__name__
    if isinstance(exc, (MissingShapeCalculator, MissingConverter)):
        import skl2onnx

        where = "" if culprit == type(model).__name__ else f" (inside {type(model).__name__})"
        return ExportFailed(
            f"the {FAMILY} family cannot export {culprit}{where}: skl2onnx {skl2onnx.__version__} "
            "has no converter for it"
        )
    return ExportFailed(
        f"the {FAMILY} family could not export {type(model).__name__}: "
        f"{type(exc).__name__}: {first_line(exc)}"
    )


def convert(model: Any, groups: list[InputGroup], opset: int) -> Any:
    """The ONNX ModelProto of ``model`` for inputs shaped like ``groups``.

    ``zipmap=False`` is asked of the final classifier; a classifier whose converter has no such
    option (LinearSVC...) already outputs tensors and is converted without it.
    """
    from skl2onnx import convert_sklearn
    from sklearn.base import is_classifier

    last = final_estimator(model)
    options: dict[Any, Any] = {id(last): {"zipmap": False}} if is_classifier(last) else {}
    name = type(model).__name__
    for _ in range(2):
        try:
            return convert_sklearn(
                model,
                name=name,
                initial_types=_initial_types(groups),
                target_opset=opset,
                options=options or None,
            )
        except NameError as exc:
            if options and _ZIPMAP_REFUSED.search(str(exc)):
                options = {}
                continue
            raise _export_failure(model, exc) from None
        except Exception as exc:
            raise _export_failure(model, exc) from None
    raise ExportFailed(f"the {FAMILY} family could not export {name}")  # pragma: no cover


def _output_ranks(onnx_model: Any) -> dict[str, int]:
    return {o.name: len(o.type.tensor_type.shape.dim) for o in onnx_model.graph.output}


def _raw_output(model: Any, name: str, X: np.ndarray) -> np.ndarray | None:
    from sklearn.base import is_regressor

    if name == "label":
        return model.predict(X)
    if name == "probabilities":
        if hasattr(model, "predict_proba"):
            return model.predict_proba(X)
        if hasattr(model, "decision_function"):
            return model.decision_function(X)
        return None
    if name == "variable":
        if is_regressor(model) or not hasattr(model, "transform"):
            return model.predict(X)
        return model.transform(X)
    if name == "scores" and hasattr(model, "transform"):
        return model.transform(X)
    return None


def framework_outputs(
    model: Any, feeds: dict[str, np.ndarray], onnx_model: Any
) -> dict[str, np.ndarray]:
    """The estimator's outputs on the feeds, keyed and shaped like the ONNX outputs.

    ``label``/``variable`` come from ``predict``, ``probabilities`` from ``predict_proba`` (or
    ``decision_function`` for classifiers without it), ``scores`` from ``transform``. Outputs the
    estimator has no counterpart for are left out of the comparison.
    """
    names = [v.name for v in graph_inputs(onnx_model)]
    X = framework_matrix(feeds, names)
    rows = X.shape[0]
    outputs: dict[str, np.ndarray] = {}
    for name, rank in _output_ranks(onnx_model).items():
        value = _raw_output(model, name, X)
        if value is None:
            continue
        value = np.asarray(value)
        if rank >= 2 and value.size % rows == 0:
            value = value.reshape(rows, -1)
        elif rank == 1 and value.size == rows:
            value = value.reshape(rows)
        outputs[name] = value
    return outputs
