"""Parity: compare an ONNX export's outputs with the framework's own, and keep the test data."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, cast

import numpy as np

from hub.settings import default as setting_default

INPUT_PREFIX = "input:"
OUTPUT_PREFIX = "output:"


@dataclass(frozen=True)
class Tolerance:
    """Limits a parity report must meet: absolute/relative error and label mismatch fraction."""

    atol: float = setting_default("parity_atol")
    rtol: float = setting_default("parity_rtol")
    max_label_mismatch: float = setting_default("parity_max_label_mismatch")


@dataclass(frozen=True)
class OutputParity:
    """Figures for one output: max abs/rel error (numeric) or label mismatch fraction."""

    name: str
    kind: str  # "numeric" or "label"
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    label_mismatch: float | None = None
    passed: bool = True
    detail: str | None = None


@dataclass(frozen=True)
class ParityReport:
    """ONNX vs framework on the sample rows, per output, and whether it met the tolerance."""

    rows: int
    tolerance: Tolerance
    outputs: tuple[OutputParity, ...] = field(default_factory=tuple)
    #: The batch sizes the export was run and compared at (the sample's, then a larger one).
    batch_sizes: tuple[int, ...] = ()

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs)

    def failures(self) -> list[OutputParity]:
        return [o for o in self.outputs if not o.passed]

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "passed": self.passed,
            "tolerance": asdict(self.tolerance),
            "outputs": [asdict(o) for o in self.outputs],
            "batch_sizes": list(self.batch_sizes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ParityReport":
        return cls(
            rows=int(data["rows"]),
            tolerance=Tolerance(**data["tolerance"]),
            outputs=tuple(OutputParity(**o) for o in data["outputs"]),
            batch_sizes=tuple(int(n) for n in data.get("batch_sizes", ())),
        )

    def summary(self) -> str:
        """One line per output, as ``show`` and ``check`` print it."""
        sizes = " and ".join(str(n) for n in self.batch_sizes) if self.batch_sizes else self.rows
        lines = [f"parity on {sizes} rows: {'PASSED' if self.passed else 'FAILED'}"]
        for o in self.outputs:
            if o.kind == "label":
                figures = f"label mismatch {o.label_mismatch:.4%}"
            else:
                figures = f"max abs {o.max_abs_error:.3g}, max rel {o.max_rel_error:.3g}"
            flag = "ok" if o.passed else "FAIL"
            extra = f" ({o.detail})" if o.detail else ""
            lines.append(f"  {o.name}: {figures} [{flag}]{extra}")
        return "\n".join(lines)


def _compare_numeric(name: str, got: np.ndarray, want: np.ndarray, tol: Tolerance) -> OutputParity:
    got64 = np.asarray(got, dtype=np.float64)
    want64 = np.asarray(want, dtype=np.float64)
    if got64.size == 0:
        return OutputParity(name, "numeric", 0.0, 0.0)
    abs_err = np.abs(got64 - want64)
    rel_err = abs_err / np.maximum(np.abs(want64), np.finfo(np.float64).tiny)
    nan_mismatch = bool(np.any(np.isnan(got64) != np.isnan(want64)))
    abs_err = np.where(np.isnan(got64) & np.isnan(want64), 0.0, abs_err)
    rel_err = np.where(abs_err == 0.0, 0.0, rel_err)
    max_abs = float(np.nanmax(abs_err))
    max_rel = float(np.nanmax(rel_err))
    ok = (not nan_mismatch) and bool(np.all(abs_err <= tol.atol + tol.rtol * np.abs(want64)))
    return OutputParity(
        name,
        "numeric",
        max_abs,
        max_rel,
        passed=ok,
        detail="NaN mismatch" if nan_mismatch else None,
    )


def _compare_labels(name: str, got: np.ndarray, want: np.ndarray, tol: Tolerance) -> OutputParity:
    got_flat = np.asarray(got).reshape(len(got), -1) if np.asarray(got).ndim else np.asarray([got])
    want_flat = (
        np.asarray(want).reshape(len(want), -1) if np.asarray(want).ndim else np.asarray([want])
    )
    if got_flat.dtype.kind in "OUS" or want_flat.dtype.kind in "OUS":
        got_flat, want_flat = got_flat.astype(str), want_flat.astype(str)
    rows_differ = (
        np.any(got_flat != want_flat, axis=-1) if got_flat.ndim > 1 else got_flat != want_flat
    )
    mismatch = float(np.mean(rows_differ)) if rows_differ.size else 0.0
    return OutputParity(
        name, "label", label_mismatch=mismatch, passed=mismatch <= tol.max_label_mismatch
    )


def compare_outputs(
    onnx_outputs: Mapping[str, np.ndarray],
    framework_outputs: Mapping[str, np.ndarray],
    label_outputs: tuple[str, ...] | list[str],
    tolerance: Tolerance,
) -> ParityReport:
    """Compare each framework output with the ONNX output of the same name.

    An output the framework reports that ONNX lacks, or any shape disagreement (``[n, 1]``
    against ``[n]`` too: clients receive the ONNX shape), fails that output.
    """
    results: list[OutputParity] = []
    rows = 0
    for name, want in framework_outputs.items():
        want = np.asarray(want)
        rows = max(rows, int(want.shape[0]) if want.ndim else 1)
        if name not in onnx_outputs:
            results.append(
                OutputParity(name, "numeric", passed=False, detail="missing from ONNX outputs")
            )
            continue
        got = np.asarray(onnx_outputs[name])
        if got.shape != want.shape:
            results.append(
                OutputParity(
                    name,
                    "numeric",
                    passed=False,
                    detail=f"shape {list(got.shape)} from ONNX, {list(want.shape)} from framework",
                )
            )
            continue
        if name in label_outputs or want.dtype.kind in "OUSb":
            results.append(_compare_labels(name, got, want, tolerance))
        else:
            results.append(_compare_numeric(name, got, want, tolerance))
    return ParityReport(rows=rows, tolerance=tolerance, outputs=tuple(results))


def pack_test_data(feeds: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray]) -> bytes:
    """One ``.npz`` with ``input:<name>`` and ``output:<name>`` arrays (a test data set).

    String tensors (BYTES: object arrays of ``str``/``bytes``) are stored as numpy text/bytes
    arrays, since a test data set is read without unpickling; :func:`unpack_test_data`
    turns them back into object arrays.
    """
    buffer = io.BytesIO()
    arrays = {INPUT_PREFIX + k: _storable(v) for k, v in feeds.items()}
    arrays.update({OUTPUT_PREFIX + k: _storable(v) for k, v in expected.items()})
    np.savez_compressed(buffer, **cast(dict[str, Any], arrays))
    return buffer.getvalue()


def unpack_test_data(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Inverse of :func:`pack_test_data`: (feeds, expected outputs)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        feeds = {
            k[len(INPUT_PREFIX) :]: _loaded(npz[k]) for k in npz.files if k.startswith(INPUT_PREFIX)
        }
        expected = {
            k[len(OUTPUT_PREFIX) :]: _loaded(npz[k])
            for k in npz.files
            if k.startswith(OUTPUT_PREFIX)
        }
    return feeds, expected


def _storable(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object:
        flat = array.ravel()
        if all(isinstance(v, bytes) for v in flat):
            return array.astype(np.bytes_)
        return array.astype(np.str_)
    return array


def _loaded(array: np.ndarray) -> np.ndarray:
    return array.astype(object) if array.dtype.kind in "US" else array
