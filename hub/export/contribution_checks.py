"""The automated checks the server runs on a contributed model, each reported, none raising.

Unlike :func:`hub.export.received.check_received` (which stops at the first failure, because a
refused upload is not stored), a contribution is kept whatever its checks say so its author
and the owner can read why it cannot be approved. Every check yields ``{"name", "passed",
"detail"}``; a check that depends on an earlier one that failed fails with "skipped: ...".

Checks, in order: ``onnx_valid``, ``opset_supported``, ``self_contained``, ``size_limit`` (the
upload limit and the memory budget of loaded models), ``loads_in_onnxruntime``,
``signature_compatible`` (same input names, datatypes and ranks as the target version and at
least its outputs, unless the contribution calls the change out),
``test_data_parity`` (present, and re-run here within the tolerance), ``smoke_inference``
(one test row gives finite outputs of the declared outputs), ``not_duplicate`` (no existing
version of the model has the same bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import onnx
from onnx import ModelProto

from hub.errors import HubError, first_line
from hub.export.parity import ParityReport, Tolerance, compare_outputs
from hub.export.received import read_test_data, refuse_external_data
from hub.onnx.checks import ai_onnx_opset, parse_onnx_bytes
from hub.onnx.feeds import run_session
from hub.onnx.sessions import make_session, runtime_limits
from hub.onnx.signature import signature

CHECK_NAMES = (
    "onnx_valid",
    "opset_supported",
    "self_contained",
    "size_limit",
    "loads_in_onnxruntime",
    "signature_compatible",
    "test_data_parity",
    "smoke_inference",
    "not_duplicate",
)


@dataclass
class CheckOutcome:
    """What the checks found: the check list, and what a stored contribution keeps."""

    checks: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    opset: int | None = None
    ir_version: int | None = None
    parity: ParityReport | None = None
    signature_diff: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c["passed"] for c in self.checks)

    def add(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append({"name": name, "passed": bool(passed), "detail": detail})
        return passed

    def failed_names(self) -> list[str]:
        return [c["name"] for c in self.checks if not c["passed"]]


def signature_diff(
    target_inputs: Sequence[dict[str, Any]],
    target_outputs: Sequence[dict[str, Any]],
    inputs: Sequence[dict[str, Any]],
    outputs: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """What changed against the target: ``inputs_added``, ``inputs_removed``, ``inputs_changed``
    (datatype or rank), ``outputs_added``, ``outputs_removed``, ``outputs_changed``; each a list
    of names (changed: ``{"name", "before", "after"}`` with datatype and shape)."""
    diff: dict[str, Any] = {}
    for kind, before, after in (
        ("inputs", target_inputs, inputs),
        ("outputs", target_outputs, outputs),
    ):
        old = {t["name"]: t for t in before}
        new = {t["name"]: t for t in after}
        diff[f"{kind}_added"] = sorted(set(new) - set(old))
        diff[f"{kind}_removed"] = sorted(set(old) - set(new))
        changed = []
        for name in sorted(set(old) & set(new)):
            a, b = old[name], new[name]
            if a["datatype"] != b["datatype"] or len(a["shape"]) != len(b["shape"]):
                changed.append(
                    {
                        "name": name,
                        "before": {"datatype": a["datatype"], "shape": a["shape"]},
                        "after": {"datatype": b["datatype"], "shape": b["shape"]},
                    }
                )
        diff[f"{kind}_changed"] = changed
    return diff


def breaking_changes(diff: dict[str, Any]) -> list[str]:
    """The parts of a signature diff that break callers of the target version."""
    problems = []
    if diff.get("inputs_added"):
        problems.append(f"new inputs {', '.join(diff['inputs_added'])}")
    if diff.get("inputs_removed"):
        problems.append(f"inputs removed {', '.join(diff['inputs_removed'])}")
    for change in diff.get("inputs_changed", []):
        problems.append(f"input {change['name']} changed {change['before']} -> {change['after']}")
    if diff.get("outputs_removed"):
        problems.append(f"outputs removed {', '.join(diff['outputs_removed'])}")
    for change in diff.get("outputs_changed", []):
        problems.append(f"output {change['name']} changed {change['before']} -> {change['after']}")
    return problems


@dataclass(frozen=True)
class Target:
    """The version a contribution is compared with (``production``, else the latest)."""

    number: int
    inputs: tuple[dict[str, Any], ...]
    outputs: tuple[dict[str, Any], ...]


def _first_rows(feeds: dict[str, np.ndarray], rows: int = 1) -> dict[str, np.ndarray]:
    return {k: v[:rows] if v.ndim else v for k, v in feeds.items()}


def run_checks(
    model_bytes: bytes,
    test_data: bytes | None,
    *,
    tolerance: Tolerance,
    max_bytes: int,
    target: Target | None,
    existing_digests: Sequence[str],
    digest: str,
    label_outputs: Sequence[str] = (),
    signature_change: str | None = None,
) -> CheckOutcome:
    """Every check on a contributed model (see the module docstring); never raises for a fault
    of the contribution itself."""
    out = CheckOutcome()
    skipped = "skipped: the model could not be read"
    model: ModelProto | None = None
    contained = False
    try:
        model = parse_onnx_bytes(model_bytes, "the contributed model")
        onnx.checker.check_model(model, full_check=False)
        out.add("onnx_valid", True, "onnx.checker passes")
    except Exception as exc:
        out.add("onnx_valid", False, first_line(exc))
    if model is not None:
        max_ir, max_opset = runtime_limits()
        try:
            opset = ai_onnx_opset(model)
            out.opset, out.ir_version = opset, int(model.ir_version)
            ok = model.ir_version <= max_ir and opset <= max_opset
            out.add(
                "opset_supported",
                ok,
                f"IR {model.ir_version} (max {max_ir}), opset {opset} (max {max_opset})",
            )
        except HubError as exc:
            out.add("opset_supported", False, exc.message)
        try:
            refuse_external_data(model, "the contributed model")
            contained = out.add("self_contained", True, "no external data")
        except HubError as exc:
            out.add("self_contained", False, exc.message)
    else:
        out.add("opset_supported", False, skipped)
        out.add("self_contained", False, skipped)
    size = len(model_bytes)
    out.add("size_limit", size <= max_bytes, f"{size} bytes (limit {max_bytes})")

    session = None
    if model is not None and contained:
        try:
            out.inputs, out.outputs = ([t.to_json() for t in specs] for specs in signature(model))
            session = make_session(model_bytes, label="the contributed model")
            out.add("loads_in_onnxruntime", True, "onnxruntime creates a session")
        except HubError as exc:
            out.add("loads_in_onnxruntime", False, exc.message)
    else:
        out.add("loads_in_onnxruntime", False, skipped)

    _signature_check(out, session, target, signature_change)
    feeds = _parity_check(out, session, test_data, label_outputs, tolerance)
    _smoke_check(out, session, feeds)
    duplicate = digest in set(existing_digests)
    out.add(
        "not_duplicate",
        not duplicate,
        "the same bytes are already a version of this model" if duplicate else "new bytes",
    )
    return out


def _signature_check(
    out: CheckOutcome, session: Any, target: Target | None, signature_change: str | None
) -> None:
    if session is None:
        out.add("signature_compatible", False, "skipped: onnxruntime could not load the model")
        return
    if target is None:
        out.add("signature_compatible", True, "the model has no version to compare with yet")
        return
    out.signature_diff = signature_diff(target.inputs, target.outputs, out.inputs, out.outputs)
    problems = breaking_changes(out.signature_diff)
    if not problems:
        out.add("signature_compatible", True, f"compatible with version {target.number}")
    elif signature_change:
        out.add(
            "signature_compatible",
            True,
            f"changes from version {target.number} called out ({signature_change}): "
            + "; ".join(problems),
        )
    else:
        out.add(
            "signature_compatible",
            False,
            f"incompatible with version {target.number}: " + "; ".join(problems),
        )


def _parity_check(
    out: CheckOutcome,
    session: Any,
    test_data: bytes | None,
    label_outputs: Sequence[str],
    tolerance: Tolerance,
) -> dict[str, np.ndarray] | None:
    if test_data is None:
        out.add("test_data_parity", False, "no test data set was sent (part 'test_data')")
        return None
    try:
        feeds, expected = read_test_data(test_data)
    except HubError as exc:
        out.add("test_data_parity", False, exc.message)
        return None
    if session is None:
        out.add("test_data_parity", False, "skipped: onnxruntime could not load the model")
        return None
    try:
        got = run_session(session, feeds, label="the model with its test data")
    except HubError as exc:
        out.add("test_data_parity", False, exc.message)
        return None
    report = compare_outputs(got, expected, tuple(label_outputs), tolerance)
    out.parity = report
    out.add(
        "test_data_parity",
        report.passed,
        "; ".join(x.strip() for x in report.summary().splitlines()),
    )
    return feeds


def _smoke_check(out: CheckOutcome, session: Any, feeds: dict[str, np.ndarray] | None) -> None:
    if session is None or feeds is None:
        out.add("smoke_inference", False, "skipped: needs a loadable model and a test row")
        return
    from hub.onnx.deadline import current_time_limit, run_with_time_limit
    from hub.settings import default

    limit = current_time_limit()
    seconds = default("parity_timeout") if limit is None else limit
    try:  # a contribution may be a runaway graph: the run stops at the limit
        results = run_with_time_limit(
            session, None, _first_rows(feeds), seconds, "the contribution's smoke run"
        )
    except Exception as exc:
        out.add("smoke_inference", False, first_line(exc))
        return
    bad = [
        o.name
        for o, r in zip(session.get_outputs(), results)
        if np.asarray(r).dtype.kind in "fc" and not np.all(np.isfinite(r))
    ]
    if bad:
        out.add("smoke_inference", False, f"non-finite values in {', '.join(bad)}")
    else:
        shapes = ", ".join(
            f"{o.name} {list(np.asarray(r).shape)}" for o, r in zip(session.get_outputs(), results)
        )
        out.add("smoke_inference", True, f"one test row: {shapes}")
