"""A replica whose PostgreSQL goes away: at start-up, and while serving.

The outage is real for the server (its connections are reset and new ones refused by a
loopback proxy in front of the test PostgreSQL) while the test itself reaches the database
directly, as another replica or the CLI would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from onnx_graphs import scale_model, v2_input
from serve_process import VENV_BIN, ServeProcess, http
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

from hub.api import Hub
from hub.catalog import migrate
from hub.catalog.db import Database, make_engine
from hub.errors import StorageError
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


#: Seconds a replica started without its database may take to be ready once it answers (its
#: retries back off to 5 s; the bound leaves room for a loaded machine).
READY_WITHIN = 30.0
#: Ignored by the test server (trust authentication), so it must never be shown anywhere.
PASSWORD = "s3cret-pw-4711"


def _request(
    method: str, url: str, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], object]:
    """(status, headers, parsed JSON body) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, head, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, head, raw = exc.code, dict(exc.headers), exc.read()
    return status, head, json.loads(raw)


def _live(server: ServeProcess) -> bool:
    try:
        return http("GET", f"{server.url}/v2/health/live", timeout=2)[0] == 200
    except OSError:
        return False


def _start_cut(tmp_path: Path, postgres_url: str) -> tuple[TcpProxy, ServeProcess]:
    """A proxy in front of the test PostgreSQL, cut, and a server started behind it (its URL
    carries a password that trust authentication ignores)."""
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.cut()  # the database is down when the replica starts
    behind = url.set(port=proxy.port, password=PASSWORD)
    server_env = {
        "ONNXHUB_HOME": str(tmp_path / "replica"),
        "ONNXHUB_DATABASE_URL": behind.render_as_string(hide_password=False),
        "ONNXHUB_ARTIFACTS": str(tmp_path / "artifacts"),
        "ONNXHUB_EVENT_POLL_INTERVAL": "0.2",
        "ONNXHUB_PROVIDERS": "CPUExecutionProvider",
    }
    return proxy, ServeProcess.serve(server_env, tmp_path / "server.log")


def _check_not_ready_at_start(server: ServeProcess, proxy: TcpProxy, token: str | None) -> None:
    _until(lambda: _live(server) or server.process.poll() is not None, 60, "listening")
    assert server.process.poll() is None, server.output()
    status, _, body = _request("GET", f"{server.url}/v2/health/ready")
    assert status == 503, body
    assert body["ready"] is False
    assert f":{proxy.port}/" in body["error"] and "not reached yet" in body["error"], body
    assert body["catalog"]["url"].startswith("postgresql+psycopg://postgres:***@127.0.0.1:")
    assert PASSWORD not in json.dumps(body)
    checks = [("POST", "/v2/models/s/infer", BODY), ("GET", "/api/models", None)]
    if token is not None:
        checks.append(("PUT", "/api/models/s/aliases/production", {"version": 2}))
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    for method, path, request_body in checks:
        status, head, body = _request(method, server.url + path, request_body, auth)
        assert status == 503, (path, body)
        assert "catalog database is unavailable" in body["error"], (path, body)
        assert int(head["Retry-After"]) >= 1, (path, head)
        assert PASSWORD not in json.dumps(body)
    assert "is unreachable" in server.output()
    assert PASSWORD not in server.output()
    assert server.process.poll() is None


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

    proxy, server = _start_cut(tmp_path, postgres_url)
    try:
        # Down at start: the server listens, is live, not ready (saying why), refuses what
        # needs the catalog with 503 + Retry-After, and keeps trying.
        _check_not_ready_at_start(server, proxy, token)
        proxy.restore()
        restored = time.monotonic()
        server.wait_ready(READY_WITHIN)  # without a restart, once the database answers
        ready_after = time.monotonic() - restored
        assert server.process.poll() is None
        assert _factor(server) == 2.0
        assert PASSWORD not in server.output()
        assert "reached after" in server.output(), server.output()
        print(f"ready {ready_after:.2f} s after the database came back")

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


def test_an_empty_catalog_is_created_once_the_database_answers(
    tmp_path: Path, postgres_url: str
) -> None:
    """Migrations on start still happen, when the database is first reached: the replica
    creates the schema of an empty catalog, then serves what is published and follows it."""
    proxy, server = _start_cut(tmp_path, postgres_url)
    try:
        _check_not_ready_at_start(server, proxy, token=None)
        assert revision_of(postgres_url) is None  # nothing was created while it was down
        proxy.restore()
        server.wait_ready(READY_WITHIN)
        assert revision_of(postgres_url) == migrate.head_revision()
        direct = Settings.from_env(
            {
                "ONNXHUB_HOME": str(tmp_path / "cli"),
                "ONNXHUB_DATABASE_URL": postgres_url,
                "ONNXHUB_ARTIFACTS": str(tmp_path / "artifacts"),
            }
        )
        with Hub(direct) as hub:
            hub.publish(scale_model(3.0), name="s", sample=X, alias="production")
            assert _factor(server) == 3.0
            hub.publish(scale_model(7.0), name="s", sample=X)
            hub.set_alias("s", "production", 2)
        _until(lambda: _factor(server) == 7.0, 30, "the alias move followed")
        assert server.terminate(60) == 0, server.output()
    finally:
        if server.process.poll() is None:
            server.kill()
        proxy.close()


def test_a_newer_schema_met_once_the_database_answers_stops_the_server(
    tmp_path: Path, postgres_url: str
) -> None:
    Database(postgres_url).dispose()
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    proxy, server = _start_cut(tmp_path, postgres_url)
    try:
        _check_not_ready_at_start(server, proxy, token=None)
        proxy.restore()
        try:
            code = server.process.wait(60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running:\n{server.output()}") from None
        message = "schema revision 9999, newer than this onnxhub knows"
        assert code == StorageError.exit_code, server.output()
        assert message in server.output().splitlines()[-1], server.output()
        assert revision_of(postgres_url) == "9999"  # refused, not touched
    finally:
        if server.process.poll() is None:
            server.kill()
        proxy.close()


def revision_of(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT version_num FROM alembic_version"
                    if sa.inspect(connection).has_table("alembic_version")
                    else "SELECT NULL"
                )
            ).all()
    finally:
        engine.dispose()
    return rows[0][0] if rows else None


def test_a_database_that_refuses_the_login_stops_serve_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """Not waited for: a database that answers with an error is a configuration error."""
    url = make_url(postgres_url).set(database="onnxhub_no_such_database", password=PASSWORD)
    env = {
        **os.environ,
        "ONNXHUB_HOME": str(tmp_path / "replica"),
        "ONNXHUB_DATABASE_URL": url.render_as_string(hide_password=False),
        "ONNXHUB_WORKERS": "1",
    }
    done = subprocess.run(
        [str(VENV_BIN / "onnxhub"), "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == StorageError.exit_code, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot open the catalog at postgresql+psycopg://postgres:***@")
    assert 'database "onnxhub_no_such_database" does not exist' in last
    assert PASSWORD not in done.stderr + done.stdout
