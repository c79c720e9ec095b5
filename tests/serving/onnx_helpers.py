"""Loaded models for serving tests, built from the shared hand-made graphs."""

from __future__ import annotations

from datetime import datetime, timezone

from onnx_graphs import scale_model

from hub.catalog.records import VersionInfo
from hub.onnx.signature import TensorSpec
from hub.serving.sessions import EffectiveServingOptions, LoadedModel, load_model
from hub.settings import ServingOptions


def scale_model_bytes(factor: float, width: int = 3, batch: int | None = None) -> bytes:
    """The serialised :func:`onnx_graphs.scale_model`."""
    return scale_model(factor, width, batch).SerializeToString()


def version_info(model: str, version: int, size: int, **fields) -> VersionInfo:
    base = dict(
        model=model,
        version=version,
        family="sklearn",
        framework="scikit-learn",
        framework_version="test",
        opset=17,
        ir_version=10,
        inputs=(TensorSpec("input", "FP32", (-1, 4)),),
        outputs=(),
        sha256="0" * 64,
        size=size,
        parity=None,
        test_data_sha256=None,
        task=None,
        created_at=datetime.now(timezone.utc),
    )
    base.update(fields)
    return VersionInfo(**base)


def make_loaded(model_bytes: bytes, **options) -> LoadedModel:
    opts = EffectiveServingOptions(
        max_batch_size=32, max_batch_time=0.002, max_queue=64, run_concurrency=1
    ).override(ServingOptions(**options))
    info = version_info("iris", 1, len(model_bytes))
    return load_model(info, model_bytes, ["CPUExecutionProvider"], 1, opts)
