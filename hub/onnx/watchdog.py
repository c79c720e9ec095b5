"""One watchdog thread per process that ends onnxruntime runs past their deadline.

A ``threading.Timer`` per run starts (and ends) a thread each time, which costs more than a
small model's whole run. Here a run is registered in a dict under a lock (about a
microsecond) and one daemon thread sleeps until the earliest deadline, calling
:meth:`hub.onnx.deadline.RunGuard.terminate` on the runs past theirs.

A registration wakes the thread only when its deadline comes before the thread's next look.
While runs keep being registered, the thread also looks every half of the shortest limit
registered lately (5 ms for the serving's 10 ms inline runs), so that a stream of short
runs does not wake it once per run; after :data:`IDLE_AFTER` seconds without registrations
it sleeps until the next one.
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Protocol

#: Seconds without registrations after which the thread sleeps until the next one.
IDLE_AFTER = 1.0


class Terminable(Protocol):
    def terminate(self, reason: str) -> None: ...


class Watchdog:
    """Calls ``guard.terminate(reason)`` once ``time.monotonic()`` passes a guard's deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._active: dict[Terminable, tuple[float, str]] = {}
        self._next_look = math.inf  # when the thread looks next (inf: when woken)
        self._shortest = math.inf  # the shortest limit registered since the thread went idle
        self._registered = False  # any registration since the thread's last look
        self._thread: threading.Thread | None = None

    def watch(self, guard: Terminable, seconds: float, reason: str) -> None:
        """End ``guard`` ``seconds`` from now (``reason`` given) unless :meth:`unwatch`-ed."""
        deadline = time.monotonic() + seconds
        with self._lock:
            self._active[guard] = (deadline, reason)
            self._registered = True
            if seconds < self._shortest:
                self._shortest = seconds
            if deadline < self._next_look:
                self._next_look = deadline
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="onnxhub-run-watchdog", daemon=True
                    )
                    self._thread.start()
                else:
                    self._cond.notify()

    def unwatch(self, guard: Terminable) -> bool:
        """The run has ended: forget it. True: its deadline will never fire; False: it fired
        (the guard is or is about to be terminated) or it was not watched."""
        # dict.pop is atomic: whichever of this and the thread pops the guard owns it, so no
        # lock is needed (the thread terminates only guards it popped itself).
        return self._active.pop(guard, None) is not None

    @property
    def watched(self) -> int:
        return len(self._active)

    def _run(self) -> None:
        last_busy = time.monotonic()
        with self._lock:
            while True:
                now = time.monotonic()
                earliest = math.inf
                for guard, (deadline, reason) in list(self._active.items()):
                    if now >= deadline:
                        if self._active.pop(guard, None) is not None:
                            guard.terminate(reason)
                    elif deadline < earliest:
                        earliest = deadline
                if self._registered or self._active:
                    self._registered = False
                    last_busy = now
                if now - last_busy < IDLE_AFTER:
                    earliest = min(earliest, now + self._shortest / 2)
                elif not self._active:
                    self._shortest = math.inf
                self._next_look = earliest
                self._cond.wait(None if earliest == math.inf else max(earliest - now, 0.0))

    def _forget_thread(self) -> None:
        """In a forked child: the parent's thread is not there; the next watch starts one."""
        self.__init__()  # type: ignore[misc]


_WATCHDOG = Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG._forget_thread)


def watchdog() -> Watchdog:
    """The process's watchdog (its thread starts with the first watched run)."""
    return _WATCHDOG
