"""A replica whose PostgreSQL goes away: at start-up, and while serving.

The outage is real for the server (its connections are reset and new ones refused by a
loopback proxy in front of the test PostgreSQL) while the test itself reaches the database
directly, as another replica or the CLI would.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from onnx_graphs import scale_model, v2_input
from serve_process import VENV_BIN, ServeProcess, http
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

from hub.api import Hub
from hub.settings import Settings

pytestmark = pytest.mark.postgres

X = np.arange(6, dtype=np.float32).reshape(2, 3)
BODY = {"inputs": [v2_input("x", X)]}


def _until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def _factor(server: ServeProcess) -> float | None:
    status, body = server.infer("s", BODY, timeout=10)
    return body["outputs"][0]["data"][1] / float(X[0, 1]) if status == 200 else None


def _metric(server: ServeProcess, name: str) -> float | None:
    """The sample's value (summed over workers); None when the server does not show it."""
    text = http("GET", f"{server.url}/metrics")[1]
    values = re.findall(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.M)
    return sum(float(v) for v in values) if values else None


def test_catalog_down_at_start_and_lost_while_serving(tmp_path: Path, postgres_url: str) -> None:
    direct = Settings.from_env(
        {
            "ONNXHUB_HOME": str(tmp_path / "cli"),
            "ONNXHUB_DATABASE_URL": postgres_url,
            "ONNXHUB_ARTIFACTS": str(tmp_path / "artifacts"),
        }
    )
    with Hub(direct) as hub:
        hub.publish(scale_model(2.0), name="s", sample=X, alias="production")
        hub.publish(scale_model(10.0), name="s", sample=X)
    env = {
        **os.environ,
        "ONNXHUB_HOME": str(tmp_path / "cli"),
        "ONNXHUB_DATABASE_URL": postgres_url,
        "ONNXHUB_ARTIFACTS": str(tmp_path / "artifacts"),
    }
    for args in (
        ["users", "add", "ops", "--admin"],
        ["tokens", "create", "ops", "--scope", "admin"],
    ):
        done = subprocess.run(
            [str(VENV_BIN / "onnxhub"), *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    token = done.stdout.split()[0]

    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.cut()  # the database is down when the replica starts
    server_env = {
        "ONNXHUB_HOME": str(tmp_path / "replica"),
        "ONNXHUB_DATABASE_URL": url.set(port=proxy.port).render_as_string(hide_password=False),
        "ONNXHUB_ARTIFACTS": str(tmp_path / "artifacts"),
        "ONNXHUB_EVENT_POLL_INTERVAL": "0.2",
        "ONNXHUB_PROVIDERS": "CPUExecutionProvider",
    }
    server = ServeProcess.serve(server_env, tmp_path / "server.log")
    try:
        _until(lambda: "is unreachable" in server.output(), 30, "the start-up wait is logged")
        assert server.process.poll() is None  # waiting, not exited
        assert "retrying in" in server.output()
        proxy.restore()
        server.wait_ready(120)  # and it starts once the database answers
        assert _factor(server) == 2.0

        # Lost while serving: loaded models keep serving, readiness says why, writes are 503.
        proxy.cut()
        _until(
            lambda: "catalog" in http("GET", f"{server.url}/v2/health/ready")[1],
            30,
            "readiness reports the catalog",
        )
        status, body = http("GET", f"{server.url}/v2/health/ready")
        assert status == 200 and body["ready"] is True
        assert body["catalog"]["reachable"] is False and body["catalog"]["error"]
        for _ in range(20):
            status, body = server.infer("s", BODY, timeout=10)
            assert status == 200, body
            assert body["outputs"][0]["data"][1] == 2.0 * X[0, 1]
        auth = {"Authorization": f"Bearer {token}"}
        status, body = http(
            "PUT", f"{server.url}/api/models/s/aliases/production", {"version": 2}, headers=auth
        )
        assert status == 503 and "unavailable" in body["error"], body
        status, body = server.infer("never-loaded", BODY)  # needs the catalog to resolve
        assert status == 503, body
        # /metrics may lag the server's state by a second: wait for it rather than sample once.
        _until(
            lambda: _metric(server, "onnxhub_catalog_listener_connected") == 0, 10, "not listening"
        )
        _until(
            lambda: (_metric(server, "onnxhub_catalog_read_failures_total") or 0) > 0,
            10,
            "read failures counted",
        )

        # Recovery without restart: the listener reconnects and the replica follows the log.
        proxy.restore()
        _until(
            lambda: "catalog" not in http("GET", f"{server.url}/v2/health/ready")[1],
            60,
            "the catalog is reachable again",
        )
        with Hub(direct) as hub:
            hub.set_alias("s", "production", 2)
        _until(lambda: _factor(server) == 10.0, 30, "version 2 served after recovery")
        _until(lambda: _metric(server, "onnxhub_catalog_listener_connected") == 1, 30, "listening")
        _until(
            lambda: (_metric(server, "onnxhub_catalog_listener_reconnects_total") or 0) >= 1,
            10,
            "reconnect counted",
        )
        assert server.terminate(60) == 0, server.output()
    finally:
        if server.process.poll() is None:
            server.kill()
        proxy.close()
