"""How a scikit-learn sample maps onto ONNX inputs, and back onto what the estimator sees.

Decision (there is no pandas here, so no DataFrame):

* a 2-D array ``[rows, features]`` becomes one ONNX input named ``input`` of shape
  ``[-1, features]``; a ``ColumnTransformer`` over column *indices* takes this form;
* a dict of ``name -> 2-D array`` (a 1-D array is one column) becomes one ONNX input per key, in
  the dict's order, each ``[-1, width]``. The estimator sees the arrays side by side
  (``numpy.hstack`` in that order), so a ``ColumnTransformer``'s integer columns count across
  the groups: ``{"num": 3 columns, "cat": 2 columns}`` gives columns 0-2 and 3-4. This is how a
  model with numeric and categorical (string) groups is served as two typed inputs.

Numeric and boolean data become float32 (the framework is then fed the same float32-rounded
values, so parity compares like with like); strings become ONNX string tensors. Column names
(``ColumnTransformer`` over strings) need a DataFrame and are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from hub.errors import InvalidInput

#: ONNX input name of a sample given as one 2-D array.
SINGLE_INPUT = "input"


@dataclass(frozen=True)
class InputGroup:
    """One ONNX input: its name, kind (``float`` or ``string``) and its rows as fed."""

    name: str
    kind: str
    values: np.ndarray

    @property
    def width(self) -> int:
        return int(self.values.shape[1])


def _as_group(name: str, raw: Any) -> InputGroup:
    try:
        array = np.asarray(raw)
    except Exception as exc:  # ragged lists and the like
        raise InvalidInput(f"sample {name!r} is not an array: {exc}") from None
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise InvalidInput(
            f"sample {name!r} must be 2-D [rows, features]; got shape {list(array.shape)}"
        )
    if array.shape[0] == 0:
        raise InvalidInput(f"sample {name!r} has no rows")
    if array.dtype.kind in "biuf":
        return InputGroup(name, "float", array.astype(np.float32))
    if array.dtype.kind in "US":
        return InputGroup(name, "string", array.astype(str).astype(object))
    if array.dtype.kind == "O":
        if all(isinstance(v, str) for v in array.ravel()):
            return InputGroup(name, "string", array)
        try:
            return InputGroup(name, "float", array.astype(np.float32))
        except (TypeError, ValueError):
            raise InvalidInput(
                f"sample {name!r} mixes strings and numbers; give it as a dict of column groups "
                "(numeric columns in one array, string columns in another)"
            ) from None
    raise InvalidInput(f"sample {name!r} has unsupported dtype {array.dtype}")


def sample_groups(sample: Any) -> list[InputGroup]:
    """The sample as ONNX input groups (see the module docstring for the two accepted forms)."""
    if sample is None:
        raise InvalidInput("a sample of held-out rows is required")
    if isinstance(sample, Mapping):
        if not sample:
            raise InvalidInput("the sample dict is empty")
        groups = [_as_group(str(name), values) for name, values in sample.items()]
    else:
        array = np.asarray(sample) if not isinstance(sample, np.ndarray) else sample
        if array.ndim != 2:
            raise InvalidInput(
                f"the sample must be 2-D [rows, features] (or a dict of column groups); "
                f"got shape {list(array.shape)}"
            )
        groups = [_as_group(SINGLE_INPUT, array)]
    rows = {g.values.shape[0] for g in groups}
    if len(rows) > 1:
        counts = ", ".join(f"{g.name}: {g.values.shape[0]}" for g in groups)
        raise InvalidInput(f"the sample's groups have different row counts ({counts})")
    return groups


def check_feature_count(model: Any, groups: list[InputGroup]) -> None:
    """InvalidInput when the sample's total width differs from the estimator's input width."""
    expected = getattr(model, "n_features_in_", None)
    got = sum(g.width for g in groups)
    if expected is not None and int(expected) != got:
        raise InvalidInput(f"sample has {got} features, the model expects {int(expected)}")


def framework_matrix(feeds: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
    """What the estimator sees: the feeds side by side, floats widened back to float64."""
    parts = [feeds[n] for n in names]
    if all(p.dtype.kind == "f" for p in parts):
        return np.hstack([p.astype(np.float64) for p in parts])
    return np.hstack(
        [p.astype(np.float64).astype(object) if p.dtype.kind == "f" else p for p in parts]
    )
