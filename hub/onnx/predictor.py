"""``hub.open``: a catalogued version as a ready onnxruntime predictor."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from hub.catalog.records import VersionInfo
from hub.errors import InvalidInput, first_line
from hub.onnx.datatypes import numpy_dtype
from hub.onnx.deadline import RunGuard, RunTimedOut, current_time_limit
from hub.onnx.feeds import Arrays, run_session, to_feeds
from hub.onnx.watchdog import watchdog
from hub.settings import default


class Predictor:
    """Runs one model version through onnxruntime.

    ``predict(X)`` takes one array (single-input models) or a mapping of input name to array,
    casts to the graph's datatypes and returns every output by name.

    Everything that does not depend on the call (input and output names, the single input's
    dtype and fixed dimensions) is worked out here, once: a single-input model given an array
    already in its dtype and shape goes straight to onnxruntime, with the same checks and the
    same run time limit as the general path (:func:`hub.onnx.feeds.run_session`).
    """

    def __init__(self, version: VersionInfo, session: ort.InferenceSession) -> None:
        self.version = version
        self.session = session
        self._label = version.ref
        self._output_names = [o.name for o in session.get_outputs()]
        self._default_limit: float = default("parity_timeout")
        self._guards: list[RunGuard] = []  # reusable RunOptions (never a terminated one)
        # (name, dtype, rank, ((axis, size), ...) for fixed axes): the fast path's checks.
        self._single: tuple[str, np.dtype, int, tuple[tuple[int, int], ...]] | None = None
        session_inputs = [i.name for i in session.get_inputs()]
        if len(version.inputs) == 1 and session_inputs == [version.inputs[0].name]:
            spec = version.inputs[0]
            if spec.datatype != "BYTES" and spec.shape:
                dims = tuple(spec.shape)
                fixed = tuple((axis, d) for axis, d in enumerate(dims) if d >= 0)
                self._single = (spec.name, numpy_dtype(spec.datatype), len(dims), fixed)

    @property
    def providers(self) -> list[str]:
        """The execution providers the session really got."""
        return list(self.session.get_providers())

    def predict(self, inputs: Arrays) -> dict[str, np.ndarray]:
        """Outputs by name for ``inputs``: one array (single-input models; a single row gets
        its batch dimension) or a mapping of input name to array, cast to the graph's
        datatypes (see :func:`hub.onnx.feeds.to_feeds`)."""
        single = self._single
        if single is not None and type(inputs) is np.ndarray:
            name, dtype, rank, fixed = single
            shape = inputs.shape
            if (
                inputs.dtype == dtype
                and len(shape) == rank
                and all(shape[axis] == size for axis, size in fixed)
            ):
                return self._run({name: inputs})
        label = self._label
        feeds = to_feeds(self.version.inputs, inputs, label=label, add_batch=True)
        return run_session(self.session, feeds, label=label)

    __call__ = predict

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``run_session`` for feeds already checked: same limit, same errors."""
        seconds = current_time_limit()
        if seconds is None:
            seconds = self._default_limit
        guards = self._guards
        try:
            guard = guards.pop()
        except IndexError:
            guard = RunGuard()
        dog = watchdog()
        if seconds > 0:
            dog.watch(guard, seconds, "took too long")
        try:
            results = self.session.run(self._output_names, feeds, guard.options)
        except Exception as exc:
            if guard.terminated:
                raise RunTimedOut(
                    f"{self._label}: an onnxruntime run took more than {seconds:g} s and was "
                    "stopped (ONNXHUB_PARITY_TIMEOUT)"
                ) from None
            raise InvalidInput(
                f"onnxruntime cannot run {self._label} on these inputs: {first_line(exc)}"
            ) from None
        finally:
            if (dog.unwatch(guard) or seconds <= 0) and not guard.terminated:
                guards.append(guard)
        return {
            name: value if type(value) is np.ndarray else np.asarray(value)
            for name, value in zip(self._output_names, results)
        }
