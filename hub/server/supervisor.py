"""``onnxhub serve --workers N``: N server processes sharing one port.

Each worker is a complete ``onnxhub serve`` (its own runtime, loaded models and catalog
follower) started as a child process with the same options, binding the port with
``SO_REUSEPORT``: the kernel spreads new connections over the workers. The supervisor (this
process) imports neither onnxruntime nor the server; it

- brings the catalog up to date once (so that N workers never race to migrate it),
- starts the workers, each told its index and a shared folder for its metrics
  (:mod:`hub.server.worker_metrics`),
- forwards SIGTERM/SIGINT to every worker, which then drains as a single server does, and
  waits for them all (SIGKILL after the drain deadline plus a grace period),
- restarts a worker that dies on its own, unless it died within :data:`START_SECONDS` of its
  start with an error (a setting or port problem every restart would repeat): then every
  worker is stopped and the supervisor exits with that worker's code.

Workers die with the supervisor (``PR_SET_PDEATHSIG`` on Linux), so a ``kill -9`` of the
supervisor does not leave them serving.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: A worker failing within this many seconds of its start stops the whole server.
START_SECONDS = 10.0
#: The most workers the default (usable cores) gives.
DEFAULT_CAP = 8


def default_workers() -> int:
    """The usable cores (this process's CPU affinity), at most :data:`DEFAULT_CAP`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, DEFAULT_CAP))


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies (Linux prctl)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen
    started: float = field(default_factory=time.monotonic)


class Supervisor:
    """Runs ``count`` workers, each ``worker_command(index, metrics_dir)``."""

    def __init__(self, count: int, worker_args: list[str], stop_timeout: float) -> None:
        self.count = count
        self.worker_args = worker_args  # the serve options every worker gets
        self.stop_timeout = stop_timeout
        self.metrics_dir = tempfile.mkdtemp(prefix="onnxhub-workers-")
        self._workers: dict[int, _Worker] = {}
        self._stopping = False

    def _command(self, index: int) -> list[str]:
        return [
            sys.executable,
            "-c",
            "from hub.cli.main import cli; cli()",
            "serve",
            *self.worker_args,
            "--workers",
            "1",
            "--worker-index",
            str(index),
            "--worker-dir",
            self.metrics_dir,
        ]

    def _start(self, index: int) -> None:
        process = subprocess.Popen(
            self._command(index),
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self._workers[index] = _Worker(index, process)
        log.info("worker %d started (pid %d)", index, process.pid)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if not self._stopping:
            log.info("stopping %d workers (signal %d)", len(self._workers), signum)
        self._stopping = True
        for worker in self._workers.values():
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Serve until a signal; returns the exit code (the worst of the workers')."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            for index in range(self.count):
                self._start(index)
            code = self._watch()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self._stop_all()
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        return code

    def _watch(self) -> int:
        while not self._stopping:
            time.sleep(0.2)
            for index, worker in list(self._workers.items()):
                returncode = worker.process.poll()
                if returncode is None or self._stopping:
                    continue
                lived = time.monotonic() - worker.started
                if returncode != 0 and lived < START_SECONDS:
                    log.error(
                        "worker %d exited with %d %.1f s after its start; stopping all",
                        index,
                        returncode,
                        lived,
                    )
                    self._on_signal(signal.SIGTERM, None)
                    self._wait_all()
                    return returncode
                log.warning("worker %d exited with %d; restarting it", index, returncode)
                self._start(index)
        return self._wait_all()

    def _wait_all(self) -> int:
        deadline = time.monotonic() + self.stop_timeout
        worst = 0
        for worker in self._workers.values():
            try:
                code = worker.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker %d did not stop in time; killing it", worker.index)
                worker.process.kill()
                code = worker.process.wait()
            # A worker ended by the signal it was sent has stopped as asked.
            if code not in (0, -signal.SIGTERM, -signal.SIGINT):
                worst = worst or (code if code > 0 else 1)
        return worst

    def _stop_all(self) -> None:
        for worker in self._workers.values():
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()
