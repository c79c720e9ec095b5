"""hub.open's predictor: the direct path (an array already in the input's dtype and shape)
answers exactly like the general one, refuses the same inputs and keeps the run time limit."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from hub.api import Hub
from hub.errors import InvalidInput
from hub.onnx.deadline import RunTimedOut, time_limit
from hub.settings import Settings


def _counting_loop() -> onnx.ModelProto:
    """``count`` (float32 [1]) = the request's ``n`` (int64 [1]), counted by a real Loop."""
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
    zero = helper.make_tensor("z", TensorProto.FLOAT, [1], [0.0])
    true = helper.make_tensor("t", TensorProto.BOOL, [], [True])
    graph = helper.make_graph(
        [
            helper.make_node("Constant", [], ["zero"], value=zero),
            helper.make_node("Constant", [], ["true"], value=true),
            helper.make_node("Squeeze", ["n"], ["trips"]),
            helper.make_node("Loop", ["trips", "true", "zero"], ["count"], body=body),
        ],
        "loop",
        [helper.make_tensor_value_info("n", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("count", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


@pytest.fixture
def hub(tmp_path) -> Hub:  # type: ignore[no-untyped-def]
    with Hub(Settings.for_home(tmp_path)) as hub:
        yield hub


def test_the_direct_path_answers_like_the_general_path(hub, logreg) -> None:  # type: ignore[no-untyped-def]
    model, X = logreg
    hub.publish(model, name="iris", sample=X[:5])
    predictor = hub.open("iris")
    rows = np.ascontiguousarray(X[:7], dtype=np.float32)
    direct = predictor.predict(rows)  # float32 [7, 4]: straight to onnxruntime
    general = predictor.predict(rows.astype(np.float64).tolist())  # lists: cast by to_feeds
    one_row = predictor.predict(rows[0])  # [4]: the batch axis is added
    assert set(direct) == set(general) == {o.name for o in predictor.session.get_outputs()}
    for name in direct:
        np.testing.assert_array_equal(direct[name], general[name])
        np.testing.assert_array_equal(one_row[name], direct[name][:1])
    labels = next(v for v in direct.values() if v.dtype.kind == "i")
    np.testing.assert_array_equal(labels.ravel(), model.predict(X[:7]))


def test_the_direct_path_refuses_what_the_general_path_refuses(hub, logreg) -> None:  # type: ignore[no-untyped-def]
    model, X = logreg
    hub.publish(model, name="iris", sample=X[:5])
    predictor = hub.open("iris")
    bad = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(InvalidInput) as direct:
        predictor.predict(bad)
    with pytest.raises(InvalidInput) as general:
        predictor.predict(bad.tolist())
    assert direct.value.message == general.value.message
    assert "4 features per row, not 3" in direct.value.message


def test_the_direct_path_keeps_the_run_time_limit_and_recovers(hub) -> None:  # type: ignore[no-untyped-def]
    hub.publish(_counting_loop(), name="loop", sample=np.array([3], dtype=np.int64))
    predictor = hub.open("loop")
    assert predictor.predict(np.array([5], dtype=np.int64))["count"].tolist() == [5.0]
    with time_limit(0.3), pytest.raises(RunTimedOut) as stopped:
        predictor.predict(np.array([10**12], dtype=np.int64))
    assert "ONNXHUB_PARITY_TIMEOUT" in stopped.value.message
    # The stopped run's options are not reused: later runs complete.
    for n in (2, 9):
        assert predictor.predict(np.array([n], dtype=np.int64))["count"].tolist() == [float(n)]
