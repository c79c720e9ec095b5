"""A graph's signature: its inputs (initializers excluded) and outputs as V2 tensor specs.

The one place that reads shapes: :func:`graph_inputs` (graph inputs minus initializers),
:func:`value_dims` (an ONNX value's dims) and :func:`as_dims` (onnxruntime's ``NodeArg.shape``),
each giving ``-1`` for a dynamic or unknown dimension.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from hub.errors import InvalidModelFile

if TYPE_CHECKING:  # TensorSpec is read by the catalog and the CLI: no onnx or numpy import
    import onnx
    from onnx import ModelProto


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


def graph_inputs(model: ModelProto) -> list[onnx.ValueInfoProto]:
    """The graph's real inputs: an initializer listed as an input is a weight, not an input."""
    initializers = {i.name for i in model.graph.initializer}
    return [v for v in model.graph.input if v.name not in initializers]


def value_dims(value: onnx.ValueInfoProto) -> tuple[int, ...]:
    """Declared dims of a tensor value: the size when fixed, -1 when symbolic or unknown."""
    return tuple(
        int(d.dim_value) if d.HasField("dim_value") else -1
        for d in value.type.tensor_type.shape.dim
    )


def as_dims(shape: Sequence[int | str | None]) -> tuple[int, ...]:
    """onnxruntime's ``NodeArg.shape`` (ints, symbolic names, None) as dims with -1 for dynamic."""
    return tuple(d if isinstance(d, int) and d >= 0 else -1 for d in shape)


def signature(
    model: ModelProto, label: str = "the model"
) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """(inputs, outputs) of the graph as tensor specs; initializers are not inputs.

    A value that is not a tensor (a ZipMap's sequence of maps) or has an element type the V2
    protocol cannot carry is refused as :class:`InvalidModelFile` naming ``label``.
    """

    def spec(value: onnx.ValueInfoProto) -> TensorSpec:
        if not value.type.HasField("tensor_type"):
            kind = value.type.WhichOneof("value")
            raise InvalidModelFile(
                f"{label}: graph value {value.name!r} is a {kind}, not a tensor; export tensors "
                "only (skl2onnx zipmap=False, or hub.families.normalize_onnx)"
            )
        elem = value.type.tensor_type.elem_type
        from hub.onnx.datatypes import ONNX_ELEM_TO_V2

        datatype = ONNX_ELEM_TO_V2.get(elem)
        if datatype is None:
            raise InvalidModelFile(
                f"{label}: graph value {value.name!r} has unsupported element type {elem}"
            )
        return TensorSpec(value.name, datatype, value_dims(value))

    inputs = tuple(spec(v) for v in graph_inputs(model))
    outputs = tuple(spec(v) for v in model.graph.output)
    return inputs, outputs
