"""Small real ONNX models whose weights live in external-data files, for the large-model tests.

``write_mlp`` writes a ReLU MLP as ``model.onnx`` plus one data file per layer in nested
subfolders of its own folder (``weights/layer0/w.bin``, ``weights/layer1/w.bin``...), the
biases together in ``weights/biases.bin``; :func:`mlp_reference` is the same MLP in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

from hub.onnx.versions import DEFAULT_IR_VERSION, DEFAULT_OPSET


@dataclass
class Mlp:
    folder: Path
    graph: Path
    weights: list[np.ndarray]
    biases: list[np.ndarray]

    @property
    def data_files(self) -> list[str]:
        return sorted(
            str(p.relative_to(self.folder)) for p in self.folder.rglob("*.bin") if p.is_file()
        )


def mlp_reference(mlp: Mlp, x: np.ndarray) -> np.ndarray:
    """The MLP in numpy (float32 throughout): ReLU after every layer but the last."""
    h = x.astype(np.float32)
    for i, (w, b) in enumerate(zip(mlp.weights, mlp.biases)):
        h = h @ w + b
        if i < len(mlp.weights) - 1:
            h = np.maximum(h, 0)
    return h


def write_mlp(folder: Path, widths: tuple[int, ...] = (32, 512, 512, 512, 8), seed: int = 0) -> Mlp:
    """An MLP with ``len(widths) - 1`` layers; about 2 MB of float32 weights by default."""
    rng = np.random.default_rng(seed)
    weights = [
        (rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32)
        for a, b in zip(widths[:-1], widths[1:])
    ]
    biases = [rng.standard_normal(b).astype(np.float32) * 0.1 for b in widths[1:]]
    nodes, initializers, x = [], [], "input"
    for i, (w, b) in enumerate(zip(weights, biases)):
        initializers += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"]))
        last = i == len(weights) - 1
        nodes.append(helper.make_node("Add", [f"m{i}", f"b{i}"], ["output" if last else f"a{i}"]))
        if not last:
            nodes.append(helper.make_node("Relu", [f"a{i}"], [f"r{i}"]))
            x = f"r{i}"
    graph = helper.make_graph(
        nodes,
        "external_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", widths[0]])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", widths[-1]])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", DEFAULT_OPSET)])
    model.ir_version = DEFAULT_IR_VERSION
    folder.mkdir(parents=True, exist_ok=True)
    bias_offset = 0
    biases_file = folder / "weights" / "biases.bin"
    biases_file.parent.mkdir(parents=True, exist_ok=True)
    with open(biases_file, "wb") as handle:
        for tensor in model.graph.initializer:
            raw = tensor.raw_data
            if tensor.name.startswith("w"):
                location = f"weights/layer{tensor.name[1:]}/w.bin"
                (folder / location).parent.mkdir(parents=True, exist_ok=True)
                (folder / location).write_bytes(raw)
                set_external_data(tensor, location, offset=0, length=len(raw))
            else:
                handle.write(raw)
                set_external_data(tensor, "weights/biases.bin", offset=bias_offset, length=len(raw))
                bias_offset += len(raw)
            tensor.ClearField("raw_data")
    onnx.save_model(model, str(folder / "model.onnx"))
    return Mlp(folder, folder / "model.onnx", weights, biases)


def point_tensor_at(
    graph: Path, tensor_name: str, location: str, target: Path | None = None
) -> None:
    """Rewrite ``graph`` so that ``tensor_name``'s external data is at ``location``."""
    model = onnx.load(str(graph), load_external_data=False)
    for tensor in model.graph.initializer:
        if tensor.name == tensor_name:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
    onnx.save_model(model, str(target or graph))
