"""The conformance suite for model families, shipped with the hub (a pytest plugin).

Any family, in this repository or outside it, is proven by the same tests
(:mod:`hub.families.conformance`) on the tiny models it offers through
``onnxhub_conformance_cases``. Install the family (``pip install -e .``: its entry point must
be registered), then::

    pytest --pyargs hub.families.conformance --onnxhub-family catboost

``--onnxhub-family NAME`` (repeatable) restricts the suite to those families; without it every
installed family is run. A named family that is not installed, or offers no cases, fails the
run rather than passing with nothing tested. This module is registered as a pytest plugin
through the ``pytest11`` entry point of the ``onnxhub`` distribution, so the option exists
in every pytest session once onnxhub is installed; it imports nothing heavy.

The checks are plain functions too, for a family's own tests::

    from hub.families.testing import check_naming, check_versions

    check_naming(checked)    # checked = hub.families.convert_and_check(...)
    check_versions(checked)
    report = batch_parity(registry, checked, model, sample, rows=5)
    assert report.passed, report.summary()

Each raises :class:`AssertionError` with a message naming the family and what to change.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pytest

    from hub.export.convert import CheckedExport
    from hub.export.parity import ParityReport
    from hub.families.registry import FamilyRegistry
    from hub.families.types import SampleData

#: Input and output names: identifiers, so that every client (V2 JSON, tritonclient, Python
#: keyword arguments) can spell them.
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: The tabular convention (scikit-learn family names, see CONTRIBUTING.md): one float32
#: input ``input``; a classifier emitting class labels outputs ``label`` and ``probabilities``.
TABULAR_INPUT = "input"
LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
TABULAR_TASKS = ("tabular-classification", "tabular-regression", "classification", "regression")

OPTION = "--onnxhub-family"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--onnxhub-family NAME``: run the conformance suite for NAME only (repeatable)."""
    group = parser.getgroup("onnxhub", "onnxhub model families")
    group.addoption(
        OPTION,
        action="append",
        default=[],
        metavar="NAME",
        dest="onnxhub_family",
        help="run the onnxhub conformance suite (hub.families.conformance) for family NAME "
        "only; repeat for several. Default: every installed family.",
    )


def selected_families(config: pytest.Config) -> tuple[str, ...]:
    """The families named with ``--onnxhub-family`` (empty: all). Works without the plugin."""
    return tuple(config.getoption("onnxhub_family", default=None) or ())


def check_naming(checked: CheckedExport) -> None:
    """The export's names follow the project's conventions.

    Every input and output name is an identifier; ``label_outputs`` name real outputs; a
    classifier that emits ``label`` also emits ``probabilities`` as float32 ``[-1, classes]``;
    a tabular export with class labels takes one float32 input named ``input``.
    """
    family = checked.family
    names = [s.name for s in (*checked.inputs, *checked.outputs)]
    bad = [n for n in names if not NAME_PATTERN.match(n)]
    assert not bad, (
        f"family {family!r}: names {bad} are not identifiers ([A-Za-z_][A-Za-z0-9_]*); rename "
        "them (hub.families.normalize_onnx rename_inputs / rename_outputs)"
    )
    outputs = {s.name: s for s in checked.outputs}
    stray = [n for n in checked.exported.label_outputs if n not in outputs]
    assert not stray, f"family {family!r}: label_outputs {stray} are not outputs of the graph"
    if LABEL_OUTPUT not in checked.exported.label_outputs:
        return
    probabilities = outputs.get(PROBABILITIES_OUTPUT)
    assert probabilities is not None, (
        f"family {family!r}: a classifier emitting {LABEL_OUTPUT!r} must also emit "
        f"{PROBABILITIES_OUTPUT!r} (outputs: {sorted(outputs)})"
    )
    assert probabilities.datatype == "FP32" and len(probabilities.shape) == 2, (
        f"family {family!r}: {PROBABILITIES_OUTPUT!r} must be float32 [rows, classes], not "
        f"{probabilities.datatype} {list(probabilities.shape)} (a ZipMap? see normalize_onnx)"
    )
    task = checked.exported.task or checked.card_defaults.get("task")
    if task in TABULAR_TASKS and len(checked.inputs) == 1:
        (single,) = checked.inputs
        assert (single.name, single.datatype) == (TABULAR_INPUT, "FP32"), (
            f"family {family!r}: a tabular classifier takes one float32 input named "
            f"{TABULAR_INPUT!r}, not {single.name!r} ({single.datatype})"
        )


def check_versions(checked: CheckedExport, family_ir_version: int | None = None) -> None:
    """The export's IR version and opsets are ones the installed onnxruntime runs.

    ``family_ir_version`` is the IR version the family stamped (before the hub lowered it, if
    it did): it must not exceed what onnxruntime reads, nor be older than its opsets need. The
    default ``ai.onnx`` domain is imported, at an opset between
    :data:`hub.families.normalize.MIN_OPSET` and onnxruntime's newest.
    """
    import onnx

    from hub.families.normalize import MIN_OPSET
    from hub.onnx.sessions import runtime_limits

    family = checked.family
    max_ir, max_opset = runtime_limits()
    model = onnx.load_from_string(checked.model_bytes)
    stamped = checked.ir_version if family_ir_version is None else family_ir_version
    assert stamped <= max_ir, (
        f"family {family!r}: the export is stamped IR version {stamped}; onnxruntime reads "
        f"<= {max_ir}: set model.ir_version (hub.families.DEFAULT_IR_VERSION)"
    )
    needed = onnx.helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True)
    assert stamped >= needed, (
        f"family {family!r}: IR version {stamped} cannot carry its opsets (needs >= {needed}); "
        "hub.families.normalize_onnx raises it"
    )
    domains = {entry.domain for entry in model.opset_import}
    assert domains & {"", "ai.onnx"}, (
        f"family {family!r}: the export imports no ai.onnx opset; "
        "hub.families.normalize_onnx adds it"
    )
    assert MIN_OPSET <= checked.opset <= max_opset, (
        f"family {family!r}: ai.onnx opset {checked.opset} is outside what onnxruntime runs "
        f"({MIN_OPSET}..{max_opset})"
    )


def missing_families(
    requested: Sequence[str], installed: Sequence[str], offering: Any
) -> list[str]:
    """Messages for requested families that are not installed or offer no cases."""
    problems = []
    for name in requested:
        if name not in installed:
            known = ", ".join(sorted(installed)) or "none"
            problems.append(f"family {name!r} is not installed (installed: {known})")
        elif name not in offering:
            problems.append(
                f"family {name!r} offers no conformance cases (is its framework installed? "
                "does conformance_cases return any?)"
            )
    return problems


def take_rows(sample: Any, index: np.ndarray) -> Any:
    """``sample`` restricted to ``index`` rows, keeping its kind (array, mapping, frame, tensor)."""
    if isinstance(sample, Mapping):
        return {name: take_rows(value, index) for name, value in sample.items()}
    if hasattr(sample, "iloc"):
        return sample.iloc[index]
    try:
        return sample[index]
    except (TypeError, IndexError, KeyError):
        return np.asarray(sample)[index]


def sample_rows(checked: CheckedExport, sample: SampleData) -> Any:
    """The sample as rows: a generator's row count stands for the latent noise it was fed."""
    latent = checked.exported.latent_input
    if latent is not None and isinstance(sample, numbers.Integral):
        return checked.exported.feeds[latent]
    return sample


def row_count(checked: CheckedExport) -> int:
    """Rows in the export's feeds (the sample's rows as onnxruntime saw them)."""
    return int(next(iter(checked.exported.feeds.values())).shape[0])


def with_features(sample: Any, change: int) -> Any:
    """The sample with ``change`` (-1 or +1) features on its last axis; the first input of a
    mapping. None when the sample has no feature axis."""
    if isinstance(sample, Mapping):
        first = next(iter(sample))
        changed = with_features(sample[first], change)
        return None if changed is None else {**sample, first: changed}
    array = np.asarray(sample)
    if array.ndim < 2:
        return None
    if change < 0:
        return array[..., :-1]
    return np.concatenate([array, array[..., :1]], axis=-1)


def batch_parity(
    registry: FamilyRegistry,
    checked: CheckedExport,
    model: Any,
    sample: SampleData,
    rows: int,
) -> ParityReport:
    """onnxruntime against the framework on ``rows`` rows of the sample (cycled when it has
    fewer): both see the same feeds; every output must have ``rows`` rows."""
    import dataclasses

    import onnxruntime as ort

    from hub.export.parity import Tolerance, compare_outputs
    from hub.onnx.feeds import run_session

    family = checked.family
    index = np.arange(rows) % row_count(checked)
    feeds = {name: np.asarray(value)[index] for name, value in checked.exported.feeds.items()}
    exported = dataclasses.replace(checked.exported, feeds=feeds)
    session = ort.InferenceSession(checked.model_bytes, providers=["CPUExecutionProvider"])
    got = run_session(session, feeds, label=f"the {family} export")
    rows_in = take_rows(sample_rows(checked, sample), index)
    want = registry.framework_predict(family, model, rows_in, exported)
    assert want, f"family {family!r}: predict returned no framework outputs"
    for name, value in got.items():
        assert value.shape[:1] == (rows,), (
            f"family {family!r}: output {name!r} has shape {list(value.shape)} for {rows} rows"
        )
    return compare_outputs(got, want, checked.exported.label_outputs, Tolerance())
