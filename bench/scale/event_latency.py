#!/usr/bin/env python3
"""Event-to-served latency: an alias moved in one process, the first response of the new
version from an ``onnxhub serve`` in another.

For each backend (SQLite: the follower polls every ONNXHUB_EVENT_POLL_INTERVAL; PostgreSQL:
LISTEN/NOTIFY wakes it, the poll stays as a fallback), the script publishes two versions of a
tiny model (y = 2x, y = 10x), starts one server, keeps one client thread sending requests
back to back, and moves ``production`` between the two versions ``--rounds`` times from this
process (one catalog transaction, as ``Hub.set_alias`` writes it). The latency of a round is
the time from the start of that write to the first response carrying the new version's output. The new version is
loaded and warmed before the swap (the previous one is unloaded after it), so the figure
includes a model load; ``event_read_*`` is the part before it: commit to the server's
``alias.set`` event on ``/v2/events`` (the follower has read the log).

    .venv/bin/python bench/scale/event_latency.py --rounds 30 > bench/scale/event_latency.json

Prints one JSON object per backend (median, p90, max in ms). PostgreSQL is the test server at
ONNXHUB_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test), in a
schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from onnx_graphs import scale_model, v2_input  # noqa: E402
from serve_process import ServeProcess  # noqa: E402

from hub.api import Hub  # noqa: E402
from hub.catalog import queries  # noqa: E402
from hub.settings import Settings  # noqa: E402

POSTGRES = os.environ.get(
    "ONNXHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
X = np.arange(6, dtype=np.float32).reshape(2, 3)
BODY = {"inputs": [v2_input("x", X)]}


def move_alias(hub: Hub, version: int) -> None:
    """``production`` -> ``version`` in one transaction (what ``Hub.set_alias`` writes),
    returning right after the commit."""

    def write(session):  # type: ignore[no-untyped-def]
        model = queries.require_model(session, "s", for_update=True)
        queries.set_alias(session, model, "production", version)

    hub.db.transaction(write)


def run_backend(backend: str, rounds: int, poll: float, workdir: Path) -> dict:
    schema = None
    if backend == "postgresql":
        schema = f"onnxhub_bench_{uuid.uuid4().hex[:10]}"
        with sa.create_engine(POSTGRES).begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{workdir / 'catalog.db'}"
    env = {
        "ONNXHUB_HOME": str(workdir / "server"),
        "ONNXHUB_DATABASE_URL": url,
        "ONNXHUB_ARTIFACTS": str(workdir / "artifacts"),
        "ONNXHUB_EVENT_POLL_INTERVAL": str(poll),
        "ONNXHUB_PROVIDERS": "CPUExecutionProvider",
        "ONNXHUB_INTRA_OP_THREADS": "1",
    }
    settings = Settings.from_env({**env, "ONNXHUB_HOME": str(workdir / "publisher")})
    hub = Hub(settings)
    server = None
    try:
        hub.publish(scale_model(2.0), name="s", sample=X, alias="production")
        hub.publish(scale_model(10.0), name="s", sample=X)
        server = ServeProcess.serve(env, workdir / f"{backend}.log")
        server.wait_ready(120)
        responses: list[tuple[float, float]] = []
        errors: list[float] = []
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                try:
                    status, body = server.infer("s", BODY, timeout=10)
                except OSError:
                    errors.append(time.perf_counter())
                    continue
                if status == 200:
                    factor = body["outputs"][0]["data"][1] / float(X[0, 1])
                    responses.append((time.perf_counter(), factor))

        noticed: list[float] = []

        def events() -> None:  # when the server's follower read each alias.set
            try:
                with urllib.request.urlopen(f"{server.url}/v2/events", timeout=600) as stream:
                    for line in stream:
                        if line.startswith(b"event: alias.set"):
                            noticed.append(time.perf_counter())
            except OSError:
                pass  # the server stopped

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        threading.Thread(target=events, daemon=True).start()
        time.sleep(1.0)
        latencies, notices, writes = [], [], []
        version = 1
        for _ in range(rounds):
            time.sleep(random.uniform(0.3, 0.6))
            version = 2 if version == 1 else 1
            factor = 10.0 if version == 2 else 2.0
            committed = time.perf_counter()  # the write starts; its commit wakes the server
            move_alias(hub, version)
            writes.append((time.perf_counter() - committed) * 1000)
            deadline = committed + 30
            while True:
                first = next(
                    (t for t, f in responses[-50:] if t >= committed and f == factor), None
                )
                seen = next((t for t in noticed[-5:] if t >= committed), None)
                if first is not None and seen is not None:
                    latencies.append((first - committed) * 1000)
                    notices.append((seen - committed) * 1000)
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError(
                        f"{backend}: version {version} not served in 30 s (served: "
                        f"{first is not None}, event read: {seen is not None}); server log:\n"
                        + server.output()[-4000:]
                    )
                time.sleep(0.001)
        stop.set()
        thread.join(10)
        latencies.sort()
        notices.sort()
        return {
            "backend": backend,
            "wake_up": "LISTEN/NOTIFY" if backend == "postgresql" else f"poll every {poll} s",
            "poll_interval_s": poll,
            "rounds": rounds,
            "median_ms": round(statistics.median(latencies), 2),
            "p90_ms": round(latencies[int(0.9 * (len(latencies) - 1))], 2),
            "max_ms": round(latencies[-1], 2),
            "min_ms": round(latencies[0], 2),
            "alias_write_median_ms": round(statistics.median(writes), 2),
            "event_read_median_ms": round(statistics.median(notices), 2),
            "event_read_max_ms": round(notices[-1], 2),
            "requests_seen": len(responses),
            "connection_errors": len(errors),
        }
    finally:
        if server is not None and server.process.poll() is None:
            server.terminate(60)
        hub.close()
        if schema is not None:
            with sa.create_engine(POSTGRES).begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--poll-interval", type=float, default=0.25, help="both backends")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    for backend in args.backend or ["sqlite", "postgresql"]:
        with tempfile.TemporaryDirectory(prefix="onnxhub-bench-") as folder:
            result = run_backend(backend, args.rounds, args.poll_interval, Path(folder))
        result["cpus"] = os.cpu_count()
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
