"""``onnxhub score REF INPUT --output OUT``: batch scoring on Spark (local by default)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from hub.cli.common import console
from hub.errors import Conflict, InvalidInput


def _format(path: str, given: str | None) -> str:
    if given:
        return given
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix in (".csv", ".parquet"):
        return suffix[1:]
    raise InvalidInput(
        f"cannot tell the format of {path!r}: name it .csv or .parquet, or pass --format"
    )


@click.command()
@click.argument("ref")
@click.argument("input_path", metavar="INPUT")
@click.option("--output", "-o", "output_path", required=True, help="Where Spark writes the scores.")
@click.option(
    "--columns",
    help="Comma-separated input columns, in the model's feature order (default: the columns "
    "named like the model's inputs, or every column of INPUT for a one-input tabular model).",
)
@click.option("--output-name", help="Only this model output (default: every output).")
@click.option("--prefix", default="", help="Prefix for the added score columns.")
@click.option("--keep", help="Comma-separated INPUT columns copied to OUT (default: all).")
@click.option("--format", "input_format", type=click.Choice(["csv", "parquet"]))
@click.option("--output-format", type=click.Choice(["csv", "parquet"]))
@click.option("--master", default="local[*]", show_default=True, help="Spark master URL.")
@click.option("--hub-url", help="Read the model from this hub server instead of the local catalog.")
@click.option("--token", envvar="ONNXHUB_TOKEN", help="Bearer token for --hub-url.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def score(
    ref: str,
    input_path: str,
    output_path: str,
    columns: str | None,
    output_name: str | None,
    prefix: str,
    keep: str | None,
    input_format: str | None,
    output_format: str | None,
    master: str,
    hub_url: str | None,
    token: str | None,
    overwrite: bool,
) -> None:
    """Score INPUT (CSV with a header, or Parquet) with REF (NAME, NAME:VERSION, NAME@ALIAS) on
    Spark and write the input columns plus one column per model output to OUT.

    The model, the columns and their types are checked before any scoring starts; array
    outputs (probabilities) are written as arrays in Parquet and as JSON text in CSV.
    """
    from hub.batch.spark import spark_udf

    in_format = _format(input_path, input_format)
    out_format = _format(output_path, output_format)
    if Path(output_path).exists() and not overwrite:
        raise Conflict(f"{output_path} exists; pass --overwrite to replace it")
    selected = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if in_format == "csv" and not Path(input_path).exists() and "://" not in input_path:
        raise InvalidInput(f"input {input_path!r} does not exist")
    if in_format == "parquet" and not Path(input_path).exists() and "://" not in input_path:
        raise InvalidInput(f"input {input_path!r} does not exist")

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter
    started = time.perf_counter()
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (
        SparkSession.builder.master(master)
        .appName(f"onnxhub score {ref}")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    udf = spark_udf(spark, ref, output=output_name, hub_url=hub_url, token=token)
    reader = spark.read
    if in_format == "csv":
        df = reader.option("header", True).option("inferSchema", True).csv(input_path)
    else:
        df = reader.parquet(input_path)
    if keep is not None:
        kept = [c.strip() for c in keep.split(",") if c.strip()]
        unknown = [c for c in kept if c not in df.columns]
        if unknown:
            raise InvalidInput(f"--keep: no column(s) {', '.join(unknown)} in {input_path}")
    scored = udf.transform(df, selected, prefix=prefix)
    if keep is not None:
        added = [c for c in scored.columns if c not in df.columns]
        scored = scored.select(*kept, *added)
    if out_format == "csv":
        for field in scored.schema.fields:
            if field.dataType.typeName() == "array":
                scored = scored.withColumn(field.name, F.to_json(F.col(field.name)))
    writer = scored.write.mode("overwrite" if overwrite else "errorifexists")
    if out_format == "csv":
        writer.option("header", True).csv(output_path)
    else:
        writer.parquet(output_path)
    rows = spark.read.parquet(output_path).count() if out_format == "parquet" else None
    seconds = time.perf_counter() - started
    counted = f"{rows} rows " if rows is not None else ""
    console.print(f"scored {counted}with {udf.source.ref} in {seconds:.1f} s -> {output_path}")
