"""Helpers for the community tests: exported models ready to upload, auth headers, forms."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np


@dataclass(frozen=True)
class Export:
    """An exported scikit-learn model: ONNX bytes, its test data, rows and sklearn's answers."""

    model_bytes: bytes
    test_data: bytes
    X: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray | None
    label_outputs: tuple[str, ...]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def model_form(
    export: Export,
    *,
    test_data: bool = True,
    card: str | None = None,
    contribution: dict[str, Any] | None = None,
    **metadata: Any,
) -> aiohttp.FormData:
    meta = {
        "task": "tabular-classification",
        "label_outputs": list(export.label_outputs),
        "family": "sklearn",
        "framework": "scikit-learn",
        "library": "sklearn",
        **metadata,
    }
    form = aiohttp.FormData()
    form.add_field(
        "model", export.model_bytes, filename="model.onnx", content_type="application/octet-stream"
    )
    if test_data:
        form.add_field("test_data", export.test_data, filename="test_data.npz")
    if card is not None:
        form.add_field("card", card, content_type="text/markdown")
    form.add_field("metadata", json.dumps(meta), content_type="application/json")
    if contribution is not None:
        form.add_field("contribution", json.dumps(contribution), content_type="application/json")
    return form
