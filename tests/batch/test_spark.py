"""Batch scoring on a real Spark (pyspark, ``local[2]``, Java 17): ``hub.spark_udf`` and
``onnxhub score``, checked value by value against scikit-learn on 100,000 rows."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import hub
from hub.api import Hub
from hub.cli.main import cli
from hub.errors import InvalidInput, NotFound
from hub.settings import Settings

ROWS = 100_000
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers need this venv
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("onnxhub-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def model_and_rows() -> tuple[object, pd.DataFrame]:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(
        n_samples=ROWS + 500, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
        random_state=0,
    )  # fmt: skip
    X = X.astype(np.float32)
    model = LogisticRegression(max_iter=500).fit(X[:500], y[:500])
    return model, pd.DataFrame(X[500:], columns=COLUMNS)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_and_rows) -> Hub:  # type: ignore[no-untyped-def]
    for name in ("ONNXHUB_DATABASE_URL", "ONNXHUB_ARTIFACTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "home"))
    model, rows = model_and_rows
    with Hub(Settings.from_env()) as h:
        h.publish(model, name="iris", sample=rows.to_numpy()[:40], alias="production")
        yield h


def _jobs(spark, group: str) -> list[int]:  # type: ignore[no-untyped-def]
    return list(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def test_spark_udf_scores_equal_scikit_learn_on_100k_rows(spark, home: Hub, model_and_rows) -> None:  # type: ignore[no-untyped-def]
    model, rows = model_and_rows
    df = spark.createDataFrame(rows.assign(id=np.arange(ROWS))).repartition(4)
    udf = hub.spark_udf(spark, "iris@production")
    assert udf.source.version == 1 and udf.source.sha256 == home.get_version("iris").sha256
    scored = df.withColumn("scores", udf(*COLUMNS)).select("id", "scores.*").toPandas()
    scored = scored.sort_values("id")
    assert scored["id"].tolist() == list(range(ROWS))
    X = rows.to_numpy()
    np.testing.assert_array_equal(scored["label"].to_numpy(), model.predict(X))
    probabilities = np.stack(scored["probabilities"].to_numpy())
    np.testing.assert_allclose(probabilities, model.predict_proba(X), atol=1e-5)

    # One output only, as a plain column, through transform (checked first).
    only = hub.spark_udf(spark, "iris:1", output="label").transform(df, COLUMNS, prefix="p_")
    assert only.schema["p_label"].dataType.typeName() == "long"
    assert only.columns == [*COLUMNS, "id", "p_label"]


def test_bad_columns_and_types_fail_before_any_spark_job(spark, home: Hub, model_and_rows) -> None:  # type: ignore[no-untyped-def]
    _, rows = model_and_rows
    df = spark.createDataFrame(rows.head(100))
    udf = hub.spark_udf(spark, "iris")
    spark.sparkContext.setJobGroup("onnxhub-checks", "checks only")
    with pytest.raises(InvalidInput, match=r"missing column\(s\) 'petal_widht' for iris:1"):
        udf.transform(df, ["sepal_length", "sepal_width", "petal_length", "petal_widht"])
    text = df.withColumn("petal_width", df["petal_width"].cast("string"))
    with pytest.raises(
        InvalidInput, match="column 'petal_width' is string; input 'input' of iris:1 expects FP32"
    ):
        udf.transform(text, COLUMNS)
    with pytest.raises(InvalidInput, match="takes 4 feature columns or one array column; got 3"):
        udf.transform(df, COLUMNS[:3])
    with pytest.raises(InvalidInput, match="no output 'proba'"):
        hub.spark_udf(spark, "iris", output="proba")
    with pytest.raises(NotFound):
        hub.spark_udf(spark, "iris@staging")
    assert _jobs(spark, "onnxhub-checks") == []  # nothing ran
    spark.sparkContext.setJobGroup("onnxhub-rest", "")


def test_onnxhub_score_cli_on_parquet_and_csv(
    spark, home: Hub, model_and_rows, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    model, rows = model_and_rows
    sample = rows.head(2000).reset_index(drop=True)
    sample.insert(0, "id", np.arange(len(sample)))
    parquet_in = tmp_path / "rows.parquet"
    sample.to_parquet(parquet_in)
    out = tmp_path / "scores.parquet"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "score",
            "iris@production",
            str(parquet_in),
            "-o",
            str(out),
            "--columns",
            ",".join(COLUMNS),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "scored 2000 rows with iris:1" in result.output
    got = pd.read_parquet(out).sort_values("id")
    X = sample[COLUMNS].to_numpy()
    np.testing.assert_array_equal(got["label"].to_numpy(), model.predict(X))
    np.testing.assert_allclose(np.stack(got["probabilities"]), model.predict_proba(X), atol=1e-5)

    # CSV in and out; arrays become JSON text; only the kept columns are copied.
    csv_in = tmp_path / "rows.csv"
    sample.to_csv(csv_in, index=False)
    csv_out = tmp_path / "scores.csv"
    args = ["score", "iris", str(csv_in), "-o", str(csv_out), "--columns", ",".join(COLUMNS)]
    result = runner.invoke(cli, [*args, "--keep", "id"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = pd.concat(pd.read_csv(p) for p in sorted(csv_out.glob("part-*.csv"))).sort_values("id")
    assert list(got.columns) == ["id", "label", "probabilities"]
    np.testing.assert_array_equal(got["label"].to_numpy(), model.predict(X))
    probabilities = np.array([json.loads(p) for p in got["probabilities"]])
    np.testing.assert_allclose(probabilities, model.predict_proba(X), atol=1e-5)

    # Errors: one line, the right exit code, nothing written.
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 4 and "pass --overwrite" in result.output
    bad = runner.invoke(
        cli, ["score", "iris", str(parquet_in), "-o", str(tmp_path / "x.parquet"), "--columns",
              "a,b,c,d"], catch_exceptions=False,
    )  # fmt: skip
    assert bad.exit_code == 2 and "missing column(s) 'a', 'b', 'c', 'd'" in bad.output
    assert not (tmp_path / "x.parquet").exists()
    missing = runner.invoke(
        cli, ["score", "nosuch", str(parquet_in), "-o", str(tmp_path / "y.parquet")],
        catch_exceptions=False,
    )  # fmt: skip
    assert missing.exit_code == 3 and not (tmp_path / "y.parquet").exists()


def test_spark_udf_reads_the_model_from_a_hub_server(
    spark, home: Hub, model_and_rows, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Workers download the pinned version from ``onnxhub serve``'s /api (no catalog access)."""
    from serve_process import ServeProcess

    model, rows = model_and_rows
    server = ServeProcess.serve({"ONNXHUB_HOME": str(home.settings.home)}, tmp_path / "hub.log")
    try:
        server.wait_ready(120)
        udf = hub.spark_udf(spark, "iris@production", hub_url=server.url, token="")
        assert udf.source.hub_url == server.url and udf.source.artifacts is None
        assert udf.source.sha256 == home.get_version("iris").sha256
        sample = rows.head(5000)
        scored = udf.transform(spark.createDataFrame(sample), COLUMNS).toPandas()
        np.testing.assert_array_equal(scored["label"].to_numpy(), model.predict(sample.to_numpy()))
        with pytest.raises(NotFound):
            hub.spark_udf(spark, "iris:7", hub_url=server.url)
    finally:
        assert server.terminate(60) == 0, server.output()


def test_spark_udf_scores_a_model_with_external_data(spark, home: Hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A version whose weights live in data files beside the graph: each worker lays out all
    its files (verified) before opening the session."""
    from large.models import mlp_reference, write_mlp

    mlp = write_mlp(tmp_path / "mlp", widths=(8, 64, 64, 3))
    rows = np.random.default_rng(3).standard_normal((3000, 8)).astype(np.float32)
    info = home.publish(mlp.graph, name="mlp", sample=rows[:20])
    assert len(home.manifest(info).files) > 1
    udf = hub.spark_udf(spark, "mlp")
    assert len(udf.source.files) == len(home.manifest(info).files)
    df = spark.createDataFrame(pd.DataFrame({"input": list(rows)}))
    scored = udf.transform(df, ["input"]).toPandas()
    np.testing.assert_allclose(
        np.stack(scored["output"].to_numpy()), mlp_reference(mlp, rows), rtol=1e-4, atol=1e-4
    )
