"""Hand-built ONNX graphs for serving tests (ir_version 10, opset 17)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def scale_model_bytes(factor: float, width: int = 3, batch: int | None = None) -> bytes:
    """``y = x * factor`` on float32 ``[batch, width]`` (batch None: dynamic)."""
    const = numpy_helper.from_array(np.array(factor, dtype=np.float32), "factor")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "factor"], ["y"])],
        "scale",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, width])],
        initializer=[const],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model.SerializeToString()
