#!/usr/bin/env python3
"""In-process floor: onnxruntime InferenceSession.run in a tight loop, no server.

Runs the exact ONNX bytes onnxhub serves (``<work>/served/<name>.onnx``, written
by publish_models.py) at batch 1 and batch 32, one thread (intra_op 1,
inter_op 1, sequential), all outputs fetched, and prints one JSON line per
(model, batch): calls/s, rows/s, p50/p99 microseconds per call.

Pin it to the core the server gets so the numbers compare:
    taskset -c 1 python bench/ort_floor.py --models lr,rf,mlp --duration 5
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def bench(fn, duration, warmup):
    t_end = time.perf_counter() + warmup
    while time.perf_counter() < t_end:
        fn()
    lat = []
    t0 = time.perf_counter()
    t_end = t0 + duration
    while True:
        a = time.perf_counter()
        fn()
        b = time.perf_counter()
        lat.append(b - a)
        if b >= t_end:
            break
    wall = time.perf_counter() - t0
    lat.sort()
    return len(lat), wall, lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.environ.get("BENCH_WORK", "/tmp/onnxhub-bench"))
    ap.add_argument("--models", default="lr,rf,mlp")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    import onnxruntime as ort

    rng = np.random.default_rng(0)
    for name in [m for m in args.models.split(",") if m]:
        path = os.path.join(args.work, "served", f"{name}.onnx")
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        nf = inp.shape[-1]
        for b in [int(x) for x in args.batches.split(",") if x]:
            X = rng.standard_normal((b, nf)).astype(np.float32)
            feeds = {inp.name: X}
            n, wall, lat = bench(lambda: sess.run(None, feeds), args.duration, args.warmup)  # noqa: B023
            rec = {
                "kind": "ort_floor",
                "engine": "onnxruntime",
                "version": ort.__version__,
                "model": name,
                "batch": b,
                "calls": n,
                "calls_per_s": round(n / wall, 1),
                "rows_per_s": round(n * b / wall, 1),
                "p50_us": round(lat[len(lat) // 2] * 1e6, 1),
                "p99_us": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6, 1),
                "cpu_affinity": sorted(os.sched_getaffinity(0)),
            }
            if args.label:
                rec["label"] = args.label
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
