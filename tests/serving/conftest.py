"""Fixtures for the serving layer: real sessions of a real scikit-learn model."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def logreg_onnx(logreg) -> tuple[bytes, np.ndarray]:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    model, X = logreg
    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, 4]))],
        options={id(model): {"zipmap": False}},
        target_opset=17,
    )
    return onx.SerializeToString(), X
