"""Scoring Arrow record batches directly (Spark's ``mapInArrow``): no pandas in between.

Array outputs (class probabilities) are built as Arrow list arrays over the onnxruntime output
buffer instead of one Python object per row, which is what made the pandas path slow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from hub.errors import InvalidInput
from hub.onnx.datatypes import V2_TO_NUMPY
from hub.onnx.signature import TensorSpec

if TYPE_CHECKING:
    from hub.batch.spark import FeedPlan, ModelUDF

_NUMPY = {
    "BOOL": np.bool_,
    "UINT8": np.int16,  # Spark has no unsigned types: widened like the Spark schema
    "UINT16": np.int32,
    "UINT32": np.int64,
    "UINT64": np.int64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float32,
    "FP32": np.float32,
    "FP64": np.float64,
}


def _scalar(column: Any, spec: TensorSpec, name: str) -> np.ndarray:
    if column.null_count:
        raise InvalidInput(f"column {name!r} has missing values; input {spec.name!r} needs all")
    if spec.datatype == "BYTES":
        return np.asarray(column.to_pylist(), dtype=object)
    return column.to_numpy(zero_copy_only=False).astype(V2_TO_NUMPY[spec.datatype], copy=False)


def _array(column: Any, spec: TensorSpec, name: str, width: int) -> np.ndarray:
    import pyarrow.compute as pc

    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    if column.null_count or len(lengths) and (lengths != width).any():
        raise InvalidInput(
            f"column {name!r}: every row must hold {width} values for input {spec.name!r}"
        )
    values = column.flatten().to_numpy(zero_copy_only=False)
    return values.astype(V2_TO_NUMPY[spec.datatype], copy=False).reshape(-1, width)


def arrow_feeds(plan: FeedPlan, batch: Any, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """The onnxruntime feeds of one ``pyarrow.RecordBatch``."""
    from hub.batch.spark import _width

    if plan.mode == "stack":
        spec = plan.inputs[0]
        parts = [_scalar(batch.column(c), spec, c) for c in columns]
        return {spec.name: np.column_stack(parts) if parts else np.empty((0, 0))}
    feeds = {}
    for name, spec in zip(columns, plan.inputs):
        width = _width(spec)
        column = batch.column(name)
        if width is None:
            array = _scalar(column, spec, name)
            feeds[spec.name] = array.reshape(-1, 1) if len(spec.shape) == 2 else array
        else:
            feeds[spec.name] = _array(column, spec, name, width)
    return feeds


def arrow_output(spec: TensorSpec, array: np.ndarray) -> Any:
    """One model output as an Arrow array (a list array for ``[-1, k]`` outputs)."""
    import pyarrow as pa

    from hub.batch.spark import _width

    rows = array.shape[0]
    if spec.datatype == "BYTES":
        values = pa.array([str(v) for v in array.reshape(-1)], type=pa.string())
    else:
        values = pa.array(array.reshape(-1).astype(_NUMPY[spec.datatype], copy=False))
    width = _width(spec)
    if width is None:
        return values
    offsets = pa.array(np.arange(0, rows * width + 1, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, values)


def transform(udf: ModelUDF, df: Any, columns: Sequence[str], prefix: str) -> Any:
    """``df`` with the model's outputs appended, scored batch by batch with ``mapInArrow``."""
    from pyspark.sql import types as T

    plan = udf.check(df, list(columns))
    return_type = udf.return_type
    if udf.output is not None:
        added = [T.StructField(prefix + udf.output, return_type)]
    else:
        added = [T.StructField(prefix + f.name, f.dataType) for f in return_type.fields]
    clash = [f.name for f in added if f.name in df.columns]
    if clash:
        raise InvalidInput(
            f"the input already has column(s) {', '.join(clash)}; pass a prefix for the scores"
        )
    schema = T.StructType([*df.schema.fields, *added])
    source, outputs = udf.source, udf.outputs
    wanted = [o.name for o in outputs]
    names = [f.name for f in added]
    columns = list(columns)

    def score(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        session = source.session()
        for batch in batches:
            if batch.num_rows == 0:
                results = [np.empty((0,) + tuple(max(d, 1) for d in o.shape[1:])) for o in outputs]
            else:
                results = session.run(wanted, arrow_feeds(plan, batch, columns))
            arrays = [arrow_output(o, r) for o, r in zip(outputs, results)]
            yield pa.RecordBatch.from_arrays(
                [*batch.columns, *arrays], names=[*batch.schema.names, *names]
            )

    return df.mapInArrow(score, schema)
