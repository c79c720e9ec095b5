"""A model over 2 GB end to end: written with external data, published, served, downloaded.

    .venv/bin/python bench/large_model.py [--gib 2.5] [--work DIR] [--keep]

1. Writes a synthetic ReLU MLP of about ``--gib`` GiB of float32 weights (square layers, one
   data file per layer under ``weights/``, biases in ``weights/biases.bin``), one layer in
   memory at a time.
2. ``onnxhub publish model.onnx --name big --sample sample.npy`` in its own process.
3. ``onnxhub serve``; one V2 inference (which loads the model) compared with numpy on the same
   weights (read through ``np.memmap``, one layer at a time).
4. ``onnxhub download big:1 -o DIR``; every file's sha256 compared with the source folder.

Peak resident memory of each ``onnxhub`` process: GNU ``time``'s maximum resident set size
for publish and download; for the server, ``VmHWM`` of
``/proc/PID/status`` after the load (it keeps running), plus its resident set before the load.
A sampler thread also records the peak anonymous (``RssAnon``) and file-backed (``RssFile``)
parts: memory-mapped weights are file-backed page cache, which the kernel can drop and re-read,
while anonymous memory is the process's own. Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ONNXHUB = [sys.executable, "-m", "hub.cli.main"]
TIME = "/usr/bin/time"  # GNU time: its %M is the peak resident set in KiB
GIB = 2**30


def write_mlp(folder: Path, target_bytes: int, width: int = 8192, seed: int = 0) -> dict:
    """Square ``width`` layers until ``target_bytes`` of float32 weights; returns a description."""
    import onnx
    from onnx import TensorProto, helper

    layers = max(1, round(target_bytes / (width * width * 4)))
    rng = np.random.default_rng(seed)
    (folder / "weights").mkdir(parents=True, exist_ok=True)
    nodes, initializers, x = [], [], "input"
    biases = []
    for i in range(layers):
        w = rng.standard_normal((width, width), dtype=np.float32)
        w *= np.float32(np.sqrt(2.0 / width))  # He scaling: activations stay of order one
        path = folder / "weights" / f"layer{i:02d}.bin"
        w.tofile(path)
        del w
        initializers.append(
            _external(f"w{i}", [width, width], f"weights/layer{i:02d}.bin", 0, width * width * 4)
        )
        biases.append((rng.standard_normal(width) * 0.01).astype(np.float32))
        nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"]))
        last = i == layers - 1
        nodes.append(helper.make_node("Add", [f"m{i}", f"b{i}"], ["output" if last else f"a{i}"]))
        if not last:
            nodes.append(helper.make_node("Relu", [f"a{i}"], [f"r{i}"]))
            x = f"r{i}"
    with open(folder / "weights" / "biases.bin", "wb") as handle:
        for i, b in enumerate(biases):
            initializers.append(
                _external(f"b{i}", [width], "weights/biases.bin", handle.tell(), width * 4)
            )
            handle.write(b.tobytes())
    graph = helper.make_graph(
        nodes,
        "large_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", width])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save_model(model, str(folder / "model.onnx"))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"layers": layers, "width": width, "bytes": size}


def _external(name: str, dims: list[int], location: str, offset: int, length: int):  # type: ignore[no-untyped-def]
    """A float32 initializer whose bytes are in ``location`` (never in memory)."""
    from onnx import TensorProto

    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims)
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, str(value)
    return tensor


def reference(folder: Path, info: dict, x: np.ndarray) -> np.ndarray:
    """The MLP in numpy, weights memory-mapped one layer at a time."""
    width, layers = info["width"], info["layers"]
    biases = np.fromfile(folder / "weights" / "biases.bin", dtype=np.float32).reshape(layers, width)
    h = x.astype(np.float32)
    for i in range(layers):
        w = np.memmap(
            folder / "weights" / f"layer{i:02d}.bin", np.float32, "r", shape=(width, width)
        )
        h = h @ w + biases[i]
        del w
        if i < layers - 1:
            h = np.maximum(h, 0)
    return h


def proc_status(pid: int) -> dict[str, int]:
    """``VmRSS``, ``VmHWM``, ``RssAnon`` and ``RssFile`` of process ``pid`` in bytes, from
    ``/proc/PID/status`` (empty where it cannot be read)."""
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    fields[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return fields


class Sampler(threading.Thread):
    """Peak RssAnon / RssFile of ``pid`` every 20 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop, self.peak = pid, threading.Event(), {"RssAnon": 0, "RssFile": 0}

    def run(self) -> None:
        while not self.stop.is_set():
            status = proc_status(self.pid)
            for key in self.peak:
                self.peak[key] = max(self.peak[key], status.get(key, 0))
            time.sleep(0.02)


def run_measured(args: list[str], env: dict[str, str]) -> dict:
    """Run an onnxhub command; its exit status, seconds, ``ru_maxrss`` and sampled peaks."""
    # GNU time's own tiny process forks the command: a child forked from this (large) process
    # would inherit its resident high-water mark across exec and overstate ru_maxrss.
    maxrss_file = Path(env["ONNXHUB_HOME"]) / "maxrss.txt"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [TIME, "-f", "%M", "-o", str(maxrss_file), *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    sampler = Sampler(_child_pid(proc.pid))
    sampler.start()
    output = proc.stdout.read().decode() if proc.stdout else ""
    proc.wait()
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[3:])} failed ({proc.returncode}):\n{output}")
    return {
        "seconds": time.perf_counter() - start,
        "peak_rss": int(maxrss_file.read_text().split()[-1]) * 1024,
        "peak_anon": sampler.peak["RssAnon"],
        "peak_file": sampler.peak["RssFile"],
        "output": output.strip(),
    }


def _child_pid(pid: int) -> int:
    """The command GNU time started (its only child), once it exists."""
    for _ in range(500):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return pid
        if children:
            return int(children[0])
        time.sleep(0.01)
    return pid


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_infer(env: dict[str, str], x: np.ndarray) -> tuple[dict, np.ndarray]:
    port = free_port()
    log = open(Path(env["ONNXHUB_HOME"]) / "serve.log", "wb")
    proc = subprocess.Popen(
        [*ONNXHUB, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/v2/health/live", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        before = proc_status(proc.pid)
        sampler = Sampler(proc.pid)
        sampler.start()
        body = json.dumps(
            {
                "inputs": [
                    {
                        "name": "input",
                        "shape": list(x.shape),
                        "datatype": "FP32",
                        "data": x.ravel().tolist(),
                    }
                ]
            }
        ).encode()
        start = time.perf_counter()
        request = urllib.request.Request(
            f"{base}/v2/models/big/infer", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=1200) as resp:
            out = json.loads(resp.read())["outputs"][0]
        seconds = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
        after = proc_status(proc.pid)
        got = np.asarray(out["data"], dtype=np.float32).reshape(out["shape"])
        return {
            "seconds": seconds,
            "rss_before": before.get("VmRSS", 0),
            "peak_rss": after.get("VmHWM", 0),
            "rss_after": after.get("VmRSS", 0),
            "peak_anon": sampler.peak["RssAnon"],
            "peak_file": sampler.peak["RssFile"],
        }, got
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gib", type=float, default=2.5, help="weights in GiB (default 2.5)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "large-work")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    (work / "home").mkdir(parents=True)
    free = shutil.disk_usage(work).free
    if free < 4.5 * args.gib * GIB:
        raise SystemExit(f"{work}: {free / GIB:.1f} GiB free, need {4.5 * args.gib:.1f} GiB")
    env = {
        **os.environ,
        "ONNXHUB_HOME": str(work / "home"),
        "ONNXHUB_PROVIDERS": "CPUExecutionProvider",
        "ONNXHUB_MAX_LOADED_BYTES": str(16 * GIB),
        "ONNXHUB_WARMUP_TIMEOUT": "0",
        "OMP_NUM_THREADS": "1",
    }
    results: dict = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    try:
        results["git"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        results["git"] = "?"

    t = time.perf_counter()
    source = work / "src" / "big"
    info = write_mlp(source, int(args.gib * GIB))
    results["model"] = info
    results["write_seconds"] = time.perf_counter() - t
    size = info["bytes"]
    print(
        f"wrote {info['layers']} x {info['width']}^2 float32 layers: {size / GIB:.2f} GiB",
        flush=True,
    )

    x = np.random.default_rng(1).standard_normal((2, info["width"])).astype(np.float32)
    np.save(work / "sample.npy", x)
    results["publish"] = run_measured(
        [
            *ONNXHUB,
            "publish",
            str(source / "model.onnx"),
            "--name",
            "big",
            "--sample",
            str(work / "sample.npy"),
        ],
        env,
    )
    print("publish:", results["publish"]["output"].splitlines()[0], flush=True)

    results["serve"], got = serve_and_infer(env, x)
    expected = reference(source, info, x)
    error = float(np.max(np.abs(got - expected)))
    scale = float(np.max(np.abs(expected)))
    results["inference"] = {"max_abs_error": error, "max_abs_output": scale}
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-3 * max(scale, 1.0)):
        raise SystemExit(f"served output differs from numpy: max abs error {error}")
    print(
        f"served inference equals numpy (max abs error {error:.2e}, |y| <= {scale:.2f})", flush=True
    )

    download = work / "download"
    results["download"] = run_measured([*ONNXHUB, "download", "big:1", "-o", str(download)], env)
    mismatched = [
        str(p.relative_to(source))
        for p in sorted(source.rglob("*"))
        if p.is_file() and sha256(p) != sha256(download / p.relative_to(source))
    ]
    if mismatched:
        raise SystemExit(f"downloaded files differ from the source: {mismatched}")
    results["download"]["verified_files"] = sum(1 for p in source.rglob("*") if p.is_file())
    print(f"downloaded and verified {results['download']['verified_files']} files", flush=True)

    print(report(results), flush=True)
    (work.parent / "large-model-results.json").write_text(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def report(r: dict) -> str:
    size = r["model"]["bytes"]

    def ratio(n: int) -> str:
        return f"{n / GIB:.2f} GiB ({n / size:.2f}x)"

    p, s, d = r["publish"], r["serve"], r["download"]
    return "\n".join(
        [
            f"model: {r['model']['layers']} layers of {r['model']['width']}x{r['model']['width']} "
            f"float32, {size / GIB:.2f} GiB in {r['model']['layers'] + 2} files (git {r['git']}, {r['when']})",
            "",
            "| step | seconds | peak RSS (ratio to model) | peak anonymous | peak file-backed |",
            "|---|---|---|---|---|",
            f"| `onnxhub publish` | {p['seconds']:.1f} | {ratio(p['peak_rss'])} | "
            f"{ratio(p['peak_anon'])} | {ratio(p['peak_file'])} |",
            f"| `onnxhub serve`, load + warm-up + 1 inference | {s['seconds']:.1f} | "
            f"{ratio(s['peak_rss'])} (idle before: {s['rss_before'] / GIB:.2f} GiB) | "
            f"{ratio(s['peak_anon'])} | {ratio(s['peak_file'])} |",
            f"| `onnxhub download` | {d['seconds']:.1f} | {ratio(d['peak_rss'])} | "
            f"{ratio(d['peak_anon'])} | {ratio(d['peak_file'])} |",
            "",
            f"inference vs numpy: max abs error {r['inference']['max_abs_error']:.2e} "
            f"(outputs up to {r['inference']['max_abs_output']:.2f}); download: "
            f"{d['verified_files']} files, sha256 equal to the source",
        ]
    )


if __name__ == "__main__":
    main()
