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

Each raises :class:`AssertionError` with a message naming the family and what to change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from hub.export.convert import CheckedExport

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
