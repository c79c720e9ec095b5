"""The onnx family: ONNX files and ModelProto objects checked, fed and run through onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from hub.errors import InvalidInput, InvalidModelFile
from hub.export.convert import convert_and_check
from hub.export.parity import unpack_test_data
from hub.onnx.signature import TensorSpec
from hub_plugins.onnx.family import plugin as onnx_plugin

RNG = np.random.default_rng(11)
WEIGHTS = RNG.normal(size=(4, 3)).astype(np.float32)
BIAS = RNG.normal(size=(3,)).astype(np.float32)


def linear_model(batch: int | str = "N", ir_version: int = 10, opset: int = 17) -> onnx.ModelProto:
    """y = x @ W + b with x: [batch, 4] float32, y: [batch, 3]."""
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])],
        initializer=[numpy_helper.from_array(WEIGHTS, "W"), numpy_helper.from_array(BIAS, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    model.producer_name = "hand-built"
    return model


def two_input_model() -> onnx.ModelProto:
    """z = a * 2 + float(counts): a is float32 [N, 2], counts is int64 [N, 2]."""
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["counts"], ["counts_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["a", "two"], ["a2"]),
            helper.make_node("Add", ["a2", "counts_f"], ["z"]),
        ],
        "two_inputs",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 2]),
            helper.make_tensor_value_info("counts", TensorProto.INT64, ["N", 2]),
        ],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 2])],
        initializer=[numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def expected_linear(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) @ WEIGHTS + BIAS


def test_onnx_file_is_published_with_onnxruntime_outputs_as_test_data(
    registry: Any, tmp_path: Path
) -> None:
    path = save(linear_model(), tmp_path / "linear.onnx")
    sample = RNG.normal(size=(9, 4))  # float64: must be cast to the graph's float32

    checked = convert_and_check(registry, path, sample)

    assert checked.family == "onnx" and checked.framework == "onnx"
    assert checked.exported.framework_version == onnx.__version__
    assert checked.exported.metadata == {"producer_name": "hand-built"}
    assert checked.card_defaults == {"library": "onnx"}
    # no framework: the only comparison is the 12-row run against the 9-row one, row by row
    assert checked.report.batch_sizes == (9, 12)
    assert [(o.name, o.passed, o.detail) for o in checked.report.outputs] == [
        ("y", True, "at 12 rows")
    ]
    assert checked.inputs == (TensorSpec("x", "FP32", (-1, 4)),)
    assert checked.outputs == (TensorSpec("y", "FP32", (-1, 3)),)
    assert (checked.opset, checked.ir_version) == (17, 10)
    assert checked.exported.feeds["x"].dtype == np.float32
    feeds, outputs = unpack_test_data(checked.test_data)
    np.testing.assert_array_equal(feeds["x"], sample.astype(np.float32))
    np.testing.assert_allclose(outputs["y"], expected_linear(sample), rtol=1e-5, atol=1e-6)

    session = ort.InferenceSession(checked.model_bytes, providers=["CPUExecutionProvider"])
    for rows in (sample[:1], sample[:7]):
        (y,) = session.run(None, {"x": rows.astype(np.float32)})
        assert y.shape == (len(rows), 3)
        np.testing.assert_allclose(y, expected_linear(rows), rtol=1e-5, atol=1e-6)


def test_model_proto_object_is_claimed_and_left_unchanged(registry: Any) -> None:
    model = linear_model()
    before = model.SerializeToString()
    assert registry.choose_family(model) == "onnx"
    checked = convert_and_check(registry, model, RNG.normal(size=(3, 4)))
    assert checked.family == "onnx"
    assert model.SerializeToString() == before
    assert checked.model_bytes == before


def test_claims() -> None:
    assert onnx_plugin.claim(Path("model.ONNX")) == 100
    assert onnx_plugin.claim(linear_model()) == 100
    assert onnx_plugin.claim(Path("model.pkl")) is None
    assert onnx_plugin.claim(b"\x08\x0a") is None


def test_dict_sample_is_cast_per_input(registry: Any) -> None:
    a = RNG.normal(size=(5, 2))
    counts = np.arange(10).reshape(5, 2).astype(np.float64)  # cast to the graph's int64
    checked = convert_and_check(registry, two_input_model(), {"counts": counts, "a": a})
    assert checked.exported.feeds["counts"].dtype == np.int64
    assert checked.inputs == (
        TensorSpec("a", "FP32", (-1, 2)),
        TensorSpec("counts", "INT64", (-1, 2)),
    )
    _, outputs = unpack_test_data(checked.test_data)
    np.testing.assert_allclose(outputs["z"], a.astype(np.float32) * 2 + counts, rtol=1e-6)


def test_external_data_inside_the_folder_loads(registry: Any, tmp_path: Path) -> None:
    path = tmp_path / "ext" / "linear.onnx"
    path.parent.mkdir()
    onnx.save_model(
        linear_model(),
        str(path),
        save_as_external_data=True,
        location="weights.bin",
        size_threshold=0,
    )
    assert (path.parent / "weights.bin").stat().st_size > 0
    sample = RNG.normal(size=(4, 4))
    _, outputs = unpack_test_data(convert_and_check(registry, path, sample).test_data)
    np.testing.assert_allclose(outputs["y"], expected_linear(sample), rtol=1e-5, atol=1e-6)


# -- bad input ------------------------------------------------------------------------------


def test_corrupt_bytes_are_refused(registry: Any, tmp_path: Path) -> None:
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"\xff\xff\xff\xffnot protobuf at all\x00" * 4)
    with pytest.raises(InvalidModelFile, match="corrupt.onnx is not a readable ONNX model"):
        convert_and_check(registry, path, np.zeros((1, 4)))


def test_truncated_file_is_refused(registry: Any, tmp_path: Path) -> None:
    data = linear_model().SerializeToString()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) - 20])
    with pytest.raises(InvalidModelFile, match="truncated.onnx is not a readable ONNX model"):
        convert_and_check(registry, path, np.zeros((1, 4)))


def test_external_data_outside_the_folder_is_refused(registry: Any, tmp_path: Path) -> None:
    (tmp_path / "secret.bin").write_bytes(WEIGHTS.tobytes())
    model = linear_model()
    weights = model.graph.initializer[0]
    onnx.external_data_helper.set_external_data(weights, location="../secret.bin")
    weights.data_location = TensorProto.EXTERNAL
    weights.ClearField("raw_data")
    weights.ClearField("float_data")
    path = save(model, tmp_path / "models" / "linear.onnx")
    with pytest.raises(InvalidModelFile, match=r"outside the model's folder \('../secret.bin'\)"):
        convert_and_check(registry, path, np.zeros((1, 4)))


def test_ir_version_too_new_is_refused(registry: Any, tmp_path: Path) -> None:
    path = save(linear_model(ir_version=99), tmp_path / "ir99.onnx")
    with pytest.raises(InvalidModelFile, match="has IR version 99; the installed onnxruntime"):
        convert_and_check(registry, path, np.zeros((1, 4)))


def test_opset_too_new_is_refused(registry: Any, tmp_path: Path) -> None:
    path = save(linear_model(opset=99), tmp_path / "opset99.onnx")
    with pytest.raises(InvalidModelFile, match="uses opset 99; the installed onnxruntime"):
        convert_and_check(registry, path, np.zeros((1, 4)))


def test_graph_failing_the_checker_is_refused(registry: Any) -> None:
    model = linear_model()
    model.graph.node[1].input[0] = "nowhere"
    with pytest.raises(InvalidModelFile, match="fails the ONNX checker"):
        convert_and_check(registry, model, np.zeros((1, 4)))


def test_wrong_feature_count_names_the_input(registry: Any) -> None:
    with pytest.raises(
        InvalidInput,
        match=r"input 'x' of the ONNX model has shape \[2, 3\], expected \[-1, 4\] "
        r"\(-1: any size\): 4 features per row, not 3$",
    ):
        convert_and_check(registry, linear_model(), np.zeros((2, 3)))


def test_fixed_batch_size_is_enforced(registry: Any) -> None:
    with pytest.raises(
        InvalidInput,
        match=r"has shape \[5, 4\], expected \[1, 4\] .*: its batch size is fixed at 1$",
    ):
        convert_and_check(registry, linear_model(batch=1), np.zeros((5, 4)))


def test_wrong_rank_is_refused(registry: Any) -> None:
    with pytest.raises(
        InvalidInput, match=r"input 'x' of the ONNX model has shape \[4\], .*: it takes 2-D arrays$"
    ):
        convert_and_check(registry, linear_model(), np.zeros(4))


def test_single_array_for_a_two_input_graph_is_refused(registry: Any) -> None:
    with pytest.raises(
        InvalidInput, match=r"has 2 inputs \(a, counts\): pass a mapping of input name to array"
    ):
        convert_and_check(registry, two_input_model(), np.zeros((2, 2)))


def test_dict_sample_with_missing_and_unknown_names(registry: Any) -> None:
    with pytest.raises(
        InvalidInput, match=r"^unknown input 'b' for the ONNX model \(inputs: a, counts\)$"
    ):
        convert_and_check(
            registry, two_input_model(), {"a": np.zeros((2, 2)), "b": np.zeros((2, 2))}
        )
    with pytest.raises(
        InvalidInput, match=r"^missing input 'counts' for the ONNX model \(inputs: a, counts\)$"
    ):
        convert_and_check(registry, two_input_model(), {"a": np.zeros((2, 2))})


def test_asking_for_another_opset_is_refused(registry: Any) -> None:
    with pytest.raises(InvalidInput, match="imports opset 17; the onnx family does not convert"):
        convert_and_check(registry, linear_model(), np.zeros((1, 4)), opset=13)
