#!/usr/bin/env python3
"""Build the three benchmark models deterministically (seeded) and export them.

Writes, under the work dir (default /tmp/onnxhub-bench, override with BENCH_WORK
or --out):
  models/<name>/model.joblib   scikit-learn estimator (published to onnxhub; served by MLServer)
  models/<name>/model.onnx     plain skl2onnx export, input "input_0" [None, F] float32,
                               zipmap disabled (plain tensors out); reference only
  models/<name>/sample.npy     256 held-out float32 rows (a separate draw, never trained
                               on): the sample given to ``onnxhub publish``
  models/<name>/sample.json    deterministic test rows + sklearn reference outputs
  models/manifest.json         name -> n_features, versions, sha256 of artefacts

Models (all random_state=0):
  lr   LogisticRegression        make_classification(5000, 30 features, 2 classes)
  rf   RandomForestClassifier    100 trees, max_depth=8, same 30-feature data
  mlp  MLPClassifier(256, 256)   make_classification(5000, 64 features, 2 classes)

The joblib files must be loaded with the *same* scikit-learn version that wrote
them (the project venv and the MLServer venv both pin scikit-learn 1.9.1).
"""

import argparse
import hashlib
import json
import os
import sys
import warnings

import joblib
import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

SEED = 0
N_SAMPLES = 5000


def data(n_features, n_samples=N_SAMPLES, seed=SEED):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=min(20, n_features // 2),
        n_redundant=min(5, n_features // 4),
        n_classes=2,
        random_state=seed,
    )
    return X.astype(np.float32), y


def build():
    X30, y30 = data(30)
    X64, y64 = data(64)
    models = {}
    models["lr"] = (LogisticRegression(max_iter=1000, random_state=SEED).fit(X30, y30), X30, y30)
    models["rf"] = (
        RandomForestClassifier(n_estimators=100, max_depth=8, random_state=SEED, n_jobs=1).fit(
            X30, y30
        ),
        X30,
        y30,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models["mlp"] = (
            MLPClassifier(hidden_layer_sizes=(256, 256), max_iter=30, random_state=SEED).fit(
                X64, y64
            ),
            X64,
            y64,
        )
    return models


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.environ.get("BENCH_WORK", "/tmp/onnxhub-bench"))
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    args = ap.parse_args()
    root = os.path.join(args.out, "models")
    os.makedirs(root, exist_ok=True)

    manifest = {
        "python": sys.version.split()[0],
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "models": {},
    }
    if not args.no_onnx:
        import onnx
        import onnxruntime as ort
        import skl2onnx
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        manifest.update(
            onnx=onnx.__version__, onnxruntime=ort.__version__, skl2onnx=skl2onnx.__version__
        )

    rng = np.random.default_rng(SEED)
    for name, (est, X, y) in build().items():
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        nf = X.shape[1]
        jpath = os.path.join(d, "model.joblib")
        joblib.dump(est, jpath)
        rows = X[rng.choice(len(X), size=32, replace=False)]
        entry = {
            "estimator": type(est).__name__,
            "n_features": nf,
            "train_accuracy": round(float(est.score(X, y)), 4),
            "joblib_sha256": sha256(jpath),
        }
        sample = {
            "rows": rows.tolist(),
            "predict": est.predict(rows).tolist(),
            "predict_proba": est.predict_proba(rows).tolist(),
        }
        if not args.no_onnx:
            onx = convert_sklearn(
                est,
                initial_types=[("input-0", FloatTensorType([None, nf]))],
                options={id(est): {"zipmap": False}},
                target_opset=17,
            )
            onx.graph.name = (
                f"bench_{name}"  # skl2onnx puts a random uuid here; pin it for byte-identical files
            )
            opath = os.path.join(d, "model.onnx")
            with open(opath, "wb") as f:
                f.write(onx.SerializeToString())
            sess = ort.InferenceSession(opath, providers=["CPUExecutionProvider"])
            in_name = sess.get_inputs()[0].name  # skl2onnx turns "input-0" into "input_0"
            label, proba = sess.run(None, {in_name: rows})
            entry["onnx_input"] = in_name
            entry["onnx_sha256"] = sha256(opath)
            entry["onnx_outputs"] = [o.name for o in sess.get_outputs()]
            entry["onnx_label_matches_sklearn"] = bool((label == est.predict(rows)).all())
            entry["onnx_proba_max_abs_diff"] = float(np.abs(proba - est.predict_proba(rows)).max())
        held_out, _ = data(nf, n_samples=256, seed=SEED + 1)
        np.save(os.path.join(d, "sample.npy"), held_out)
        with open(os.path.join(d, "sample.json"), "w") as f:
            json.dump(sample, f)
        manifest["models"][name] = entry
        print(name, json.dumps(entry))
    with open(os.path.join(root, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print("wrote", root)


if __name__ == "__main__":
    main()
