"""The KServe runtime's container command, run here as KServe would run it, and the graceful
drain every manifest relies on: SIGTERM lets the request in flight finish, then exits 0."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx_graphs import slow_model, v2_input
from serve_process import ServeProcess, free_port, http

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_kserve_runtime_command_publishes_the_storage_model_and_drains_on_sigterm(
    tmp_path: Path,
) -> None:
    runtime = yaml.safe_load((DEPLOY / "kserve" / "servingruntime.yaml").read_text())
    (container,) = runtime["spec"]["containers"]
    # What KServe does: the storage initializer fills /mnt/models, {{.Name}} becomes the
    # InferenceService's name. Here: a temporary folder, a free port.
    models = tmp_path / "mnt-models"
    (models / "1").mkdir(parents=True)
    width = 1024
    onnx.save(slow_model(width=width, layers=40), models / "1" / "model.onnx")
    port = free_port()
    script = (
        container["args"][0]
        .replace("/mnt/models", str(models))
        .replace("{{.Name}}", "slow")
        .replace("--port 8080", f"--port {port}")
    )
    env = {e["name"]: e["value"] for e in container["env"]}
    env["ONNXHUB_HOME"] = str(tmp_path / "home")  # the container's /tmp/onnxhub
    server = ServeProcess([*container["command"], script], env, port, tmp_path / "server.log")
    try:
        server.wait_ready(timeout=120)
        x = np.random.default_rng(0).standard_normal((2, width)).astype(np.float32)
        status, body = server.infer("slow", {"inputs": [v2_input("x", x)]})
        assert status == 200, body
        assert body["model_name"] == "slow" and body["model_version"] == "1"
        y = np.array(body["outputs"][0]["data"], np.float32).reshape(2, width)
        np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-4)  # identity MatMuls

        # A request in flight when SIGTERM arrives still gets its answer.
        big = np.ones((256, width), np.float32)
        answer: dict = {}

        def request() -> None:
            answer["result"] = server.infer("slow", {"inputs": [v2_input("x", big)]}, 60)

        client = threading.Thread(target=request)
        client.start()
        deadline = time.monotonic() + 30
        while _runs_in_flight(server) == 0:  # the signal arrives while the run is going on
            assert client.is_alive() and time.monotonic() < deadline, answer
            time.sleep(0.01)
        code = server.terminate(timeout=60)
        client.join(60)
        status, body = answer["result"]
        assert status == 200, body
        assert np.array(body["outputs"][0]["data"]).shape == (256 * width,)
        assert code == 0, server.output()
    finally:
        if server.process.poll() is None:
            server.kill()
    # After exit nothing listens any more.
    try:
        http("GET", f"{server.url}/v2/health/live", timeout=1)
        raise AssertionError("the server still answers after exiting")
    except OSError:
        pass


def _runs_in_flight(server: ServeProcess) -> float:
    status, text = http("GET", f"{server.url}/metrics", timeout=5)
    assert status == 200
    values = re.findall(r'^onnxhub_runs_in_flight\{[^}]*model="slow"[^}]*\} (\S+)$', text, re.M)
    return sum(float(v) for v in values)
