"""Fixtures for the serving layer: real sessions of a real scikit-learn model."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from hub.records import TensorSpec, VersionInfo
from hub.serving.sessions import LoadedModel, ServingOptions, load_model


def version_info(model: str, version: int, size: int, **fields) -> VersionInfo:
    base = dict(
        model=model, version=version, family="sklearn", framework="scikit-learn",
        framework_version="test", opset=17, ir_version=10,
        inputs=(TensorSpec("input", "FP32", (-1, 4)),), outputs=(), sha256="0" * 64, size=size,
        parity=None, test_data_sha256=None, task=None, created_at=datetime.now(timezone.utc),
    )
    base.update(fields)
    return VersionInfo(**base)


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


def make_loaded(model_bytes: bytes, **options) -> LoadedModel:
    opts = ServingOptions(max_batch_size=32, max_batch_time=0.002, max_queue=64, run_concurrency=1)
    opts = opts.override(options)
    info = version_info("iris", 1, len(model_bytes))
    return load_model(info, model_bytes, ["CPUExecutionProvider"], 1, opts)
