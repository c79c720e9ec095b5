"""Arrays to onnxruntime feeds: the one place that checks input names, datatypes and shapes.

Every caller goes through here, so a wrong input reads the same wherever it is caught:

- the data plane (:func:`hub.serving.runtime.check_feeds`) checks decoded V2 request tensors
  with :func:`check_feeds`: exact datatype, rank and fixed dims, no unknown or missing input;
- :class:`hub.onnx.predictor.Predictor` (``hub.open``) and the ``onnx`` family turn a user's
  sample into feeds with :func:`to_feeds`: one array or a mapping of arrays, cast to each
  input's datatype and checked against its declared shape;
- export checking (:func:`hub.export.convert.convert_and_check`) checks a family's feeds with
  :func:`check_feeds` and runs them with :func:`run_session`, naming the family's export.

Specs are anything with ``name``, ``datatype`` (V2: ``FP32``, ``INT64``, ``BYTES``...) and
``shape`` (a tuple of ints, -1 for a dynamic dimension): :class:`hub.onnx.signature.TensorSpec`
and the data plane's input slots both qualify. ``label`` names the model in every message
(``iris:3``, ``the xgboost export``). Every refusal is :class:`hub.errors.InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from hub.errors import InvalidInput, first_line
from hub.onnx.datatypes import V2_TO_NUMPY, numpy_dtype


class InputSpec(Protocol):
    """One graph input: ``name``, V2 ``datatype``, ``shape`` with -1 for a dynamic dimension."""

    @property
    def name(self) -> str: ...

    @property
    def datatype(self) -> str: ...

    @property
    def shape(self) -> tuple[int, ...]: ...


Specs = Mapping[str, InputSpec] | Sequence[InputSpec]
#: What a caller passes: one array (single-input models) or arrays by input name.
Arrays = npt.ArrayLike | Mapping[str, npt.ArrayLike]


def _by_name(specs: Specs) -> Mapping[str, InputSpec]:
    if isinstance(specs, (dict, Mapping)):  # dict first: no ABC check
        return specs
    return {spec.name: spec for spec in specs}


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _plural(names: Sequence[str]) -> str:
    return "input" if len(names) == 1 else "inputs"


def unknown_inputs_error(unknown: Sequence[str], known: Sequence[str], label: str) -> InvalidInput:
    """``unknown input 'b' for LABEL (inputs: a, counts)``."""
    return InvalidInput(
        f"unknown {_plural(unknown)} {_quoted(unknown)} for {label} (inputs: {', '.join(known)})"
    )


def missing_inputs_error(missing: Sequence[str], known: Sequence[str], label: str) -> InvalidInput:
    """``missing input 'counts' for LABEL (inputs: a, counts)``."""
    return InvalidInput(
        f"missing {_plural(missing)} {_quoted(missing)} for {label} (inputs: {', '.join(known)})"
    )


def check_names(known: Sequence[str], given: Sequence[str], label: str) -> None:
    """Refuse names not in ``known`` (first), then names of ``known`` not given."""
    known_set = set(known)
    unknown = [str(n) for n in given if n not in known_set]
    if unknown:
        raise unknown_inputs_error(unknown, known, label)
    given_set = set(given)
    missing = [n for n in known if n not in given_set]
    if missing:
        raise missing_inputs_error(missing, known, label)


def shape_fits(dims: Sequence[int], shape: Sequence[int]) -> bool:
    """True when an array of ``shape`` fits declared ``dims`` (same rank; -1 takes any size)."""
    return len(shape) == len(dims) and all(d < 0 or d == s for d, s in zip(dims, shape))


def shape_error(spec: InputSpec, shape: Sequence[int], label: str) -> InvalidInput:
    """``input 'x' of LABEL has shape [2, 3], expected [-1, 4] (-1: any size): 4 features per
    row, not 3``; the part after the colon says which dimension is wrong."""
    dims = tuple(spec.shape)
    expected = "[" + ", ".join(str(d) for d in dims) + "]"
    message = (
        f"input {spec.name!r} of {label} has shape {list(shape)}, expected {expected} "
        "(-1: any size)"
    )
    if len(shape) != len(dims):
        reason = f"it takes {len(dims)}-D arrays"
    elif dims and dims[0] >= 0 and shape[0] != dims[0]:
        reason = f"its batch size is fixed at {dims[0]}"
    elif len(dims) == 2 and dims[1] >= 0 and shape[1] != dims[1]:
        reason = f"{dims[1]} features per row, not {shape[1]}"
    else:
        reason = ""
    return InvalidInput(f"{message}: {reason}" if reason else message)


def _datatype_fits(datatype: str, dtype: np.dtype) -> bool:
    if datatype == "BYTES":
        return dtype.kind in "OUS"
    return dtype == V2_TO_NUMPY.get(datatype)


def check_feeds(specs: Specs, feeds: Mapping[str, np.ndarray], *, label: str) -> None:
    """Refuse feeds onnxruntime would refuse: unknown or missing names, another datatype than
    the declared one (no casting: the caller decoded them as declared), a rank or fixed
    dimension that differs. Called on every inference request: cheap, no copies."""
    by_name = _by_name(specs)
    for name, array in feeds.items():
        spec = by_name.get(name)
        if spec is None:
            raise unknown_inputs_error([name], list(by_name), label)
        if not _datatype_fits(spec.datatype, array.dtype):
            raise InvalidInput(
                f"input {name!r} of {label} expects datatype {spec.datatype}, got {array.dtype}"
            )
        if not shape_fits(spec.shape, array.shape):
            raise shape_error(spec, array.shape, label)
    if len(feeds) != len(by_name):
        missing = [n for n in by_name if n not in feeds]
        raise missing_inputs_error(missing, list(by_name), label)


def name_arrays(specs: Specs, sample: Arrays, *, label: str) -> dict[str, Any]:
    """``sample`` (one array for a single-input model, else a mapping of input name to array)
    as a dict keyed by every input name, in the graph's order."""
    by_name = _by_name(specs)
    names = list(by_name)
    if isinstance(sample, Mapping):
        check_names(names, list(sample), label)
        return {name: sample[name] for name in names}
    if len(names) != 1:
        raise InvalidInput(
            f"{label} has {len(names)} inputs ({', '.join(names)}): pass a mapping of input "
            "name to array"
        )
    return {names[0]: sample}


def cast_array(spec: InputSpec, array: np.ndarray, *, label: str) -> np.ndarray:
    """``array`` in ``spec``'s datatype (strings become an object array for BYTES inputs)."""
    if spec.datatype == "BYTES":
        return array if array.dtype.kind == "O" else array.astype(str).astype(object)
    dtype = numpy_dtype(spec.datatype)
    if array.dtype.kind in "OUS":
        try:
            return array.astype(dtype)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"input {spec.name!r} of {label} expects {spec.datatype} values; got "
                f"{array.dtype} data that does not convert"
            ) from None
    return array.astype(dtype, copy=False)


def to_feeds(
    specs: Specs, sample: Arrays, *, label: str, add_batch: bool = False
) -> dict[str, np.ndarray]:
    """A user's sample as feeds: named (see :func:`name_arrays`), cast to each datatype, and
    checked against each declared shape (an input without a declared shape takes any).

    ``add_batch`` gives a leading batch axis to an array one dimension short of an input whose
    first dimension is dynamic: ``predict(row)`` for a single row.
    """
    by_name = _by_name(specs)
    feeds: dict[str, np.ndarray] = {}
    for name, value in name_arrays(by_name, sample, label=label).items():
        spec = by_name[name]
        try:
            array = np.asarray(value)
        except ValueError as exc:  # ragged nested lists
            raise InvalidInput(f"input {name!r} of {label}: {first_line(exc)}") from None
        dims = tuple(spec.shape)
        if add_batch and array.ndim >= 1 and len(dims) == array.ndim + 1 and dims[0] < 0:
            array = array[np.newaxis, ...]
        if dims and not shape_fits(dims, array.shape):
            raise shape_error(spec, array.shape, label)
        feeds[name] = cast_array(spec, array, label=label)
    return feeds


def run_session(
    session: Any,
    feeds: Mapping[str, np.ndarray],
    *,
    label: str,
    time_limit: float | None = None,
) -> dict[str, Any]:
    """Every output of ``session`` (an onnxruntime ``InferenceSession``) by name, for ``feeds``
    keyed by exactly the session's inputs; onnxruntime's own error becomes one line.

    The run is stopped after ``time_limit`` seconds (None: the enclosing
    :func:`hub.onnx.deadline.time_limit`, else the ``parity_timeout`` setting's default; 0: no
    limit) with :class:`hub.onnx.deadline.RunTimedOut` naming ``label``.
    """
    from hub.onnx.deadline import RunTimedOut, current_time_limit, run_with_time_limit
    from hub.settings import default

    names = [i.name for i in session.get_inputs()]
    check_names(names, list(feeds), label)
    seconds = time_limit if time_limit is not None else current_time_limit()
    if seconds is None:
        seconds = default("parity_timeout")
    try:
        results = run_with_time_limit(session, None, {n: feeds[n] for n in names}, seconds, label)
    except RunTimedOut as exc:
        raise RunTimedOut(f"{exc.message} (ONNXHUB_PARITY_TIMEOUT)") from None
    except Exception as exc:
        raise InvalidInput(
            f"onnxruntime cannot run {label} on these inputs: {first_line(exc)}"
        ) from None
    return {o.name: np.asarray(r) for o, r in zip(session.get_outputs(), results)}
