"""The ``onnx`` family: publish a model that is already ONNX (a ``.onnx`` file or a ModelProto).

There is no framework to compare with, so :meth:`OnnxFamily.predict` returns nothing and the hub
keeps onnxruntime's own outputs on the sample as the version's test data. The model is validated
here, before the hub would lower an export's IR version, so a file that declares an IR version or
opset the installed onnxruntime cannot run is refused with a clear message rather than rewritten.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hub.errors import InvalidInput
from hub.families import ExportedModel, FamilyInfo, FamilyPlugin, SampleData

NAME = "onnx"


def _is_model_proto(model: Any) -> bool:
    # A ModelProto can only exist once onnx is imported: no import just to answer a claim.
    onnx = sys.modules.get("onnx")
    return onnx is not None and isinstance(model, onnx.ModelProto)


def _graph_inputs(model: Any) -> list[Any]:
    """The graph's real inputs (initializers listed as inputs are weights, not inputs)."""
    initializers = {i.name for i in model.graph.initializer}
    return [v for v in model.graph.input if v.name not in initializers]


def _static_dims(value: Any) -> list[int | None]:
    """Declared dims of a graph value: an int when fixed, None when symbolic or unknown."""
    return [
        int(d.dim_value) if d.HasField("dim_value") else None
        for d in value.type.tensor_type.shape.dim
    ]


def _named_sample(sample: SampleData, names: list[str]) -> dict[str, np.ndarray]:
    if isinstance(sample, Mapping):
        missing = [n for n in names if n not in sample]
        unknown = [str(k) for k in sample if k not in names]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"no array for input(s) {', '.join(missing)}")
            if unknown:
                parts.append(f"arrays for unknown input(s) {', '.join(unknown)}")
            raise InvalidInput(
                f"the sample has {' and '.join(parts)}; the model's inputs are {', '.join(names)}"
            )
        return {n: np.asarray(sample[n]) for n in names}
    if len(names) != 1:
        raise InvalidInput(
            f"the model has {len(names)} inputs ({', '.join(names)}); give the sample as a dict "
            "of input name -> array"
        )
    return {names[0]: np.asarray(sample)}


def _check_shape(name: str, array: np.ndarray, dims: list[int | None]) -> None:
    if not dims:
        return  # shape not declared: onnxruntime decides
    if array.ndim != len(dims):
        shape = [-1 if d is None else d for d in dims]
        raise InvalidInput(
            f"input {name!r} expects {len(dims)}-D arrays (shape {shape}); "
            f"the sample is {array.ndim}-D {list(array.shape)}"
        )
    if dims[0] is not None and array.shape[0] != dims[0]:
        raise InvalidInput(
            f"input {name!r} has a fixed batch size of {dims[0]}; "
            f"the sample has {array.shape[0]} rows"
        )
    expected = dims[1:]
    got = list(array.shape[1:])
    if any(d is not None and d != g for d, g in zip(expected, got)):
        if len(expected) == 1:
            raise InvalidInput(
                f"input {name!r} expects {expected[0]} features, the sample has {got[0]}"
            )
        shape = ["N"] + [-1 if d is None else d for d in expected]
        raise InvalidInput(
            f"input {name!r} expects shape {shape}, the sample has {list(array.shape)}"
        )


def _cast(name: str, array: np.ndarray, elem_type: int) -> np.ndarray:
    from hub.families import ONNX_ELEM_TO_V2, numpy_dtype

    datatype = ONNX_ELEM_TO_V2.get(elem_type)
    if datatype is None:
        raise InvalidInput(
            f"input {name!r} has ONNX element type {elem_type}, which the hub cannot feed"
        )
    dtype = numpy_dtype(datatype)
    if datatype == "BYTES":
        return array.astype(str).astype(object) if array.dtype.kind != "O" else array
    if array.dtype.kind in "OUS":
        try:
            return array.astype(dtype)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"input {name!r} expects {datatype} values; the sample holds {array.dtype} data "
                "that does not convert"
            ) from None
    return array.astype(dtype, copy=False)


def build_feeds(model: Any, sample: SampleData) -> dict[str, np.ndarray]:
    """The sample as onnxruntime feeds: one array per graph input, cast to its element type.

    ``sample`` is one array (a single-input graph) or a mapping of input name -> array. A sample
    whose dims disagree with the graph's fixed dims is refused, naming the input.
    """
    inputs = _graph_inputs(model)
    if not inputs:
        raise InvalidInput("the ONNX graph declares no inputs")
    arrays = _named_sample(sample, [v.name for v in inputs])
    feeds: dict[str, np.ndarray] = {}
    for value in inputs:
        if not value.type.HasField("tensor_type"):
            raise InvalidInput(
                f"input {value.name!r} is not a tensor; only tensor inputs are supported"
            )
        array = arrays[value.name]
        _check_shape(value.name, array, _static_dims(value))
        feeds[value.name] = _cast(value.name, array, value.type.tensor_type.elem_type)
    return feeds


class OnnxFamily(FamilyPlugin):
    """Models that are already ONNX: validated, fed the sample, stored as they are."""

    info = FamilyInfo(
        name=NAME,
        framework="onnx",
        summary="Models already in ONNX format (.onnx files or onnx.ModelProto objects)",
        file_suffixes=(".onnx",),
    )

    def claim(self, model: Any) -> int | None:
        """100 for a ``.onnx`` path or an ``onnx.ModelProto``."""
        if _is_model_proto(model):
            return 100
        return super().claim(model)

    def load(self, path: Path) -> Any:
        """Read ``path``; corrupt files and external data outside its folder are refused."""
        from hub.errors import InvalidModelFile
        from hub.families import load_onnx_file

        if path.is_dir():
            raise InvalidModelFile(f"{path.name} is a folder; give the .onnx file itself")
        return load_onnx_file(path)

    def export(self, model: Any, sample: SampleData, opset: int | None) -> ExportedModel:
        """The model itself (copied, so the caller's object is never changed) and its feeds."""
        import onnx

        from hub.families import ai_onnx_opset, validate_model

        if not _is_model_proto(model):
            raise InvalidInput(
                f"the onnx family takes an onnx.ModelProto, not {type(model).__name__}"
            )
        if opset is not None:
            declared = ai_onnx_opset(model)
            if declared != opset:
                raise InvalidInput(
                    f"the ONNX model imports opset {declared}; the onnx family does not convert "
                    f"between opsets (asked for {opset})"
                )
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        validate_model(copy, label="the ONNX model")
        metadata = {
            key: value
            for key, value in (
                ("producer_name", copy.producer_name),
                ("producer_version", copy.producer_version),
            )
            if value
        }
        return ExportedModel(
            model=copy,
            feeds=build_feeds(copy, sample),
            framework_version=onnx.__version__,
            metadata=metadata,
        )

    def predict(
        self, model: Any, sample: SampleData, exported: ExportedModel
    ) -> dict[str, np.ndarray]:
        """Nothing: onnxruntime's outputs become the reference test data."""
        return {}

    def card_defaults(self, model: Any) -> dict[str, Any]:
        """``library: onnx``."""
        return {"library": "onnx"}


plugin = OnnxFamily()
