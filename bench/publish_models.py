#!/usr/bin/env python3
"""Publish the benchmark models to an onnxhub home and write out what it serves.

For each model built by make_models.py (``<work>/models/<name>/model.joblib`` and
its held-out ``sample.npy``), publish it with onnxhub's sklearn family into the
hub at ``ONNXHUB_HOME`` (skipped when a version of that name already exists),
then write the exact ONNX bytes onnxhub serves to ``<work>/served/<name>.onnx``
and the first input's name, datatype and width to ``<work>/served/<name>.json``
(bench/ort_floor.py and bench/run.sh read them).

    ONNXHUB_HOME=/tmp/onnxhub-bench/home python bench/publish_models.py --models lr,rf,mlp
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.environ.get("BENCH_WORK", "/tmp/onnxhub-bench"))
    ap.add_argument("--models", default="lr,rf,mlp")
    args = ap.parse_args()

    import onnxruntime as ort

    from hub.api import Hub
    from hub.errors import HubError
    from hub.settings import Settings

    work = Path(args.work)
    out = work / "served"
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env()
    with Hub(settings) as hub:
        for name in [m for m in args.models.split(",") if m]:
            mdir = work / "models" / name
            try:
                version = hub.get_version(name)
                action = "already published"
            except HubError:
                sample = np.load(mdir / "sample.npy")
                version = hub.publish(str(mdir / "model.joblib"), name=name, sample=sample)
                action = "published"
            onnx_bytes = hub.model_bytes(version)
            (out / f"{name}.onnx").write_bytes(onnx_bytes)
            sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
            first = sess.get_inputs()[0]
            info = {
                "model": name,
                "version": version.ref,
                "sha256": version.sha256,
                "input": first.name,
                "input_type": first.type,
                "features": first.shape[-1],
                "outputs": [o.name for o in sess.get_outputs()],
            }
            (out / f"{name}.json").write_text(json.dumps(info))
            print(action, json.dumps(info), flush=True)


if __name__ == "__main__":
    main()
