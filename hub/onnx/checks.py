"""Checks every ONNX model passes before it enters the catalog, and its signature.

A model is accepted when ``onnx.checker`` passes, its IR version and opsets are ones the
installed onnxruntime can run, and any external-data file it names stays inside its own folder.
"""

from __future__ import annotations

import functools
from pathlib import Path

import onnx
import onnxruntime as ort
from onnx import ModelProto

from hub.datatypes import ONNX_ELEM_TO_V2
from hub.errors import InvalidModelFile, first_line
from hub.records import TensorSpec

#: Default ai.onnx opset families export to: old enough for every onnxruntime we support.
DEFAULT_OPSET = 17
#: IR version exports are stamped with (onnx stamps its newest, which onnxruntime may reject).
DEFAULT_IR_VERSION = 10


def identity_model(opset: int = DEFAULT_OPSET, ir_version: int = DEFAULT_IR_VERSION) -> bytes:
    """A serialized one-node Identity model: the cheapest probe of what onnxruntime accepts."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model.SerializeToString()


@functools.lru_cache(maxsize=1)
def runtime_limits() -> tuple[int, int]:
    """(newest IR version, newest ai.onnx opset) the installed onnxruntime really loads.

    Measured once by loading a one-node Identity model, rather than trusted from a table.
    """

    def loads(ir_version: int, opset: int) -> bool:
        options = ort.SessionOptions()
        options.log_severity_level = 4
        try:
            ort.InferenceSession(
                identity_model(opset, ir_version), options, providers=["CPUExecutionProvider"]
            )
            return True
        except Exception:
            return False

    max_ir = max(
        (ir for ir in range(DEFAULT_IR_VERSION, onnx.IR_VERSION + 1) if loads(ir, DEFAULT_OPSET)),
        default=DEFAULT_IR_VERSION,
    )
    newest_known = onnx.defs.onnx_opset_version()
    max_opset = max(
        (op for op in range(DEFAULT_OPSET, newest_known + 1) if loads(DEFAULT_IR_VERSION, op)),
        default=DEFAULT_OPSET,
    )
    return max_ir, max_opset


def load_onnx_file(path: Path) -> ModelProto:
    """Read ``path`` as an ONNX model, refusing corrupt files and unsafe external data."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise InvalidModelFile(f"{path.name} is not a readable ONNX model: {exc}") from None
    check_external_data(model, path.parent)
    if _uses_external_data(model):
        try:
            onnx.load_external_data_for_model(model, str(path.parent))
        except Exception as exc:
            raise InvalidModelFile(f"{path.name}: cannot read its external data: {exc}") from None
    return model


def parse_onnx_bytes(data: bytes, label: str = "model") -> ModelProto:
    """Parse serialized ONNX bytes, with a clear error for corrupt or truncated data."""
    model = ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:
        raise InvalidModelFile(
            f"{label} is not a valid ONNX model (corrupt or truncated): {exc}"
        ) from None
    if not model.graph.node and not model.graph.output:
        raise InvalidModelFile(f"{label} is not a valid ONNX model: it has no graph")
    return model


def _uses_external_data(model: ModelProto) -> bool:
    return any(
        t.data_location == onnx.TensorProto.EXTERNAL
        for t in onnx.external_data_helper._get_all_tensors(model)
    )


def check_external_data(model: ModelProto, base_dir: Path) -> None:
    """Refuse external-data locations that are absolute or escape ``base_dir``."""
    base = base_dir.resolve()
    for tensor in onnx.external_data_helper._get_all_tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), None)
        if location is None:
            raise InvalidModelFile(f"tensor {tensor.name!r} has external data without a location")
        target = (base / location).resolve()
        if Path(location).is_absolute() or not target.is_relative_to(base):
            raise InvalidModelFile(
                f"tensor {tensor.name!r} points its external data outside the model's folder "
                f"({location!r}); refused"
            )


def ai_onnx_opset(model: ModelProto) -> int:
    """The default-domain opset the model imports."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    raise InvalidModelFile("the model imports no ai.onnx opset")


def validate_model(model: ModelProto, label: str = "model") -> None:
    """Run ``onnx.checker`` and check the IR version and opset against onnxruntime."""
    max_ir, max_opset = runtime_limits()
    if model.ir_version > max_ir:
        raise InvalidModelFile(
            f"{label} has IR version {model.ir_version}; the installed onnxruntime "
            f"{ort.__version__} reads IR <= {max_ir} (re-export with an older ir_version)"
        )
    opset = ai_onnx_opset(model)
    if opset > max_opset:
        raise InvalidModelFile(
            f"{label} uses opset {opset}; the installed onnxruntime {ort.__version__} "
            f"supports ai.onnx opsets <= {max_opset}"
        )
    try:
        onnx.checker.check_model(model, full_check=False)
    except Exception as exc:
        raise InvalidModelFile(f"{label} fails the ONNX checker: {first_line(exc)}") from None


def make_session(
    model_bytes: bytes,
    providers: list[str] | tuple[str, ...] | None = None,
    intra_op_threads: int = 0,
    label: str = "model",
) -> ort.InferenceSession:
    """An onnxruntime session for ``model_bytes``; an error onnxruntime raises becomes one line."""
    options = ort.SessionOptions()
    if intra_op_threads:
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(
            model_bytes, sess_options=options, providers=list(providers or ["CPUExecutionProvider"])
        )
    except Exception as exc:
        message = first_line(exc)
        raise InvalidModelFile(f"onnxruntime cannot load {label}: {message}") from None


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
