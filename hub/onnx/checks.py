"""Checks every ONNX model passes before it enters the catalog, and its signature.

A model is accepted when ``onnx.checker`` passes, its IR version and opsets are ones the
installed onnxruntime can run, and any external-data file it names stays inside its own folder.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import onnxruntime as ort
from onnx import ModelProto

from hub.errors import InvalidModelFile, first_line
from hub.onnx.external import check_data_files, check_member_path, structure_only
from hub.onnx.sessions import runtime_limits


def load_onnx_file(path: Path) -> ModelProto:
    """Read ``path`` as an ONNX model, refusing corrupt files and unsafe external data.

    External tensors stay on disk (never loaded into memory): their files are checked to be
    inside the model's folder and long enough (:func:`hub.onnx.external.check_data_files`);
    sessions and the checker are then given the graph's path.
    """
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise InvalidModelFile(f"{path.name} is not a readable ONNX model: {exc}") from None
    check_external_data(model, path.parent)
    if _uses_external_data(model):
        check_data_files(model, path.parent, path.name)
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
    """Refuse external-data locations that are absolute, hidden or escape ``base_dir``."""
    base = base_dir.resolve()
    for tensor in onnx.external_data_helper._get_all_tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), None)
        if location is None:
            raise InvalidModelFile(f"tensor {tensor.name!r} has external data without a location")
        # No absolute path, no ".." or hidden component; then no symlink that leaves the folder.
        check_member_path(location, f"tensor {tensor.name!r}")
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
    if _uses_external_data(model):
        # Given a proto, the checker looks for data files in the current directory: check the
        # structure here; the files are checked on the graph's path (hub.onnx.external).
        model = structure_only(model)
    try:
        onnx.checker.check_model(model, full_check=False)
    except Exception as exc:
        raise InvalidModelFile(f"{label} fails the ONNX checker: {first_line(exc)}") from None
