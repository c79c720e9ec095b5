"""Hand-built ONNX graphs for server and serving tests (ir_version 10, opset 17)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: Every V2 datatype ONNX can carry, with its TensorProto element type.
ALL_TYPES = {
    "BOOL": TensorProto.BOOL,
    "UINT8": TensorProto.UINT8,
    "UINT16": TensorProto.UINT16,
    "UINT32": TensorProto.UINT32,
    "UINT64": TensorProto.UINT64,
    "INT8": TensorProto.INT8,
    "INT16": TensorProto.INT16,
    "INT32": TensorProto.INT32,
    "INT64": TensorProto.INT64,
    "FP16": TensorProto.FLOAT16,
    "FP32": TensorProto.FLOAT,
    "FP64": TensorProto.DOUBLE,
    "BYTES": TensorProto.STRING,
}


def model_of(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


def all_types_model() -> onnx.ModelProto:
    """``in_<T>`` -> Identity -> ``out_<T>`` for every datatype, shape ``[-1, 2]``."""
    nodes, inputs, outputs = [], [], []
    for name, elem in ALL_TYPES.items():
        low = name.lower()
        nodes.append(helper.make_node("Identity", [f"in_{low}"], [f"out_{low}"]))
        inputs.append(helper.make_tensor_value_info(f"in_{low}", elem, [None, 2]))
        outputs.append(helper.make_tensor_value_info(f"out_{low}", elem, [None, 2]))
    return model_of(helper.make_graph(nodes, "all_types", inputs, outputs))


def all_types_sample(rows: int = 3) -> dict[str, np.ndarray]:
    from hub.onnx.datatypes import V2_TO_NUMPY

    rng = np.random.default_rng(1)
    sample = {}
    for name in ALL_TYPES:
        key = f"in_{name.lower()}"
        if name == "BYTES":
            sample[key] = np.array(
                [[f"r{i}c{j}-é" for j in range(2)] for i in range(rows)], dtype=object
            )
        elif name == "BOOL":
            sample[key] = rng.integers(0, 2, (rows, 2)).astype(bool)
        else:
            dtype = V2_TO_NUMPY[name]
            sample[key] = (rng.integers(0, 100, (rows, 2))).astype(dtype)
    return sample


def scale_model(factor: float, width: int = 3, batch: int | None = None) -> onnx.ModelProto:
    """``y = x * factor`` on float32 ``[batch, width]`` (batch None: dynamic)."""
    const = numpy_helper.from_array(np.array(factor, dtype=np.float32), "factor")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "factor"], ["y"])],
        "scale",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, width])],
        initializer=[const],
    )
    return model_of(graph)


def generator_model(latent_dim: int = 4, out_dim: int = 3) -> tuple[onnx.ModelProto, np.ndarray]:
    """A linear "generator": ``sample = latent @ W``, with its weight matrix."""
    weights = np.arange(latent_dim * out_dim, dtype=np.float32).reshape(latent_dim, out_dim) / 10
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["latent", "W"], ["sample"])],
        "generator",
        [helper.make_tensor_value_info("latent", TensorProto.FLOAT, [None, latent_dim])],
        [helper.make_tensor_value_info("sample", TensorProto.FLOAT, [None, out_dim])],
        initializer=[numpy_helper.from_array(weights, "W")],
    )
    return model_of(graph), weights


def v2_input(name: str, array: np.ndarray, datatype: str = "FP32") -> dict:
    """A V2 JSON input with flat row-major data."""
    return {
        "name": name,
        "datatype": datatype,
        "shape": list(array.shape),
        "data": array.ravel().tolist(),
    }


def slow_model(width: int = 1024, layers: int = 20) -> onnx.ModelProto:
    """``layers`` chained float32 MatMuls by the identity: output == input, seconds of work."""
    eye = numpy_helper.from_array(np.eye(width, dtype=np.float32), "eye")
    nodes, name = [], "x"
    for i in range(layers):
        nodes.append(helper.make_node("MatMul", [name, "eye"], [f"h{i}"]))
        name = f"h{i}"
    nodes.append(helper.make_node("Identity", [name], ["y"]))
    graph = helper.make_graph(
        nodes,
        "slow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, width])],
        initializer=[eye],
    )
    return model_of(graph)


def loop_model(constant_trips: int | None = None) -> onnx.ModelProto:
    """``count = n`` computed by a Loop adding 1 per iteration, float32 ``[1]``.

    The trip count is the request's ``n`` (int64 ``[1]``), or ``constant_trips`` baked into
    the graph. Either way the run takes as long as the number says.
    """
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "one"], ["acc_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [1]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])],
    )
    nodes = [
        helper.make_node(
            "Constant", [], ["zero"], value=helper.make_tensor("z", TensorProto.FLOAT, [1], [0.0])
        ),
        helper.make_node(
            "Constant", [], ["true"], value=helper.make_tensor("t", TensorProto.BOOL, [], [True])
        ),
    ]
    if constant_trips is None:
        nodes.append(helper.make_node("Squeeze", ["n"], ["trips"]))
        inputs = [helper.make_tensor_value_info("n", TensorProto.INT64, [1])]
    else:
        nodes.append(
            helper.make_node(
                "Constant",
                [],
                ["trips"],
                value=helper.make_tensor("m", TensorProto.INT64, [], [constant_trips]),
            )
        )
        nodes.append(helper.make_node("Identity", ["x"], ["x_out"]))
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])]
    nodes.append(helper.make_node("Loop", ["trips", "true", "zero"], ["count"], body=body))
    outputs = [helper.make_tensor_value_info("count", TensorProto.FLOAT, [1])]
    if constant_trips is not None:
        outputs.append(helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [None, 1]))
    return model_of(helper.make_graph(nodes, "loop", inputs, outputs))
