"""Reading sample inputs (held-out rows) from files: ``.npy``, ``.npz`` and ``.csv``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hub.errors import InvalidInput
from hub.families.types import SampleData


def _read_csv(path: Path) -> np.ndarray:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise InvalidInput(f"sample file {path.name} is empty")

    def numeric(row: list[str]) -> bool:
        try:
            [float(cell) for cell in row]
            return True
        except ValueError:
            return False

    if not numeric(rows[0]):
        rows = rows[1:]  # a header line
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise InvalidInput(
            f"sample file {path.name} has rows of different lengths {sorted(widths)}"
        )
    try:
        return np.array([[float(cell) for cell in row] for row in rows], dtype=np.float64)
    except ValueError as exc:
        raise InvalidInput(f"sample file {path.name} has a non-numeric cell: {exc}") from None


def load_sample(path: Path | str) -> SampleData:
    """One array (``.npy``, ``.csv``) or arrays by input name (``.npz``)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"sample file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidInput(f"cannot read sample file {path.name}: {exc}") from None
    if suffix == ".csv":
        return _read_csv(path)
    raise InvalidInput(f"sample file {path.name}: use .npy, .npz (one array per input) or .csv")


#: Rows of a synthetic sample, and the size given to its other dynamic dimensions.
SYNTHETIC_ROWS = 4
SYNTHETIC_DIM = 32
_WORDS = np.array(["good", "bad", "model", "onnx", "hub", "text", "the", "a"], dtype=object)


def synthetic_sample(inputs: Sequence[Any], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded made-up inputs for a graph's inputs (TensorSpec-like: ``name``, ``datatype``,
    ``shape`` with -1 for dynamic), for publishing an ONNX file without a sample.

    Every V2 datatype gets values: floats standard-normal, integers 0-3 (safe as indices and
    class ids), booleans at random, BYTES short words; the batch dimension gets
    :data:`SYNTHETIC_ROWS` rows, other dynamic dimensions :data:`SYNTHETIC_DIM`.
    """
    from hub.onnx.datatypes import numpy_dtype

    rng = np.random.default_rng(seed)
    sample: dict[str, np.ndarray] = {}
    for spec in inputs:
        shape = tuple(
            d if d >= 0 else (SYNTHETIC_ROWS if i == 0 else SYNTHETIC_DIM)
            for i, d in enumerate(spec.shape)
        )
        if spec.datatype == "BYTES":
            sample[spec.name] = rng.choice(_WORDS, size=shape)
        elif spec.datatype == "BOOL":
            sample[spec.name] = rng.random(shape) < 0.5
        elif spec.datatype.startswith(("INT", "UINT")):
            sample[spec.name] = rng.integers(0, 4, size=shape).astype(numpy_dtype(spec.datatype))
        else:
            sample[spec.name] = rng.standard_normal(shape).astype(numpy_dtype(spec.datatype))
    return sample
