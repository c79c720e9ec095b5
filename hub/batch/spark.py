"""Score catalogued models on Spark: ``hub.spark_udf(spark, "iris@production")``.

Like MLflow's ``spark_udf``, :func:`spark_udf` returns a pandas UDF: each worker process fetches
the pinned version once (see :mod:`hub.batch.source`), and each Arrow batch becomes one
onnxruntime run. Columns map to the model's inputs in one of three ways:

- one column per input, in the inputs' order (a ``[-1]`` or ``[-1, 1]`` input takes a scalar
  column, a ``[-1, k]`` input an array column of length ``k``);
- ``k`` scalar columns stacked into the single ``[-1, k]`` input of a tabular model;
- with :meth:`ModelUDF.transform` and no columns: the columns named like the inputs.

The result is a struct column with one field per model output (``label``, ``probabilities``
as an array...), or the one ``output=`` asked for. :meth:`ModelUDF.transform` checks a
DataFrame's columns and types against the model before any Spark job runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence, Tuple

import numpy as np

from hub.batch.source import ModelSource, resolve
from hub.errors import InvalidInput
from hub.onnx.datatypes import V2_TO_NUMPY
from hub.onnx.signature import TensorSpec

#: Spark SQL types accepted for each V2 datatype family.
_NUMERIC = {"byte", "short", "integer", "long", "float", "double", "decimal"}


def _spark_type(datatype: str) -> Any:
    from pyspark.sql import types as T

    return {
        "BOOL": T.BooleanType(),
        "UINT8": T.ShortType(),
        "UINT16": T.IntegerType(),
        "UINT32": T.LongType(),
        "UINT64": T.LongType(),
        "INT8": T.ByteType(),
        "INT16": T.ShortType(),
        "INT32": T.IntegerType(),
        "INT64": T.LongType(),
        "FP16": T.FloatType(),
        "FP32": T.FloatType(),
        "FP64": T.DoubleType(),
        "BYTES": T.StringType(),
    }[datatype]


def _width(spec: TensorSpec) -> int | None:
    """Values per row: None for a scalar per row (``[-1]``/``[-1, 1]``), else ``k``."""
    if len(spec.shape) == 1 or (len(spec.shape) == 2 and spec.shape[1] == 1):
        return None
    if len(spec.shape) == 2 and spec.shape[1] > 0:
        return spec.shape[1]
    raise InvalidInput(
        f"tensor {spec.name!r} has shape {list(spec.shape)}: Spark scoring takes [-1], [-1, 1] "
        "or [-1, k] tensors"
    )


@dataclass(frozen=True)
class FeedPlan:
    """How the UDF's argument columns become model inputs: ``stack`` puts all columns into the
    one ``[-1, k]`` input; ``each`` gives argument ``i`` to input ``i``."""

    mode: str
    inputs: tuple[TensorSpec, ...]

    @classmethod
    def for_columns(cls, inputs: Sequence[TensorSpec], count: int, ref: str) -> "FeedPlan":
        inputs = tuple(inputs)
        if len(inputs) == 1 and count > 1 and _width(inputs[0]) == count:
            return cls("stack", inputs)
        if count == len(inputs):
            for spec in inputs:
                _width(spec)
            return cls("each", inputs)
        widths = [_width(s) for s in inputs]
        expected = (
            f"{widths[0]} feature columns or one array column"
            if len(inputs) == 1 and widths[0]
            else f"{len(inputs)} column(s), one per input ({', '.join(s.name for s in inputs)})"
        )
        raise InvalidInput(f"{ref} takes {expected}; got {count} column(s)")

    def feeds(self, series: Sequence[Any], names: Sequence[str]) -> dict[str, np.ndarray]:
        """The onnxruntime feeds for one Arrow batch (pandas Series, one per column)."""
        if self.mode == "stack":
            spec = self.inputs[0]
            return {
                spec.name: np.column_stack([_values(s, spec, n) for s, n in zip(series, names)])
            }
        feeds = {}
        for s, name, spec in zip(series, names, self.inputs):
            width = _width(spec)
            if width is None:
                array = _values(s, spec, name)
                feeds[spec.name] = array.reshape(-1, 1) if len(spec.shape) == 2 else array
            else:
                rows = list(s)
                if any(r is None or len(r) != width for r in rows):
                    raise InvalidInput(
                        f"column {name!r}: every row must hold {width} values for input {spec.name!r}"
                    )
                feeds[spec.name] = np.array(
                    [np.asarray(r) for r in rows], dtype=V2_TO_NUMPY[spec.datatype]
                ).reshape(-1, width)
        return feeds


def _values(series: Any, spec: TensorSpec, column: str) -> np.ndarray:
    dtype = V2_TO_NUMPY[spec.datatype]
    if series.isna().any():
        raise InvalidInput(f"column {column!r} has missing values; input {spec.name!r} needs all")
    if spec.datatype == "BYTES":
        return series.astype(str).to_numpy(dtype=object)
    if series.dtype == object or str(series.dtype) in ("string", "str"):
        raise InvalidInput(
            f"column {column!r} holds text; input {spec.name!r} expects {spec.datatype}"
        )
    return series.to_numpy(dtype=dtype)


def _output_column(spec: TensorSpec, array: np.ndarray) -> list | np.ndarray:
    if _width(spec) is None:
        flat = array.reshape(-1)
        return flat.astype(str).tolist() if spec.datatype == "BYTES" else flat
    return [row for row in array.reshape(array.shape[0], -1)]


class ModelUDF:
    """The pandas UDF of one pinned model version (see the module docstring)."""

    def __init__(self, source: ModelSource, output: str | None = None) -> None:
        self.source = source
        names = [o.name for o in source.outputs]
        if output is not None and output not in names:
            raise InvalidInput(
                f"{source.ref} has no output {output!r} (outputs: {', '.join(names)})"
            )
        self.output = output
        self.outputs = tuple(o for o in source.outputs if output is None or o.name == output)
        for spec in (*source.inputs, *self.outputs):
            _width(spec)

    @property
    def return_type(self) -> Any:
        from pyspark.sql import types as T

        def field_type(spec: TensorSpec) -> Any:
            base = _spark_type(spec.datatype)
            return base if _width(spec) is None else T.ArrayType(base, containsNull=False)

        if self.output is not None:
            return field_type(self.outputs[0])
        return T.StructType([T.StructField(o.name, field_type(o)) for o in self.outputs])

    def __call__(self, *columns: Any) -> Any:
        """A Spark column scoring ``columns`` (names or Column objects)."""
        import pandas as pd
        from pyspark.sql.functions import pandas_udf

        if not columns:
            columns = tuple(s.name for s in self.source.inputs)
        plan = FeedPlan.for_columns(self.source.inputs, len(columns), self.source.ref)
        source, outputs, single = self.source, self.outputs, self.output
        names = [c if isinstance(c, str) else str(c) for c in columns]
        wanted = [o.name for o in outputs]

        def score(batches):
            session = source.session()
            for batch in batches:
                series = batch if isinstance(batch, tuple) else (batch,)
                results = session.run(wanted, plan.feeds(series, names))
                if single is not None:
                    yield pd.Series(_output_column(outputs[0], results[0]))
                else:
                    yield pd.DataFrame(
                        {o.name: _output_column(o, r) for o, r in zip(outputs, results)}
                    )

        # pandas_udf reads the UDF kind from these hints (iterator of batches in and out).
        score.__annotations__ = {
            "batches": Iterator[pd.Series]
            if len(columns) == 1
            else Iterator[Tuple[pd.Series, ...]],
            "return": Iterator[pd.Series] if single is not None else Iterator[pd.DataFrame],
        }
        udf = pandas_udf(score, returnType=self.return_type)  # type: ignore[call-overload]
        return udf(*columns)

    def check(self, df: Any, columns: Sequence[str]) -> FeedPlan:
        """InvalidInput unless ``df`` has ``columns`` with types the model's inputs take."""
        fields = {f.name: f.dataType for f in df.schema.fields}
        missing = [c for c in columns if c not in fields]
        if missing:
            raise InvalidInput(
                f"missing column(s) {', '.join(repr(c) for c in missing)} for {self.source.ref} "
                f"(columns: {', '.join(fields)})"
            )
        plan = FeedPlan.for_columns(self.source.inputs, len(columns), self.source.ref)
        specs = [plan.inputs[0]] * len(columns) if plan.mode == "stack" else plan.inputs
        for column, spec in zip(columns, specs):
            kind = fields[column]
            scalar = plan.mode == "stack" or _width(spec) is None
            element = kind if scalar else getattr(kind, "elementType", None)
            if not scalar and kind.typeName() != "array":
                element = None
            if element is None or not _accepts(spec.datatype, element.typeName()):
                want = spec.datatype if scalar else f"array of {spec.datatype}"
                raise InvalidInput(
                    f"column {column!r} is {kind.simpleString()}; input {spec.name!r} of "
                    f"{self.source.ref} expects {want}"
                )
        return plan

    def transform(self, df: Any, columns: Sequence[str] | None = None, prefix: str = "") -> Any:
        """``df`` with one column per model output (``prefix`` + output name) appended; the
        columns and their types are checked first, before any Spark job. Scores Arrow batches
        directly (``mapInArrow``), the fastest path; the UDF itself composes with any query."""
        from hub.batch import arrow

        if columns is None:
            columns = _default_columns(self.source.inputs, df)
        return arrow.transform(self, df, list(columns), prefix)


def _accepts(datatype: str, spark_type: str) -> bool:
    if datatype == "BYTES":
        return spark_type == "string"
    if datatype == "BOOL":
        return spark_type == "boolean"
    return spark_type in _NUMERIC


def _default_columns(inputs: Sequence[TensorSpec], df: Any) -> list[str]:
    """Columns named like the inputs; for one ``[-1, k]`` input, a ``k``-column DataFrame."""
    names = [s.name for s in inputs]
    if all(n in df.columns for n in names):
        return names
    if len(inputs) == 1 and _width(inputs[0]) == len(df.columns):
        return list(df.columns)
    raise InvalidInput(
        f"cannot tell which columns feed input(s) {', '.join(names)} "
        f"(columns: {', '.join(df.columns)}); name them"
    )


def spark_udf(
    spark: Any,
    model: str,
    *,
    output: str | None = None,
    hub: Any = None,
    hub_url: str | None = None,
    token: str | None = None,
) -> ModelUDF:
    """A pandas UDF scoring ``model`` (``NAME``, ``NAME:VERSION``, ``NAME@ALIAS``), resolved
    once on the driver; see :func:`hub.batch.source.resolve` for ``hub``/``hub_url``/``token``.

    ``spark`` is the active SparkSession (kept for MLflow's signature; workers need
    ``onnxruntime`` and access to the artifact store or hub). Use it as
    ``df.withColumn("scores", udf("a", "b", "c", "d"))`` or ``udf.transform(df)``.
    """
    del spark  # the UDF runs in whichever session evaluates it
    return ModelUDF(resolve(model, hub=hub, hub_url=hub_url, token=token), output)
