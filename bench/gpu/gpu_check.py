"""CUDA proof and GPU figures, run on a machine with an NVIDIA GPU.

What it shows: the provider check picks CUDA only when a session really gets it; a published
model served by ``onnxhub serve`` reports and uses CUDAExecutionProvider; CUDA outputs match the
CPU's; and how in-process runs and the HTTP server compare on CUDA and CPU, in the same run.

Usage (the GPU machine needs onnxruntime-gpu and the CUDA 13 / cuDNN 9 libraries, and onnxhub
importable: ``pip install -e .``, or the repo root on ``PYTHONPATH`` with ``plugins/`` linked as
``hub_plugins``)::

    ONNXHUB_HOME=/tmp/gpuhome python bench/gpu/gpu_check.py --out results.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from hub.api import Hub
from hub.families.registry import get_plugin_manager
from hub.onnx.providers import CPU, CUDA, choose_providers, cuda_works
from hub.settings import Settings


def wide_mlp(width: int, depth: int, features: int, seed: int = 0) -> bytes:
    """A ReLU MLP with random weights: big enough that the GPU matters."""
    rng = np.random.default_rng(seed)
    nodes, inits, prev, size = [], [], "x", features
    for layer in range(depth):
        w = (rng.standard_normal((size, width)) / np.sqrt(size)).astype(np.float32)
        b = np.zeros(width, np.float32)
        inits += [numpy_helper.from_array(w, f"w{layer}"), numpy_helper.from_array(b, f"b{layer}")]
        nodes += [
            helper.make_node("Gemm", [prev, f"w{layer}", f"b{layer}"], [f"g{layer}"]),
            helper.make_node("Relu", [f"g{layer}"], [f"h{layer}"]),
        ]
        prev, size = f"h{layer}", width
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    graph = helper.make_graph(
        nodes,
        "wide_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, width])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model.SerializeToString()


def time_runs(session: ort.InferenceSession, feeds: dict, seconds: float) -> dict:
    for _ in range(5):
        session.run(None, feeds)
    latencies = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        session.run(None, feeds)
        latencies.append(time.perf_counter() - t0)
    rows = next(iter(feeds.values())).shape[0]
    lat = np.array(latencies)
    return {
        "runs_per_s": round(len(lat) / lat.sum(), 1),
        "rows_per_s": round(rows * len(lat) / lat.sum(), 1),
        "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 4),
    }


async def http_load(url: str, body: bytes, concurrency: int, seconds: float) -> dict:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as client:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                async with client.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    lat = np.array(latencies)
    return {
        "concurrency": concurrency,
        "req_per_s": round(len(lat) / seconds, 1),
        "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 3),
        "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 3),
        "errors": errors,
    }


def get_json(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def serve_and_measure(home: Path, providers: str | None, model: str, body: bytes) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ONNXHUB_HOME": str(home)}
    if providers:
        env["ONNXHUB_PROVIDERS"] = providers
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli.main",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if get_json(f"{base}/v2/health/ready") is not None:
                    break
            except Exception:
                time.sleep(0.1)
        meta = get_json(f"{base}/v2/models/{model}")
        result = {"parameters": meta.get("parameters"), "load": []}
        for conc in (1, 64):
            asyncio.run(http_load(f"{base}/v2/models/{model}/infer", body, conc, 1.0))
            result["load"].append(
                asyncio.run(http_load(f"{base}/v2/models/{model}/infer", body, conc, 4.0))
            )
        import urllib.request

        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as r:
            result["metrics_provider_lines"] = [
                line
                for line in r.read().decode().splitlines()
                if "provider" in line and not line.startswith("#")
            ]
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    report: dict = {
        "onnxruntime": ort.__version__,
        "available_providers": ort.get_available_providers(),
        "cuda_works": cuda_works(),
        "chosen_providers": choose_providers(),
    }
    print(json.dumps(report), flush=True)
    home = Path(os.environ.get("ONNXHUB_HOME", "/tmp/gpuhome"))
    from hub_plugins.onnx.family import plugin as onnx_plugin

    registry = get_plugin_manager(load_entry_points=False, extra_plugins=[("onnx", onnx_plugin)])
    models = {"mlp-2048x4": (wide_mlp(2048, 4, 256), 256), "mlp-256x2": (wide_mlp(256, 2, 64), 64)}
    rng = np.random.default_rng(1)
    with Hub(Settings.for_home(home), registry=registry) as hub:
        for name, (data, features) in models.items():
            path = home / f"{name}.onnx"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            sample = rng.standard_normal((16, features)).astype(np.float32)
            hub.publish(path, name=name, sample=sample, alias="production")
            on_gpu = hub.open(name)
            on_cpu = ort.InferenceSession(data, providers=[CPU])
            entry: dict = {"providers_in_use": on_gpu.providers}
            x = rng.standard_normal((64, features)).astype(np.float32)
            entry["max_abs_diff_cuda_vs_cpu"] = float(
                np.max(np.abs(on_gpu.predict(x)["y"] - on_cpu.run(None, {"x": x})[0]))
            )
            for batch in (1, 32, 1024):
                feeds = {"x": rng.standard_normal((batch, features)).astype(np.float32)}
                entry[f"cuda_b{batch}"] = time_runs(on_gpu.session, feeds, args.seconds)
                entry[f"cpu_b{batch}"] = time_runs(on_cpu, feeds, args.seconds)
            report[name] = entry
            print(name, json.dumps(entry), flush=True)
    features = models["mlp-2048x4"][1]
    row = rng.standard_normal(features).astype(np.float32).tolist()
    body = json.dumps(
        {"inputs": [{"name": "x", "shape": [1, features], "datatype": "FP32", "data": row}]}
    ).encode()
    report["server_auto"] = serve_and_measure(home, None, "mlp-2048x4", body)
    print("server_auto", json.dumps(report["server_auto"]), flush=True)
    report["server_cpu"] = serve_and_measure(home, CPU, "mlp-2048x4", body)
    print("server_cpu", json.dumps(report["server_cpu"]), flush=True)
    args.out.write_text(json.dumps(report, indent=2))
    if not report["cuda_works"] or CUDA not in report["mlp-2048x4"]["providers_in_use"]:
        sys.exit("CUDA was not used")


if __name__ == "__main__":
    main()
