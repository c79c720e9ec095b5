"""hub.onnx.feeds: one set of checks and messages for every caller that builds feeds."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hub.errors import InvalidInput
from hub.onnx.feeds import check_feeds, run_session, to_feeds
from hub.onnx.signature import TensorSpec, as_dims, graph_inputs, signature, value_dims

X = TensorSpec("x", "FP32", (-1, 4))
COUNTS = TensorSpec("counts", "INT64", (-1, 2))
WORDS = TensorSpec("words", "BYTES", (-1, 1))
LABEL = "demo:1"


def test_check_feeds_accepts_exact_feeds_and_names_each_fault() -> None:
    good = {"x": np.zeros((3, 4), np.float32), "counts": np.zeros((3, 2), np.int64)}
    check_feeds([X, COUNTS], good, label=LABEL)  # no exception
    cases = [
        (
            {**good, "y": good["x"]},
            r"^unknown input 'y' for demo:1 \(inputs: x, counts\)$",
        ),
        (
            {"x": good["x"]},
            r"^missing input 'counts' for demo:1 \(inputs: x, counts\)$",
        ),
        (
            {**good, "x": good["x"].astype(np.float64)},
            r"^input 'x' of demo:1 expects datatype FP32, got float64$",
        ),
        (
            {**good, "x": np.zeros((3, 5), np.float32)},
            r"^input 'x' of demo:1 has shape \[3, 5\], expected \[-1, 4\] \(-1: any size\): "
            r"4 features per row, not 5$",
        ),
        (
            {**good, "x": np.zeros(4, np.float32)},
            r"^input 'x' of demo:1 has shape \[4\], expected \[-1, 4\] \(-1: any size\): "
            r"it takes 2-D arrays$",
        ),
    ]
    for feeds, message in cases:
        with pytest.raises(InvalidInput, match=message):
            check_feeds([X, COUNTS], feeds, label=LABEL)


def test_check_feeds_takes_strings_for_bytes_inputs() -> None:
    check_feeds([WORDS], {"words": np.array([["a"], ["b"]], dtype=object)}, label=LABEL)
    check_feeds([WORDS], {"words": np.array([["a"], ["b"]])}, label=LABEL)
    with pytest.raises(InvalidInput, match="expects datatype BYTES, got float32"):
        check_feeds([WORDS], {"words": np.zeros((2, 1), np.float32)}, label=LABEL)


def test_to_feeds_names_casts_and_adds_the_batch_axis() -> None:
    feeds = to_feeds([X], [[1, 2, 3, 4]], label=LABEL)
    assert feeds["x"].dtype == np.float32 and feeds["x"].shape == (1, 4)
    row = to_feeds([X], np.arange(4.0), label=LABEL, add_batch=True)
    np.testing.assert_array_equal(row["x"], [[0.0, 1.0, 2.0, 3.0]])
    mapping = to_feeds([X, COUNTS], {"counts": [[1, 2]], "x": np.ones((1, 4))}, label=LABEL)
    assert list(mapping) == ["x", "counts"] and mapping["counts"].dtype == np.int64
    words = to_feeds([WORDS], np.array([["a"], ["b"]]), label=LABEL)["words"]
    assert words.dtype == object and words.tolist() == [["a"], ["b"]]
    numeric_text = to_feeds([X], np.array([["1", "2", "3", "4.5"]]), label=LABEL)["x"]
    np.testing.assert_array_equal(numeric_text, [[1.0, 2.0, 3.0, 4.5]])


def test_to_feeds_refusals() -> None:
    with pytest.raises(InvalidInput, match=r"^demo:1 has 2 inputs \(x, counts\): pass a mapping"):
        to_feeds([X, COUNTS], np.zeros((1, 4)), label=LABEL)
    with pytest.raises(InvalidInput, match=r"^input 'x' of demo:1 expects FP32 values; got <U1"):
        to_feeds([X], np.array([["a", "b", "c", "d"]]), label=LABEL)
    with pytest.raises(InvalidInput, match=r"^input 'x' of demo:1: .*inhomogeneous"):
        to_feeds([X], [[1, 2, 3, 4], [1]], label=LABEL)
    with pytest.raises(InvalidInput, match="its batch size is fixed at 2"):
        to_feeds([TensorSpec("x", "FP32", (2, 4))], np.zeros((3, 4)), label=LABEL)
    # an input whose shape the graph does not declare takes any array
    assert to_feeds([TensorSpec("x", "FP32", ())], np.zeros((3, 4)), label=LABEL)["x"].shape == (
        3,
        4,
    )


def _scaled_model():
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "k"], ["y"])],
        "scaled",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
            # an initializer listed as an input (as IR < 4 required) is a weight, not an input
            helper.make_tensor_value_info("k", TensorProto.FLOAT, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        initializer=[numpy_helper.from_array(np.array(3.0, np.float32), "k")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


def test_signature_reads_inputs_and_dims_in_one_place() -> None:
    model = _scaled_model()
    assert [v.name for v in graph_inputs(model)] == ["x"]
    assert value_dims(model.graph.input[0]) == (-1, 4)
    assert as_dims(["N", 4, None, 0]) == (-1, 4, -1, 0)
    inputs, outputs = signature(model)
    assert inputs == (X,) and outputs == (TensorSpec("y", "FP32", (-1, 4)),)


def test_run_session_returns_outputs_by_name_and_one_line_errors() -> None:
    session = ort.InferenceSession(
        _scaled_model().SerializeToString(), providers=["CPUExecutionProvider"]
    )
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_array_equal(run_session(session, {"x": x}, label=LABEL)["y"], 3 * x)
    with pytest.raises(InvalidInput, match=r"^missing input 'x' for demo:1 \(inputs: x\)$"):
        run_session(session, {}, label=LABEL)
    with pytest.raises(InvalidInput, match=r"^onnxruntime cannot run demo:1 on these inputs: "):
        run_session(session, {"x": x.astype(np.float64)}, label=LABEL)
