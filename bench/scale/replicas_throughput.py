#!/usr/bin/env python3
"""Throughput of one ``onnxhub serve`` against two behind a loopback round-robin.

The replicas share one catalog (the PostgreSQL test server, a private schema) and one artifact
folder; a scikit-learn LogisticRegression (iris, 4 features) is published once. A closed-loop
aiohttp client with ``--concurrency`` workers sends 1-row JSON V2 requests, each worker
alternating between the replicas (client-side round robin, so no proxy shares the CPU), for a
warm-up and then ``--seconds`` seconds.

    .venv/bin/python bench/scale/replicas_throughput.py > bench/scale/replicas.json

Every process (replicas and client) runs on the same machine: with few cores the replicas
compete with each other and with the client, which the output's ``cpus`` records.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from serve_process import ServeProcess  # noqa: E402

POSTGRES = os.environ.get(
    "ONNXHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BODY = {
    "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]
}


async def load(urls: list[str], concurrency: int, warmup: float, seconds: float) -> dict:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    measuring = False
    stop_at = time.perf_counter() + warmup + seconds

    async def worker(offset: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for url in itertools.islice(itertools.cycle(urls), offset, None):
            if time.perf_counter() >= stop_at:
                return
            started = time.perf_counter()
            async with session.post(f"{url}/v2/models/iris/infer", json=BODY) as resp:
                await resp.read()
                ok = resp.status == 200
            if measuring:
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(worker(i, session)) for i in range(concurrency)]
        await asyncio.sleep(warmup)
        measuring = True
        began = time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "replicas": len(urls),
        "concurrency": concurrency,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 2),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()

    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from hub.api import Hub
    from hub.settings import Settings

    schema = f"onnxhub_bench_{uuid.uuid4().hex[:10]}"
    with sa.create_engine(POSTGRES).begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    servers: list[ServeProcess] = []
    try:
        with tempfile.TemporaryDirectory(prefix="onnxhub-replicas-") as folder:
            work = Path(folder)
            env = {
                "ONNXHUB_DATABASE_URL": f"{POSTGRES}?options=-csearch_path%3D{schema}",
                "ONNXHUB_ARTIFACTS": str(work / "artifacts"),
                "ONNXHUB_PROVIDERS": "CPUExecutionProvider",
                "ONNXHUB_INTRA_OP_THREADS": "1",
            }
            X, y = load_iris(return_X_y=True)
            with Hub(Settings.from_env({**env, "ONNXHUB_HOME": str(work / "cli")})) as hub:
                model = LogisticRegression(max_iter=500).fit(X, y)
                hub.publish(model, name="iris", sample=X[:20].astype(np.float32))
            for i in range(2):
                servers.append(
                    ServeProcess.serve(
                        {**env, "ONNXHUB_HOME": str(work / f"r{i}")}, work / f"{i}.log"
                    )
                )
            for server in servers:
                server.wait_ready(120)
            for count in (1, 2, 1, 2):
                urls = [s.url for s in servers[:count]]
                result = asyncio.run(load(urls, args.concurrency, args.warmup, args.seconds))
                result["cpus"] = os.cpu_count()
                print(json.dumps(result), flush=True)
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.terminate(60)
        with sa.create_engine(POSTGRES).begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
