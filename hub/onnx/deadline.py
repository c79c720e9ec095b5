"""onnxruntime runs with a time limit, enforced with ``RunOptions.terminate``.

A graph can run for as long as its inputs say (a Loop whose trip count comes from the request,
or a constant 10**15): onnxruntime checks the terminate flag between nodes, Loop iterations
included, and then fails the run. :class:`RunGuard` owns one run's flag; whoever holds it
(a timer, an unload, the shutdown) can end the run and say why.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator, Sequence

import numpy as np
import onnxruntime as ort

from hub.errors import HubError
from hub.onnx.watchdog import watchdog


class RunTimedOut(HubError):
    """A run passed its time limit and was terminated (504 over HTTP)."""

    status = 504


class RunGuard:
    """One run's ``RunOptions`` and, once it has been ended, the reason."""

    __slots__ = ("options", "reason")

    def __init__(self) -> None:
        self.options = ort.RunOptions()
        self.reason: str | None = None

    def terminate(self, reason: str) -> None:
        """End the run (from any thread); the first reason given is kept."""
        if self.reason is None:
            self.reason = reason
        self.options.terminate = True

    @property
    def terminated(self) -> bool:
        return self.reason is not None


def run_with_time_limit(
    session: ort.InferenceSession,
    output_names: Sequence[str] | None,
    feeds: dict[str, np.ndarray],
    seconds: float,
    label: str,
) -> list[Any]:
    """``session.run`` ended after ``seconds`` (0: no limit); blocking.

    Raises :class:`RunTimedOut` naming ``label`` when the limit ended it; other errors of the
    run propagate unchanged.
    """
    if seconds <= 0:
        return session.run(output_names, feeds)
    guard = RunGuard()
    dog = watchdog()
    dog.watch(guard, seconds, f"took more than {seconds:g} s")
    try:
        return session.run(output_names, feeds, guard.options)
    except Exception:
        if guard.terminated:
            raise RunTimedOut(
                f"{label}: an onnxruntime run took more than {seconds:g} s and was stopped"
            ) from None
        raise
    finally:
        dog.unwatch(guard)


_TIME_LIMIT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "onnxhub_run_time_limit", default=None
)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Within the block, runs made through :func:`hub.onnx.feeds.run_session` without their own
    limit stop after ``seconds`` (``Hub.export`` sets ``Settings.parity_timeout`` this way, so
    every export check it calls is covered without passing the limit through each one)."""
    token = _TIME_LIMIT.set(seconds)
    try:
        yield
    finally:
        _TIME_LIMIT.reset(token)


def current_time_limit() -> float | None:
    """The limit set by the innermost :func:`time_limit` block, or None."""
    return _TIME_LIMIT.get()
