"""``onnxhub serve --workers 2``: two processes share the port, /metrics shows both, SIGTERM
stops them all."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import numpy as np
from onnx_graphs import scale_model, v2_input
from serve_process import ServeProcess, http

from hub.api import Hub
from hub.settings import Settings

X = np.arange(6, dtype=np.float32).reshape(2, 3)
BODY = {"inputs": [v2_input("x", X)]}


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(p) for p in text)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _requests_by_worker(url: str) -> dict[str, float]:
    status, text = http("GET", f"{url}/metrics")
    assert status == 200
    pattern = r'onnxhub_inference_requests_total\{model="s",worker="(\d+)"\} ([0-9.e+]+)'
    return {w: float(v) for w, v in re.findall(pattern, text)}


def test_two_workers_answer_and_sigterm_stops_both(tmp_path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    with Hub(Settings.for_home(home)) as hub:
        hub.publish(scale_model(2.0), name="s", sample=X)
    env = {"ONNXHUB_HOME": str(home), "ONNXHUB_WORKERS": "2"}
    server = ServeProcess.serve(env, tmp_path / "serve.log")
    try:
        server.wait_ready()
        deadline = time.monotonic() + 60
        while len(_children(server.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(server.process.pid)
        assert len(workers) == 2, server.output()
        # Each request on a new connection: the kernel spreads them over the workers that
        # listen (the second may still be starting when the first answers /ready).
        sent, counts = 0, {}
        while time.monotonic() < deadline:
            for _ in range(20):
                status, body = server.infer("s", BODY)
                assert status == 200, body
                out = np.array(body["outputs"][0]["data"]).reshape(2, 3)
                np.testing.assert_allclose(out, 2.0 * X)
                sent += 1
            time.sleep(1.5)  # each worker writes its metrics once a second
            counts = _requests_by_worker(server.url)
            if len(counts) == 2 and all(v > 0 for v in counts.values()):
                break
        assert set(counts) == {"0", "1"} and all(v > 0 for v in counts.values()), counts
        assert sum(counts.values()) == sent, (counts, sent)
        assert server.terminate() == 0, server.output()
        assert not any(_alive(pid) for pid in workers), server.output()
    finally:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()


def test_one_worker_is_a_single_process_without_the_worker_label(tmp_path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    with Hub(Settings.for_home(home)) as hub:
        hub.publish(scale_model(2.0), name="s", sample=X)
    server = ServeProcess.serve(
        {"ONNXHUB_HOME": str(home), "ONNXHUB_WORKERS": "1"}, tmp_path / "serve.log"
    )
    try:
        server.wait_ready()
        assert server.infer("s", BODY)[0] == 200
        assert _children(server.process.pid) == set()
        status, text = http("GET", f"{server.url}/metrics")
        assert 'onnxhub_inference_requests_total{model="s"} 1.0' in text
        assert "worker=" not in text
    finally:
        assert server.terminate() == 0
