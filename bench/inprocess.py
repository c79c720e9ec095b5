#!/usr/bin/env python3
"""In-process: ``hub.open(ref).predict(x)`` against a bare ``InferenceSession.run``.

For each benchmark model published by publish_models.py into ``ONNXHUB_HOME``, both run on
the same ONNX bytes with one onnxruntime thread (``ONNXHUB_INTRA_OP_THREADS=1`` for the hub,
``intra_op_num_threads=1`` for the bare session), on the same 1-row float32 ``[1, F]`` input,
every output fetched. The two are timed in alternating rounds (``--rounds`` of ``--calls``
calls each) so that background load hits both alike; the figure per side is the median over
rounds of the mean µs per call, and the ratio is taken per round, then the median.

    ONNXHUB_HOME=/tmp/onnxhub-bench/home taskset -c 1 python bench/inprocess.py
    ... --profile lr     # cProfile of predict() only, top functions by own time

Target (issue 15): predict within 1.3x of the bare run.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
os.environ.setdefault("ONNXHUB_INTRA_OP_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

TARGET = 1.3


def _round(fn: Callable[[], Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def compare(bare: Callable[[], Any], hub: Callable[[], Any], rounds: int, calls: int) -> dict:
    for _ in range(calls):  # warm both
        bare()
        hub()
    bare_us, hub_us, ratios = [], [], []
    for _ in range(rounds):
        b = _round(bare, calls)
        h = _round(hub, calls)
        bare_us.append(b * 1e6)
        hub_us.append(h * 1e6)
        ratios.append(h / b)
    return {
        "bare_us": round(statistics.median(bare_us), 2),
        "predict_us": round(statistics.median(hub_us), 2),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.environ.get("BENCH_WORK", "/tmp/onnxhub-bench"))
    ap.add_argument("--models", default="lr,rf,mlp")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--profile", default="", help="model name: cProfile its predict() instead")
    args = ap.parse_args()

    import onnxruntime as ort

    from hub.api import Hub
    from hub.settings import Settings

    settings = Settings.from_env()
    with Hub(settings) as hub:
        for name in [m for m in args.models.split(",") if m]:
            predictor = hub.open(name)
            model_bytes = hub.model_bytes(predictor.version)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
            first = session.get_inputs()[0]
            sample = np.load(Path(args.work) / "models" / name / "sample.npy")
            x = np.ascontiguousarray(sample[:1], dtype=np.float32)
            feeds = {first.name: x}

            def bare(session: Any = session, feeds: dict = feeds) -> Any:
                return session.run(None, feeds)

            def hub_predict(predictor: Any = predictor, x: np.ndarray = x) -> Any:
                return predictor.predict(x)

            expected = bare()
            got = hub_predict()
            for out, value in zip(session.get_outputs(), expected):
                np.testing.assert_allclose(got[out.name], value, rtol=1e-6)
            if args.profile == name:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(args.calls * 10):
                    hub_predict()
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
                continue
            row = {"model": name, **compare(bare, hub_predict, args.rounds, args.calls)}
            row["target"] = f"<= {TARGET}x"
            row["met"] = row["ratio"] <= TARGET
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
