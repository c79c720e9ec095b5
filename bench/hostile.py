"""Figures for each kind of hostile request against a live ``onnxhub serve``, then for a mix.

For every attack: what the server answered, the peak resident memory it reached above its
level before the attack (``VmHWM`` from ``/proc``, reset per attack by running each one in a
fresh server), and the latency a well-behaved client saw meanwhile (1-row requests one after
another). Usage::

    .venv/bin/python bench/hostile.py [--scale 1.0] [--only shape,gzip] > bench/hostile-run.md

``--code DIR`` serves from another checkout (``git worktree add /tmp/before <commit>``), to
measure the code before a change with the same attacks; the catalog is then published by that
checkout's own code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "server"), str(ROOT / "tests")]

from attacks import (  # noqa: E402
    Payloads,
    Probe,
    attack_body,
    attack_chunked,
    attack_cross_site,
    attack_event_id,
    attack_half_open,
    attack_loop,
    attack_spellings,
)
from serve_process import ServeProcess  # noqa: E402

LIMIT = 64 * 1024 * 1024

PUBLISH = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from hostile import bytes_model, loop_model
from hub.api import Hub
from hub.settings import Settings
X, y = load_iris(return_X_y=True)
X = X.astype(np.float32)
with Hub(Settings.for_home({home!r})) as hub:
    hub.publish(LogisticRegression(max_iter=500).fit(X, y), name="iris", sample=X[:20])
    hub.publish(bytes_model(), name="strings", sample=np.array(["a", "bc"], dtype=object))
    hub.publish(loop_model(), name="loop", sample=np.array([3], dtype=np.int64))
"""


def _vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def publish(home: Path, code: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(code)}
    script = PUBLISH.format(tests=str(ROOT / "tests" / "server"), home=str(home))
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


def _probe_process(base: str, stop, results) -> None:  # type: ignore[no-untyped-def]
    """The well-behaved client, in its own process: the attacker's work never delays it."""

    async def main() -> None:
        probe = Probe(base)
        done = asyncio.Event()
        task = asyncio.ensure_future(probe.run(done))
        while not stop.is_set():
            await asyncio.sleep(0.05)
        done.set()
        await task
        results.put(probe.summary())

    asyncio.run(main())


async def measure(name: str, attack, server: ServeProcess) -> dict:  # type: ignore[no-untyped-def]
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    prober = context.Process(target=_probe_process, args=(server.url, stop, results))
    pid = server.process.pid
    rss_before = _vm(pid, "VmRSS")
    prober.start()
    await asyncio.sleep(2.0)
    started = time.perf_counter()
    try:
        answer = await asyncio.wait_for(attack, 90)
    except asyncio.TimeoutError:
        answer = "no answer in 90 s"
    took = time.perf_counter() - started
    await asyncio.sleep(0.5)
    stop.set()
    summary = await asyncio.get_running_loop().run_in_executor(None, results.get)
    prober.join()
    alive = server.process.poll() is None
    peak = _vm(pid, "VmHWM") if alive else 0
    return {
        "attack": name,
        "answer": answer,
        "seconds": round(took, 2),
        "peak_above_mib": round(max(0, peak - rss_before) / 2**20, 1),
        **summary,
        "server_alive": alive,
    }


async def run_one(
    name: str, code: Path, payloads: Payloads, workdir: Path, publish_code: Path
) -> dict:
    home = workdir / name / "home"
    publish(home, publish_code)
    env = {
        "ONNXHUB_HOME": str(home),
        "ONNXHUB_PROVIDERS": "CPUExecutionProvider",
        "ONNXHUB_INTRA_OP_THREADS": "1",
        "PYTHONPATH": str(code),
    }
    server = ServeProcess.serve(env, workdir / f"{name}.log")
    try:
        server.wait_ready()
        base = server.url
        async with aiohttp.ClientSession() as session:
            for model, body in (
                (
                    "iris",
                    {
                        "inputs": [
                            {
                                "name": "input",
                                "datatype": "FP32",
                                "shape": [1, 4],
                                "data": [1, 2, 3, 4],
                            }
                        ]
                    },
                ),
                (
                    "loop",
                    {"inputs": [{"name": "n", "datatype": "INT64", "shape": [1], "data": [2]}]},
                ),
                (
                    "strings",
                    {
                        "inputs": [
                            {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}
                        ]
                    },
                ),
            ):
                async with session.post(f"{base}/v2/models/{model}/infer", json=body) as resp:
                    await resp.read()
            attacks = {
                "shape": lambda: attack_body(session, base, payloads, "shape"),
                "amplify": lambda: attack_body(session, base, payloads, "amplify"),
                "gzip": lambda: attack_body(session, base, payloads, "gzip"),
                "brotli": lambda: attack_body(session, base, payloads, "brotli"),
                "big_json": lambda: attack_body(session, base, payloads, "big_json"),
                "big_bytes": lambda: attack_body(
                    session, base, payloads, "big_bytes", model="strings"
                ),
                "spellings": lambda: attack_spellings(session, base, 4000),
                "loop": lambda: attack_loop(session, base),
                "half_open": lambda: attack_half_open("127.0.0.1", server.port, 560, 5.0),
                "chunked": lambda: attack_chunked(session, base, LIMIT),
                "event_id": lambda: attack_event_id(session, base),
                "cross_site": lambda: attack_cross_site(session, base),
            }
            if name == "mix":
                mix = asyncio.gather(
                    *(make() for key, make in attacks.items() if key != "spellings"),
                    attack_spellings(session, base, 300),
                )
                return await measure(name, mix, server)
            return await measure(name, attacks[name](), server)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument(
        "--publish-code",
        type=Path,
        default=ROOT,
        help="checkout that publishes the catalog (an old one may lack today's plugins)",
    )
    args = parser.parse_args()
    names = [
        "shape",
        "amplify",
        "gzip",
        "brotli",
        "big_json",
        "big_bytes",
        "spellings",
        "loop",
        "half_open",
        "chunked",
        "event_id",
        "cross_site",
        "mix",
    ]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    rows = []
    payloads = Payloads(scale=args.scale).build()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            row = asyncio.run(run_one(name, args.code, payloads, Path(tmp), args.publish_code))
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    keys = [
        "attack",
        "answer",
        "seconds",
        "peak_above_mib",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "requests",
        "failures",
        "server_alive",
    ]
    print("| " + " | ".join(keys) + " |")
    print("|" + " --- |" * len(keys))
    for row in rows:
        answer = str(row["answer"])
        row["answer"] = answer if len(answer) < 60 else answer[:57] + "..."
        print(
            "| "
            + " | ".join(
                str(row[k])
                if not isinstance(row[k], float)
                else f"{row[k]:.0f}"
                if k.endswith("_ms")
                else str(row[k])
                for k in keys
            )
            + " |"
        )


if __name__ == "__main__":
    main()
