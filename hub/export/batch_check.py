"""The export checked at a second batch size, and the signature the model really has.

A graph whose inputs declare a dynamic batch dimension promises that every output has one row
per input row, whatever the number of rows. An export checked only at the sample's size cannot
tell (a module that loops over its batch, traced on a 1-row example, answers 1 row for any
request), and a graph's declared output shapes may be wrong (skl2onnx declares ``[-1, 1]`` for
a 2-target regressor that returns ``[n, 2]``). So publishing runs the export at the sample's
``n`` rows and again at ``n + EXTRA_ROWS`` (the sample's rows cycled), and:

* refuses when an output does not follow the input rows (:func:`check_rows_follow`);
* compares with the framework at the second size too (or, without a framework, with the
  first run's rows: a row's outputs must not depend on its neighbours);
* stores the shapes observed on both runs where the graph's are missing or wrong
  (:func:`observed_signature`).
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from hub.errors import ExportFailed, InvalidInput
from hub.export.parity import ParityReport, Tolerance, compare_outputs
from hub.families.types import ExportedModel, SampleData
from hub.onnx.signature import TensorSpec

#: Rows the second check adds to the sample's (cycled from the sample itself).
EXTRA_ROWS = 3


@dataclass(frozen=True)
class SecondBatch:
    """The export run at ``rows`` (the sample's rows cycled by ``index``)."""

    rows: int
    index: np.ndarray
    feeds: dict[str, np.ndarray]
    sample: SampleData | None  # None when the sample's type cannot be grown (see take_rows)


def batch_rows(inputs: tuple[TensorSpec, ...], feeds: Mapping[str, np.ndarray]) -> int | None:
    """Rows of the inputs whose batch dimension is dynamic, or None (no such input, or they
    disagree: then the batch dimension is not one thing and the check does not apply)."""
    rows = {
        int(np.shape(feeds[spec.name])[0])
        for spec in inputs
        if spec.shape and spec.shape[0] == -1 and spec.name in feeds and np.ndim(feeds[spec.name])
    }
    return rows.pop() if len(rows) == 1 else None


def take_rows(value: Any, index: np.ndarray) -> Any:
    """``value`` with its rows (axis 0) taken at ``index``; None when its type has no rows.

    Handles numpy arrays and array-likes, torch tensors, pandas frames, mappings (one entry
    per input) and tuples (positional inputs).
    """
    if value is None or isinstance(value, (bool, numbers.Number, str, bytes)):
        return None
    if isinstance(value, Mapping):
        taken = {k: take_rows(v, index) for k, v in value.items()}
        return None if any(v is None for v in taken.values()) else taken
    if isinstance(value, tuple) or (
        isinstance(value, list) and value and all(_is_tensor_like(v) for v in value)
    ):
        taken_items = [take_rows(v, index) for v in value]
        return None if any(v is None for v in taken_items) else type(value)(taken_items)
    if hasattr(value, "iloc"):  # pandas
        return value.iloc[index].reset_index(drop=True)
    if type(value).__module__.startswith("torch"):
        import torch

        return value[torch.as_tensor(index, dtype=torch.long)]
    try:
        array = np.asarray(value)
    except Exception:
        return None
    if array.ndim == 0:
        return None
    return array[index]


def _is_tensor_like(value: Any) -> bool:
    return isinstance(value, np.ndarray) or type(value).__module__.startswith("torch")


def second_batch(
    inputs: tuple[TensorSpec, ...], exported: ExportedModel, sample: SampleData
) -> SecondBatch | None:
    """The feeds (and sample) at ``n + EXTRA_ROWS`` rows, or None when no input is batched."""
    rows = batch_rows(inputs, exported.feeds)
    if not rows:
        return None
    index = np.arange(rows + EXTRA_ROWS) % rows
    dynamic = {s.name for s in inputs if s.shape and s.shape[0] == -1}
    feeds = {
        name: (np.asarray(array)[index] if name in dynamic else array)
        for name, array in exported.feeds.items()
    }
    if exported.latent_input and exported.latent_input in feeds:
        grown: Any = feeds[exported.latent_input]  # a row count would draw other noise
    else:
        grown = take_rows(sample, index)
    return SecondBatch(rows + EXTRA_ROWS, index, feeds, grown)


def check_rows_follow(outputs: Mapping[str, np.ndarray], rows: int, label: str) -> None:
    """ExportFailed unless every output has ``rows`` rows (its first dimension)."""
    for name, array in outputs.items():
        shape = list(np.shape(array))
        if not shape or shape[0] != rows:
            raise ExportFailed(
                f"{label}: outputs do not follow the input rows: with {rows} input rows, output "
                f"{name!r} has shape {shape}. A model served with a dynamic batch must answer one "
                "row per input row (a loop over a traced example's batch is fixed at its size: "
                "export with dynamic shapes or vectorised code), or fix the inputs' batch "
                "dimension in the ONNX graph"
            )


def run_second_batch(
    run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
    second: SecondBatch | None,
    first_outputs: Mapping[str, np.ndarray],
    label: str,
) -> dict[str, np.ndarray] | None:
    """ONNX outputs at the second size (``run`` runs the session), after checking that the
    outputs follow the input rows at both sizes; None when there is no second size."""
    if second is None:
        return None
    check_rows_follow(first_outputs, len(second.index) - EXTRA_ROWS, label)
    try:
        outputs = run(second.feeds)
    except InvalidInput as exc:
        raise ExportFailed(
            f"{label} runs only at the sample's batch size: at {second.rows} rows {exc.message}"
        ) from None
    check_rows_follow(outputs, second.rows, label)
    return outputs


def compare_second_batch(
    predict: Callable[[SampleData, ExportedModel], dict[str, np.ndarray] | None],
    exported: ExportedModel,
    second: SecondBatch | None,
    outputs: Mapping[str, np.ndarray] | None,
    first_outputs: Mapping[str, np.ndarray],
    tolerance: Tolerance,
) -> ParityReport | None:
    """Parity at the second size: against the framework (``predict``) on the grown sample
    when it answers, else against the first run's outputs at the cycled rows (a row's outputs
    must not depend on the other rows of its batch)."""
    if second is None or outputs is None:
        return None
    reference: dict[str, np.ndarray] = {}
    if second.sample is not None:
        grown = dataclasses.replace(exported, feeds=second.feeds)
        reference = dict(predict(second.sample, grown) or {})
    if not reference:
        reference = {
            name: np.asarray(value)[second.index]
            for name, value in first_outputs.items()
            if np.ndim(value)
        }
    return compare_outputs(outputs, reference, exported.label_outputs, tolerance)


def merge_reports(first: ParityReport, second: ParityReport | None) -> ParityReport:
    """One report over both sizes: per output the worse figures, failing when either failed."""
    if second is None:
        return first
    by_name = {o.name: o for o in second.outputs}
    merged = []
    for item in first.outputs:
        other = by_name.pop(item.name, None)
        merged.append(item if other is None else _worse(item, other, second.rows))
    merged.extend(
        dataclasses.replace(o, detail=_at(o.detail, second.rows)) for o in by_name.values()
    )
    rows = second.rows - EXTRA_ROWS
    return dataclasses.replace(
        first, rows=rows, outputs=tuple(merged), batch_sizes=(rows, second.rows)
    )


def _at(detail: str | None, rows: int) -> str:
    return f"at {rows} rows: {detail}" if detail else f"at {rows} rows"


def _worse(a: Any, b: Any, rows: int) -> Any:
    def biggest(x: float | None, y: float | None) -> float | None:
        values = [v for v in (x, y) if v is not None]
        return max(values) if values else None

    detail = a.detail
    if not b.passed and a.passed:
        detail = _at(b.detail, rows)
    return dataclasses.replace(
        a,
        max_abs_error=biggest(a.max_abs_error, b.max_abs_error),
        max_rel_error=biggest(a.max_rel_error, b.max_rel_error),
        label_mismatch=biggest(a.label_mismatch, b.label_mismatch),
        passed=a.passed and b.passed,
        detail=detail,
    )


def observed_signature(
    inputs: tuple[TensorSpec, ...],
    declared: tuple[TensorSpec, ...],
    first: Mapping[str, np.ndarray],
    second: Mapping[str, np.ndarray] | None,
) -> tuple[TensorSpec, ...]:
    """Output specs as the model really answers: the graph's where right, else observed.

    A dimension that differs between the two runs is dynamic (-1). A declared fixed size that
    the runs contradict, or a declared rank that differs, is replaced by what was observed; an
    unknown (-1) non-batch size is filled in when every input's non-batch sizes are fixed (the
    output's are then determined), and kept dynamic otherwise.
    """
    determined = all(all(d >= 0 for d in s.shape[1:]) for s in inputs)
    specs = []
    for spec in declared:
        if spec.name not in first:
            specs.append(spec)
            continue
        seen = list(np.shape(first[spec.name]))
        if second is not None and spec.name in second:
            other = list(np.shape(second[spec.name]))
            if len(other) == len(seen):
                seen = [a if a == b else -1 for a, b in zip(seen, other)]
        elif seen and spec.shape[:1] == (-1,):
            seen[0] = -1
        if len(spec.shape) != len(seen):
            specs.append(dataclasses.replace(spec, shape=tuple(seen)))
            continue
        shape = []
        for index, (want, got) in enumerate(zip(spec.shape, seen)):
            if want >= 0 and want != got:
                shape.append(got)  # the graph's size is wrong
            elif want < 0 and index > 0 and determined:
                shape.append(got)
            else:
                shape.append(want)
        specs.append(dataclasses.replace(spec, shape=tuple(shape)))
    return tuple(specs)
