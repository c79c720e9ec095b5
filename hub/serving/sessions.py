"""One loaded model version: its onnxruntime session, signature, executor and warm-up."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import onnxruntime as ort

from hub.catalog.records import VersionInfo
from hub.errors import InvalidInput
from hub.onnx.datatypes import ORT_TYPE_TO_V2, V2_TO_NUMPY
from hub.onnx.sessions import make_session
from hub.onnx.signature import TensorSpec
from hub.serving.workers import WorkerThreads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServingOptions:
    """Per-model serving knobs; defaults come from Settings, a version's
    ``metadata["serving"]`` may override any of them."""

    max_batch_size: int
    max_batch_time: float
    max_queue: int
    run_concurrency: int

    def override(self, values: dict | None) -> "ServingOptions":
        if not values:
            return self
        known = {
            k: values[k]
            for k in ("max_batch_size", "max_batch_time", "max_queue", "run_concurrency")
            if k in values
        }
        try:
            return ServingOptions(
                max_batch_size=max(1, int(known.get("max_batch_size", self.max_batch_size))),
                max_batch_time=max(0.0, float(known.get("max_batch_time", self.max_batch_time))),
                max_queue=max(1, int(known.get("max_queue", self.max_queue))),
                run_concurrency=max(1, int(known.get("run_concurrency", self.run_concurrency))),
            )
        except (TypeError, ValueError):
            return self


#: Environment variable with per-model serving options, e.g. ``{"iris": {"max_batch_size": 8}}``.
MODEL_OPTIONS_ENV = "ONNXHUB_MODEL_OPTIONS"


def per_model_options(env: Mapping[str, str] | None = None) -> dict[str, dict]:
    """Per-model overrides of the serving knobs from ``ONNXHUB_MODEL_OPTIONS`` (JSON object of
    model name -> {max_batch_size, max_batch_time, max_queue, run_concurrency})."""
    raw = (os.environ if env is None else env).get(MODEL_OPTIONS_ENV, "").strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"{MODEL_OPTIONS_ENV} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
        raise InvalidInput(f"{MODEL_OPTIONS_ENV} must map model names to objects of options")
    return parsed


@dataclass
class InputSlot:
    """What the server checks an input against: V2 datatype, numpy dtype, declared shape."""

    name: str
    datatype: str
    dtype: np.dtype
    shape: tuple[int, ...]


def _shape(dims: list) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) and d >= 0 else -1 for d in dims)


@dataclass
class LoadedModel:
    """A warm session for one version, with its own bounded executor.

    ``active`` counts requests holding this model, so a swapped-out or evicted model is closed
    only once they have all finished.
    """

    info: VersionInfo
    session: ort.InferenceSession
    executor: WorkerThreads
    options: ServingOptions
    inputs: dict[str, InputSlot]
    outputs: list[TensorSpec]
    providers: list[str]
    size: int
    batchable: bool
    active: int = 0
    closed: bool = False
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def key(self) -> tuple[str, int]:
        return (self.info.model, self.info.version)

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    def run(self, feeds: dict[str, np.ndarray], output_names: list[str]) -> list[np.ndarray]:
        """Blocking run; call it on ``executor``, never on the event loop."""
        return self.session.run(output_names, feeds)

    def acquire(self) -> None:
        self.active += 1
        self._idle.clear()

    def release(self) -> None:
        self.active -= 1
        if self.active <= 0:
            self._idle.set()

    async def close_when_idle(self) -> None:
        """Close once no request holds the model any more (in-flight runs finish first)."""
        if self.active > 0:
            await self._idle.wait()
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.executor.shutdown()
        self.session = None  # type: ignore[assignment]  # drops onnxruntime's memory


def warmup_feeds(inputs: dict[str, InputSlot]) -> dict[str, np.ndarray]:
    """One zero-filled row per input: dynamic dims become 1."""
    feeds: dict[str, np.ndarray] = {}
    for slot in inputs.values():
        shape = tuple(1 if d < 0 else d for d in slot.shape)
        if slot.datatype == "BYTES":
            feeds[slot.name] = np.full(shape, "", dtype=object)
        else:
            feeds[slot.name] = np.zeros(shape, dtype=slot.dtype)
    return feeds


def load_model(
    info: VersionInfo,
    model_bytes: bytes,
    providers: list[str],
    intra_op_threads: int,
    options: ServingOptions,
) -> LoadedModel:
    """Build the session and run one warm-up inference (blocking: call it in an executor)."""
    session = make_session(model_bytes, providers, intra_op_threads, label=info.ref)
    inputs: dict[str, InputSlot] = {}
    for arg in session.get_inputs():
        datatype = ORT_TYPE_TO_V2.get(arg.type)
        if datatype is None:
            raise InvalidInput(f"{info.ref}: input {arg.name!r} has unsupported type {arg.type}")
        inputs[arg.name] = InputSlot(arg.name, datatype, V2_TO_NUMPY[datatype], _shape(arg.shape))
    outputs = [
        TensorSpec(arg.name, ORT_TYPE_TO_V2.get(arg.type, "BYTES"), _shape(arg.shape))
        for arg in session.get_outputs()
    ]
    batchable = (
        bool(inputs)
        and all(len(s.shape) >= 1 and s.shape[0] == -1 for s in inputs.values())
        and all(len(o.shape) >= 1 and o.shape[0] == -1 for o in outputs)
    )
    executor = WorkerThreads(options.run_concurrency, f"onnxhub-run-{info.model}")
    loaded = LoadedModel(
        info=info,
        session=session,
        executor=executor,
        options=options,
        inputs=inputs,
        outputs=outputs,
        providers=list(session.get_providers()),
        size=info.size or len(model_bytes),
        batchable=batchable,
    )
    loaded._idle.set()
    # Warm-up on the model's own executor thread: onnxruntime allocates per-thread state lazily.
    try:
        executor.run_sync(loaded.run, warmup_feeds(inputs), loaded.output_names)
    except Exception as exc:  # a model may reject all-zero input; it can still serve real data
        log.warning("%s: warm-up run failed (%s); serving without warm-up", info.ref, exc)
    return loaded
