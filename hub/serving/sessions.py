"""One loaded model version: its onnxruntime session, signature, executor and warm-up."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field, fields, replace

import numpy as np
import onnxruntime as ort

from hub.catalog.records import ModelPath, VersionInfo
from hub.errors import InvalidInput, Unavailable, first_line
from hub.onnx.datatypes import ORT_TYPE_TO_V2, V2_TO_NUMPY
from hub.onnx.deadline import RunGuard, RunTimedOut, run_with_time_limit
from hub.onnx.sessions import make_session
from hub.onnx.signature import TensorSpec, as_dims
from hub.onnx.watchdog import watchdog
from hub.serving.inline import (
    INLINE_STOP_SECONDS,
    INLINE_STOP_SHARE_TO_DEMOTE,
    INLINE_STOPS_TO_DEMOTE,
    TIMING_STOP_SECONDS,
    InlinePlan,
    InlineTimings,
    handoff_probe,
    plan_inline,
    replan_on_loop,
)
from hub.serving.memory import load_cost, resident_bytes
from hub.serving.workers import WorkerThreads
from hub.settings import ServingOptions, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EffectiveServingOptions:
    """The serving knobs in force for one loaded model, every level applied: the
    ``ONNXHUB_*`` settings, then the version's card ``serving:`` block, then
    ``ONNXHUB_MODEL_OPTIONS`` for its name (each a :class:`hub.settings.ServingOptions`)."""

    max_batch_size: int
    max_batch_time: float
    max_queue: int
    run_concurrency: int
    run_timeout: float = 0.0  # seconds per onnxruntime run before it is terminated (0: none)

    @classmethod
    def from_settings(cls, settings: Settings) -> "EffectiveServingOptions":
        """The lowest level: each field from the setting of the same name."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})

    def override(self, options: ServingOptions | None) -> "EffectiveServingOptions":
        """These knobs with the fields ``options`` sets (validated when it was decoded)."""
        if options is None:
            return self
        return replace(self, **options.as_dict())


@dataclass
class InputSlot:
    """What the server checks an input against: V2 datatype, numpy dtype, declared shape."""

    name: str
    datatype: str
    dtype: np.dtype
    shape: tuple[int, ...]


@dataclass
class LoadedModel:
    """A warm session for one version, with its own bounded executor.

    ``active`` counts requests holding this model, so a swapped-out or evicted model is closed
    only once they have all finished.
    """

    info: VersionInfo
    session: ort.InferenceSession
    executor: WorkerThreads
    options: EffectiveServingOptions
    inputs: dict[str, InputSlot]
    outputs: list[TensorSpec]
    providers: list[str]
    size: int
    batchable: bool
    active: int = 0
    closed: bool = False
    inline: InlinePlan | None = None  # runs of at most inline.max_rows rows go on the loop
    inline_runs: int = 0
    inline_stops: int = 0
    inline_timings: InlineTimings | None = None  # measured at load (None: not measured)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _runs: set[RunGuard] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, int]:
        return (self.info.model, self.info.version)

    @functools.cached_property
    def output_names(self) -> list[str]:
        """Every output's name, in the graph's order (worked out once; do not mutate)."""
        return [o.name for o in self.outputs]

    @functools.cached_property
    def dynamic_batch_inputs(self) -> bool:
        """Whether every input's first dimension is dynamic (worked out once)."""
        return all(len(s.shape) >= 1 and s.shape[0] == -1 for s in self.inputs.values())

    def run(
        self,
        feeds: dict[str, np.ndarray],
        output_names: list[str],
        run_options: ort.RunOptions | None = None,
    ) -> list[np.ndarray]:
        """Blocking run; call it on ``executor``, never on the event loop."""
        return self.session.run(output_names, feeds, run_options)

    def run_blocking(
        self, feeds: dict[str, np.ndarray], output_names: list[str]
    ) -> list[np.ndarray]:
        """One run on the calling (worker) thread, ended by the process watchdog at the
        model's ``run_timeout`` (RunTimedOut, 504) or by :meth:`terminate_runs` (Unavailable,
        503); other errors of the run propagate unchanged."""
        guard = RunGuard()
        timeout = self.options.run_timeout
        dog = watchdog() if timeout > 0 else None
        self._runs.add(guard)
        if dog is not None:
            dog.watch(guard, timeout, f"took more than {timeout:g} s")
        try:
            return self.run(feeds, output_names, guard.options)
        except Exception:
            if guard.reason is None:
                raise
            if dog is not None and guard.reason.startswith("took more than"):
                raise RunTimedOut(
                    f"{self.info.ref}: the run {guard.reason} (run_timeout) and was stopped"
                ) from None
            raise Unavailable(
                f"{self.info.ref}: the run was stopped: {guard.reason}", retry_after=1
            ) from None
        finally:
            if dog is not None:
                dog.unwatch(guard)
            self._runs.discard(guard)

    def run_inline(
        self, feeds: dict[str, np.ndarray], output_names: list[str]
    ) -> list[np.ndarray] | None:
        """The run on the calling (event loop) thread; None when it was stopped after
        :data:`INLINE_STOP_SECONDS` (the caller runs it on the thread). After
        :data:`INLINE_STOPS_TO_DEMOTE` such stops, if they are more than
        :data:`INLINE_STOP_SHARE_TO_DEMOTE` of the inline runs, the model runs on its thread
        for good: a rare stop is the machine preempting a tiny run, frequent ones the model."""
        guard = RunGuard()
        dog = watchdog()
        dog.watch(guard, INLINE_STOP_SECONDS, "inline run stopped")
        try:
            result = self.session.run(output_names, feeds, guard.options)
        except Exception:
            if guard.reason is None:
                raise
            self.inline_stops += 1
            demoted = (
                self.inline_stops >= INLINE_STOPS_TO_DEMOTE
                and self.inline_stops > self.inline_runs * INLINE_STOP_SHARE_TO_DEMOTE
            )
            if demoted:
                self.inline = None
            log.warning(
                "%s: an inline run took more than %g s and runs again on its thread%s",
                self.info.ref,
                INLINE_STOP_SECONDS,
                " (so do all its runs from now on)" if demoted else "",
            )
            return None
        finally:
            dog.unwatch(guard)
        self.inline_runs += 1
        return result

    async def plan_inline_on_loop(self) -> None:
        """Decide inline runs again with the hand-off measured from the running event loop
        (what a request really pays; :func:`load_model` can only time it from a thread)."""
        if self.inline_timings is not None:
            rows = self.options.max_batch_size if self.batchable else 1
            self.inline = await replan_on_loop(
                self.inline_timings, self.executor, rows, self.info.ref
            )

    def terminate_runs(self, reason: str) -> int:
        """End every run in flight (from any thread); returns how many."""
        runs = list(self._runs)
        for guard in runs:
            guard.terminate(reason)
        return len(runs)

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
        # A caller may have gone away while its run goes on in a thread; wait for the run
        # (terminated by now) before the session goes.
        for _ in range(3000):
            if not self._runs:
                break
            await asyncio.sleep(0.01)
        else:
            log.warning("%s: closing with %d run(s) still going", self.info.ref, len(self._runs))
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.executor.shutdown()
        self.session = None  # drops onnxruntime's memory


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
    model: bytes | ModelPath,
    providers: list[str],
    intra_op_threads: int,
    options: EffectiveServingOptions,
    warmup_timeout: float = 0.0,
    inline_runs: bool = False,
    *,
    resident_before: int | None = None,
) -> LoadedModel:
    """Build the session and run one warm-up inference (blocking: call it in an executor).

    The warm-up is terminated after ``warmup_timeout`` seconds (0: no limit); a warm-up that
    fails or is stopped is logged in one line naming the version, which is served anyway.

    ``model`` is the serialized model or its verified local file (:class:`ModelPath`, from
    ``Hub.model_source``: onnxruntime reads it and keeps no copy; with ``mapped``, its
    external-data weights are memory-mapped). ``size`` is what the load really cost: resident
    memory grown from ``resident_before`` (read before the model was fetched, so that what
    fetching it kept counts too; default: read here) to after the warm-up, never less than
    the model's files.

    ``inline_runs``: after a good warm-up, time the model's runs against the hand-off to its
    worker thread and run small batches on the event loop where that is cheaper
    (:mod:`hub.serving.inline`).
    """
    before = resident_bytes() if resident_before is None else resident_before
    session = make_session(model, providers, intra_op_threads, label=info.ref)
    inputs: dict[str, InputSlot] = {}
    for arg in session.get_inputs():
        datatype = ORT_TYPE_TO_V2.get(arg.type)
        if datatype is None:
            raise InvalidInput(f"{info.ref}: input {arg.name!r} has unsupported type {arg.type}")
        dims = as_dims(arg.shape)
        inputs[arg.name] = InputSlot(arg.name, datatype, V2_TO_NUMPY[datatype], dims)
    outputs = [
        TensorSpec(arg.name, ORT_TYPE_TO_V2.get(arg.type, "BYTES"), as_dims(arg.shape))
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
        size=info.size or _file_size(model),
        batchable=batchable,
    )
    loaded._idle.set()
    # Warm-up on the model's own executor thread: onnxruntime allocates per-thread state lazily.
    feeds = warmup_feeds(inputs)
    label = f"{info.ref} warm-up"
    try:
        executor.run_sync(
            run_with_time_limit, session, loaded.output_names, feeds, warmup_timeout, label
        )
    except RunTimedOut as exc:
        log.warning("%s (ONNXHUB_WARMUP_TIMEOUT); serving without warm-up", exc.message)
    except Exception as exc:  # a model may reject all-zero input; it can still serve real data
        log.warning(
            "%s: warm-up run failed (%s); serving without warm-up", info.ref, first_line(exc)
        )
    else:
        if inline_runs:
            loaded.inline_timings, loaded.inline = plan_inline(
                lambda f: run_with_time_limit(
                    session, loaded.output_names, f, TIMING_STOP_SECONDS, label
                ),
                feeds,
                handoff_probe(executor),
                options.max_batch_size,
                batchable,
                info.ref,
            )
    loaded.size = load_cost(before, resident_bytes(), loaded.size)
    return loaded


def _file_size(model: bytes | ModelPath) -> int:
    return model.path.stat().st_size if isinstance(model, ModelPath) else len(model)
