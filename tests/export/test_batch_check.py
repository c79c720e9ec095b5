"""Issue 9 items 1 and 2: the batch dimension checked at two sizes; the stored signature is what
the model really answers; parity compares shapes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_graphs import model_of, scale_model

from hub.api import Hub
from hub.errors import ExportFailed, ModelFault, ParityFailed
from hub.export.convert import convert_and_check
from hub.export.parity import Tolerance, compare_outputs
from hub.families.registry import FamilyRegistry, get_plugin_manager
from hub.onnx.signature import TensorSpec
from hub.serving.runtime import InferenceRuntime
from hub.settings import Settings

RNG = np.random.default_rng(0)


@pytest.fixture
def registry() -> FamilyRegistry:
    return get_plugin_manager()


def _first_row_model() -> onnx.ModelProto:
    """Dynamic batch in, always the first row out: ``y = x[0:1]``."""
    consts = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "start"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "end"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axis"),
    ]
    graph = helper.make_graph(
        [helper.make_node("Slice", ["x", "start", "end", "axis"], ["y"])],
        "first_row",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        initializer=consts,
    )
    return model_of(graph)


def _centering_model() -> onnx.ModelProto:
    """``y = x - mean(x, axis=0)``: one row per input row, but each depends on its batch."""
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["x"], ["m"], axes=[0], keepdims=1),
            helper.make_node("Sub", ["x", "m"], ["y"]),
        ],
        "centering",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


def _declared_wrong_model(declared: list) -> onnx.ModelProto:
    """``y = x @ W`` with W 3x2, its output declared as ``declared``."""
    weights = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2), "W")
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, declared)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "declared_wrong",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [output],
        initializer=[weights],
    )
    return model_of(graph)


# -- item 1: outputs must follow the input rows --------------------------------------------------


def test_traced_batch_loop_is_refused(registry: FamilyRegistry, tmp_path: Path) -> None:
    """The issue's example: a module looping over its batch, traced on one row."""
    import torch

    class RowLoop(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return torch.stack([self.fc(x[i]) for i in range(x.shape[0])])

    torch.manual_seed(0)
    one_row = torch.randn(1, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(RowLoop().eval(), one_row)
    with pytest.raises(ExportFailed) as caught:
        convert_and_check(registry, traced, one_row.numpy())
    message = caught.value.message
    assert "outputs do not follow the input rows: with 4 input rows" in message
    assert "output 'output_0' has shape [1, 2]" in message
    with Hub(Settings.for_home(tmp_path / "home"), registry=registry) as hub:
        with pytest.raises(ExportFailed):
            hub.publish(traced, name="loop", sample=one_row.numpy())
        assert hub.list_models() == []  # nothing catalogued


def test_onnx_graph_answering_one_row_is_refused(registry: FamilyRegistry) -> None:
    with pytest.raises(ExportFailed, match=r"with 2 input rows, output 'y' has shape \[1, 3\]"):
        convert_and_check(registry, _first_row_model(), RNG.normal(size=(2, 3)))


def test_rows_that_depend_on_their_batch_fail_parity(registry: FamilyRegistry, tmp_path) -> None:
    """Right row count, wrong rows: the larger batch disagrees with the sample's rows."""
    checked = convert_and_check(registry, _centering_model(), RNG.normal(size=(4, 3)))
    assert checked.report.batch_sizes == (4, 7) and not checked.report.passed
    assert checked.report.outputs[0].detail == "at 7 rows"
    with Hub(Settings.for_home(tmp_path / "home"), registry=registry) as hub:
        with pytest.raises(ParityFailed, match="parity on 4 and 7 rows: FAILED"):
            hub.publish(_centering_model(), name="centering", sample=RNG.normal(size=(4, 3)))


def test_well_behaved_export_reports_both_sizes(registry: FamilyRegistry, ridge) -> None:
    model, X = ridge
    checked = convert_and_check(registry, model, X[:6])
    assert checked.report.passed and checked.report.batch_sizes == (6, 9)
    assert checked.report.to_json()["batch_sizes"] == [6, 9]


def test_fixed_batch_graph_is_checked_at_its_size_only(registry: FamilyRegistry) -> None:
    checked = convert_and_check(registry, scale_model(2.0, batch=2), RNG.normal(size=(2, 3)))
    assert checked.report.batch_sizes == () and checked.inputs[0].shape == (2, 3)


async def test_server_refuses_wrong_rows_of_a_catalogued_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version catalogued before publishing checked rows: an error naming it, not 200."""
    import hub.export.convert as convert

    with monkeypatch.context() as patch:
        patch.setattr(convert, "second_batch", lambda *args: None)
        hub = Hub(Settings.for_home(tmp_path / "home"))
        hub.publish(_first_row_model(), name="first-row", sample=RNG.normal(size=(1, 3)))
    runtime = InferenceRuntime(hub, hub.settings)
    await runtime.start()
    try:
        x = RNG.normal(size=(3, 3)).astype(np.float32)
        with pytest.raises(ModelFault) as caught:
            await runtime.infer("first-row", None, {"x": x})
        assert caught.value.status == 500
        assert caught.value.message.startswith(
            "model first-row:1 answered output 'y' with shape [1, 3] to a request of 3 rows"
        )
        one = await runtime.infer("first-row", None, {"x": x[:1]})  # one row: right answer
        np.testing.assert_array_equal(one.arrays[0], x[:1])
    finally:
        await runtime.close()
        hub.close()


# -- item 2: the stored signature is what the model answers; parity compares shapes --------------


def test_two_target_forest_signature_is_observed(registry: FamilyRegistry, tmp_path) -> None:
    """The issue's example: skl2onnx declares [-1, 1] for a 2-target regressor."""
    from sklearn.ensemble import RandomForestRegressor

    X = RNG.normal(size=(60, 4)).astype(np.float32)
    y = np.stack([X[:, 0] + X[:, 1], X[:, 2] - X[:, 3]], axis=1)
    forest = RandomForestRegressor(n_estimators=5, max_depth=3, random_state=0).fit(X[:50], y[:50])
    with Hub(Settings.for_home(tmp_path / "home"), registry=registry) as hub:
        version = hub.publish(forest, name="forest", sample=X[50:])
        assert [t.to_json() for t in version.outputs] == [
            {"name": "variable", "datatype": "FP32", "shape": [-1, 2]}
        ]
        outputs = hub.open("forest").predict(X[50:53])
        assert outputs["variable"].shape == (3, 2)
        np.testing.assert_allclose(outputs["variable"], forest.predict(X[50:53]), rtol=1e-5)


@pytest.mark.parametrize(
    ("declared", "why"),
    [([None, 1], "a wrong fixed size"), ([None, None], "unknown sizes"), ([5], "a wrong rank")],
)
def test_onnx_file_with_wrong_or_missing_output_shape(
    registry: FamilyRegistry, declared: list, why: str
) -> None:
    checked = convert_and_check(registry, _declared_wrong_model(declared), RNG.normal(size=(3, 3)))
    assert checked.outputs == (TensorSpec("y", "FP32", (-1, 2)),), why


def test_parity_compares_shapes_not_only_values() -> None:
    got = {"y": np.arange(4, dtype=np.float32).reshape(4, 1)}
    want = {"y": np.arange(4, dtype=np.float32)}
    report = compare_outputs(got, want, (), Tolerance())
    assert not report.passed
    assert report.outputs[0].detail == "shape [4, 1] from ONNX, [4] from framework"
    same = compare_outputs(got, {"y": want["y"].reshape(4, 1)}, (), Tolerance())
    assert same.passed
