#!/usr/bin/env python3
"""Spark batch scoring (``hub.spark_udf`` on ``local[N]``) against in-process onnxruntime on
the same rows and the same ONNX bytes.

A scikit-learn LogisticRegression (4 features, 3 classes) is published to a temporary hub;
``--rows`` rows are written to Parquet. Three timings, each after a warm-up:

- ``ort_1thread``: ``InferenceSession.run`` over the whole array in ``--batch``-row slices,
  one intra-op thread (one core), in this process;
- ``ort_all``: the same with onnxruntime's default threads;
- ``spark``: read the Parquet file, add the scores with the UDF, write them with Spark's
  ``noop`` sink (the whole plan runs, nothing is collected to the driver).

    .venv/bin/python bench/scale/spark_throughput.py --rows 1000000 > bench/scale/spark.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per leg (best kept)")
    args = parser.parse_args()

    import onnxruntime as ort
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from hub.api import Hub
    from hub.batch.spark import spark_udf
    from hub.settings import Settings

    X, y = make_classification(
        n_samples=args.rows + 1000, n_features=4, n_informative=3, n_redundant=0,
        n_classes=3, random_state=0,
    )  # fmt: skip
    X = X.astype(np.float32)
    model = LogisticRegression(max_iter=500).fit(X[:1000], y[:1000])
    rows = X[1000:]
    result: dict = {"rows": args.rows, "cpus": os.cpu_count(), "master": args.master}
    with tempfile.TemporaryDirectory(prefix="onnxhub-spark-bench-") as folder:
        home = Path(folder)
        hub = Hub(Settings.for_home(home / "home"))
        info = hub.publish(model, name="iris", sample=rows[:100], alias="production")
        model_bytes = hub.model_bytes(info)

        def best(run) -> float:  # type: ignore[no-untyped-def]
            run()
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            return min(times)

        for leg, threads in (("ort_1thread", 1), ("ort_all", 0)):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])

            def in_process(session=session) -> None:  # type: ignore[no-untyped-def]
                for start in range(0, len(rows), args.batch):
                    session.run(None, {"input": rows[start : start + args.batch]})

            seconds = best(in_process)
            result[leg] = {"seconds": round(seconds, 3), "rows_per_s": round(len(rows) / seconds)}

        parquet = home / "rows.parquet"
        pd.DataFrame(rows, columns=["a", "b", "c", "d"]).to_parquet(parquet)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master(args.master)
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch))
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        udf = spark_udf(spark, "iris@production", hub=hub)
        df = spark.read.parquet(str(parquet))

        def on_spark() -> None:
            udf.transform(df, ["a", "b", "c", "d"]).write.format("noop").mode("overwrite").save()

        seconds = best(on_spark)
        result["spark"] = {"seconds": round(seconds, 3), "rows_per_s": round(len(rows) / seconds)}
        result["spark_vs_ort_1thread"] = round(
            result["spark"]["rows_per_s"] / result["ort_1thread"]["rows_per_s"], 3
        )
        spark.stop()
        hub.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
