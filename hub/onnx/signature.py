"""A graph's signature: its inputs (initializers excluded) and outputs as V2 tensor specs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import onnx
from onnx import ModelProto

from hub.errors import InvalidModelFile
from hub.onnx.datatypes import ONNX_ELEM_TO_V2


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: name, V2 datatype (``FP32``...), shape with -1 for dynamic."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TensorSpec":
        return cls(data["name"], data["datatype"], tuple(int(d) for d in data["shape"]))



def _dims(value_type: onnx.TypeProto) -> tuple[int, ...]:
    dims = []
    for dim in value_type.tensor_type.shape.dim:
        dims.append(dim.dim_value if dim.HasField("dim_value") else -1)
    return tuple(dims)


def signature(model: ModelProto) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """(inputs, outputs) of the graph as tensor specs; initializers are not inputs."""
    initializers = {i.name for i in model.graph.initializer}

    def spec(value: onnx.ValueInfoProto) -> TensorSpec:
        if not value.type.HasField("tensor_type"):
            kind = value.type.WhichOneof("value")
            raise InvalidModelFile(
                f"graph value {value.name!r} is a {kind}, not a tensor; export tensors only "
                "(e.g. skl2onnx zipmap=False)"
            )
        elem = value.type.tensor_type.elem_type
        datatype = ONNX_ELEM_TO_V2.get(elem)
        if datatype is None:
            raise InvalidModelFile(
                f"graph value {value.name!r} has unsupported element type {elem}"
            )
        return TensorSpec(value.name, datatype, _dims(value.type))

    inputs = tuple(spec(v) for v in model.graph.input if v.name not in initializers)
    outputs = tuple(spec(v) for v in model.graph.output)
    return inputs, outputs
