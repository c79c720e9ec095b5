"""Two ``onnxhub serve`` replicas, one catalog: the real PostgreSQL and one S3 endpoint (moto on
loopback). Versions are published and the alias moved from the CLI, in other processes, while
both replicas are under load; one replica is then killed with SIGKILL and restarted."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx_graphs import scale_model, v2_input
from s3_server import aws_env
from serve_process import VENV_BIN, ServeProcess, http

pytestmark = pytest.mark.postgres

X = np.arange(6, dtype=np.float32).reshape(2, 3)
BODY = {"inputs": [v2_input("x", X)]}


def _factor(body: dict) -> float:
    return float(body["outputs"][0]["data"][1]) / float(X[0, 1])


class Load:
    """Clients hammering one replica each, recording (time, status, factor)."""

    def __init__(self, servers: dict[str, ServeProcess]) -> None:
        self.servers = servers
        self.seen: dict[str, list[tuple[float, int, float | None]]] = {n: [] for n in servers}
        #: per client thread, in its own order: each client's view must never go back
        self.by_client: dict[tuple[str, int], list[float | None]] = {}
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(name, i), daemon=True)
            for name in servers
            for i in range(2)
        ]

    def _run(self, name: str, client: int) -> None:
        mine = self.by_client.setdefault((name, client), [])
        while not self.stop.is_set():
            try:
                status, body = self.servers[name].infer("s", BODY, timeout=10)
            except OSError:
                status, body = -1, None
            factor = _factor(body) if status == 200 else None
            self.seen[name].append((time.monotonic(), status, factor))
            mine.append(factor)

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(20)

    def first_time_serving(self, name: str, factor: float, after: float) -> float | None:
        return next((t for t, s, f in self.seen[name] if t >= after and f == factor), None)


def _cli(env: dict[str, str], *args: str) -> str:
    """Run one ``onnxhub`` command in its own process; its stdout."""
    result = subprocess.run(
        [str(VENV_BIN / "onnxhub"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.02)


def test_two_replicas_share_one_catalog_and_survive_a_kill(
    tmp_path: Path, postgres_url: str, s3_bucket: str, s3_endpoint: str
) -> None:
    import os

    base = {
        **os.environ,
        **aws_env(s3_endpoint),
        "ONNXHUB_DATABASE_URL": postgres_url,
        "ONNXHUB_ARTIFACTS": f"s3://{s3_bucket}/models",
        "ONNXHUB_PROVIDERS": "CPUExecutionProvider",
        "ONNXHUB_INTRA_OP_THREADS": "1",
        "ONNXHUB_EVENT_POLL_INTERVAL": "5",  # PostgreSQL NOTIFY, not this poll, must wake them
    }
    models = {}
    for factor in (2.0, 10.0, 5.0):
        models[factor] = tmp_path / f"scale{int(factor)}.onnx"
        onnx.save(scale_model(factor), models[factor])
    cli_env = {**base, "ONNXHUB_HOME": str(tmp_path / "cli")}
    _cli(cli_env, "publish", str(models[2.0]), "--name", "s", "--alias", "production")

    def replica(name: str) -> ServeProcess:
        env = {**base, "ONNXHUB_HOME": str(tmp_path / name)}
        return ServeProcess.serve(env, tmp_path / f"{name}.log")

    servers = {"a": replica("a"), "b": replica("b")}
    try:
        for server in servers.values():
            server.wait_ready(120)
            status, body = server.infer("s", BODY)
            assert status == 200 and _factor(body) == 2.0, body

        with Load(servers) as load:
            time.sleep(0.5)
            _cli(cli_env, "publish", str(models[10.0]), "--name", "s")  # version 2
            moved_at = time.monotonic()
            _cli(cli_env, "alias", "s", "production", "2")
            moved = time.monotonic()
            for name in servers:
                _wait_for(
                    lambda n=name: load.first_time_serving(n, 10.0, moved) is not None,
                    10,
                    f"replica {name} serving version 2",
                )
            time.sleep(0.3)
        delays = {n: load.first_time_serving(n, 10.0, moved) - moved for n in servers}
        for name, seen in load.seen.items():
            statuses = {s for _, s, _ in seen}
            assert statuses == {200}, (name, statuses)  # no failed request during the switch
            assert not any(t < moved_at and f == 10.0 for t, _, f in seen)
        for client, factors in load.by_client.items():  # old outputs, then only new ones
            switched = factors.index(10.0)
            assert set(factors[:switched]) <= {2.0} and set(factors[switched:]) == {10.0}, client
        print(f"alias move to first new-version response: {delays}")

        # kill -9 replica a under load: b keeps serving, with no failed request.
        with Load({"b": servers["b"]}) as load_b:
            time.sleep(0.3)
            servers["a"].kill()
            killed = time.monotonic()
            # While a is down, version 3 is published and made production: b follows.
            _cli(cli_env, "publish", str(models[5.0]), "--name", "s", "--alias", "production")
            _wait_for(
                lambda: load_b.first_time_serving("b", 5.0, killed) is not None, 10, "b on v3"
            )
            time.sleep(0.3)
        assert {s for _, s, _ in load_b.seen["b"]} == {200}

        # The restarted replica catches up: it serves version 3 from its first request.
        servers["a"] = replica("a")
        servers["a"].wait_ready(120)
        status, body = servers["a"].infer("s", BODY)
        assert status == 200 and _factor(body) == 5.0 and body["model_version"] == "3"

        # Repository unload is local to one replica (it needs a token with write access).
        _cli(cli_env, "users", "add", "ops", "--admin")
        token = _cli(cli_env, "tokens", "create", "ops", "--scope", "admin").split()[0]
        unload = f"{servers['a'].url}/v2/repository/models/s/unload"
        assert http("POST", unload, headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert servers["a"].infer("s", BODY)[0] == 503
        assert servers["b"].infer("s", BODY)[0] == 200
    finally:
        for server in servers.values():
            if server.process.poll() is None:
                assert server.terminate(60) == 0, server.output()
