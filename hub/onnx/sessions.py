"""The one place an onnxruntime ``InferenceSession`` is made, and what this onnxruntime accepts."""

from __future__ import annotations

import functools
from pathlib import Path

import onnx
import onnxruntime as ort

from hub.catalog.records import ModelPath
from hub.errors import InvalidModelFile, first_line
from hub.onnx.versions import DEFAULT_IR_VERSION, DEFAULT_OPSET


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


def make_session(
    model: bytes | Path | ModelPath,
    providers: list[str] | tuple[str, ...] | None = None,
    intra_op_threads: int = 0,
    label: str = "model",
    *,
    map_weights: bool = False,
    external_data_dir: Path | None = None,
) -> ort.InferenceSession:
    """An onnxruntime session for serialized ``model`` bytes or an ONNX file's path (its
    external-data files beside it; a :class:`ModelPath` says itself whether to map them); an
    error onnxruntime raises becomes one line.

    ``external_data_dir``: for bytes whose tensors name external data, the folder the
    locations are relative to. ``map_weights``: keep external weights memory-mapped from their
    files. onnxruntime maps external data but, by default, pre-packs every MatMul/Gemm weight
    into a private copy, which doubles the resident memory of a large model; this turns
    pre-packing off.
    """
    if isinstance(model, ModelPath):
        map_weights = map_weights or model.mapped
        model = model.path
    options = ort.SessionOptions()
    if intra_op_threads:
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if map_weights:
        options.add_session_config_entry("session.disable_prepacking", "1")
    if external_data_dir is not None:
        options.add_session_config_entry(
            "session.model_external_initializers_file_folder_path", str(external_data_dir)
        )
    source = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(
            source, sess_options=options, providers=list(providers or ["CPUExecutionProvider"])
        )
    except Exception as exc:
        message = first_line(exc)
        raise InvalidModelFile(f"onnxruntime cannot load {label}: {message}") from None
