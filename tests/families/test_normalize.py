"""hub.families.normalize_onnx on a real native export, and the onnx family that uses it.

The native export is what a framework that writes ONNX itself hands over (CatBoost does exactly
this): a skl2onnx classifier exported with its default ZipMap output, its input renamed
``features``, stamped IR version 3, importing only the ``ai.onnx.ml`` domain.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from hub.errors import ExportFailed, InvalidModelFile
from hub.export.convert import convert_and_check
from hub.families import INPUT_NAME, get_plugin_manager, normalize_onnx
from hub.onnx.checks import ai_onnx_opset, validate_model
from hub.onnx.signature import signature


@pytest.fixture(scope="module")
def iris_tree() -> tuple[object, np.ndarray]:
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    order = np.random.default_rng(3).permutation(len(X))
    train, held_out = order[:120], order[120:]
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(X[train], y[train]), X[held_out]


def native_export(model: object) -> onnx.ModelProto:
    """skl2onnx with ZipMap, then rewritten with onnx.helper the way a native exporter writes it."""
    from skl2onnx import to_onnx

    exported = to_onnx(model, np.zeros((1, 4), np.float32))  # default options: ZipMap output
    assert [n.op_type for n in exported.graph.node][-1] == "ZipMap"
    rename = {"X": "features"}
    nodes = [
        helper.make_node(
            n.op_type,
            [rename.get(i, i) for i in n.input],
            list(n.output),
            name=n.name,
            domain=n.domain,
        )
        for n in exported.graph.node
    ]
    for new, old in zip(nodes, exported.graph.node):
        new.attribute.extend(old.attribute)
    graph = helper.make_graph(
        nodes,
        "native",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, 4])],
        list(exported.graph.output),
    )
    native = helper.make_model(graph, opset_imports=[helper.make_opsetid("ai.onnx.ml", 1)])
    native.ir_version = 3
    return native


def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def test_the_native_export_is_refused_as_it_is(iris_tree) -> None:
    native = native_export(iris_tree[0])
    with pytest.raises(InvalidModelFile, match="imports no ai.onnx opset"):
        validate_model(native)
    with pytest.raises(InvalidModelFile, match="^the catboost export: graph value 'output_prob"):
        signature(native, label="the catboost export")


def test_normalized_export_follows_the_tabular_convention(iris_tree) -> None:
    model, held_out = iris_tree
    native = native_export(model)
    normalized = normalize_onnx(
        native,
        family="catboost",
        rename_inputs={"features": INPUT_NAME},
        rename_outputs={"output_label": "label", "output_probability": "probabilities"},
        graph_name="catboost_classifier",
    )
    assert native.ir_version == 3 and len(native.opset_import) == 1  # the caller's copy unchanged
    validate_model(normalized)
    assert ai_onnx_opset(normalized) == 17
    assert normalized.ir_version == 8  # the oldest IR that carries opset 17
    assert normalized.graph.name == "catboost_classifier"
    inputs, outputs = signature(normalized)
    assert [(s.name, s.datatype, s.shape) for s in inputs] == [("input", "FP32", (-1, 4))]
    assert [(s.name, s.datatype, s.shape) for s in outputs] == [
        ("label", "INT64", (-1,)),
        ("probabilities", "FP32", (-1, 3)),
    ]
    got = run(normalized, {"input": held_out})
    np.testing.assert_array_equal(got["label"], model.predict(held_out))
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(held_out), atol=1e-6)
    assert got["probabilities"].shape == (30, 3)


def test_the_onnx_family_serves_a_native_export_through_normalize(iris_tree, tmp_path) -> None:
    model, held_out = iris_tree
    path = tmp_path / "native.onnx"
    path.write_bytes(native_export(model).SerializeToString())
    checked = convert_and_check(get_plugin_manager(), path, held_out)
    assert checked.family == "onnx" and checked.opset == 17 and checked.ir_version == 8
    # the onnx family keeps the file's names; only the ZipMap became its probability tensor
    assert [s.name for s in checked.inputs] == ["features"]
    assert [(s.name, s.datatype) for s in checked.outputs] == [
        ("output_label", "INT64"),
        ("output_probability", "FP32"),
    ]
    got = run(onnx.load_from_string(checked.model_bytes), {"features": held_out[:1]})
    np.testing.assert_allclose(
        got["output_probability"], model.predict_proba(held_out[:1]), atol=1e-6
    )


def test_an_old_default_opset_is_converted() -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "old",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
    )
    old = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 5)])
    old.ir_version = 3
    normalized = normalize_onnx(old, family="legacy", rename_outputs={"y": "variable"})
    assert ai_onnx_opset(normalized) == 17
    x = np.array([[-1.5, 2.0]], np.float32)
    np.testing.assert_array_equal(run(normalized, {"x": x})["variable"], [[0.0, 2.0]])


def test_refusals_name_the_family(iris_tree) -> None:
    native = native_export(iris_tree[0])
    with pytest.raises(ExportFailed, match=r"^family 'catboost': cannot rename input\(s\) 'X'"):
        normalize_onnx(native, family="catboost", rename_inputs={"X": "input"})
    with pytest.raises(
        ExportFailed, match="^family 'catboost': cannot rename output 'output_label' to 'output_p"
    ):
        normalize_onnx(
            native, family="catboost", rename_outputs={"output_label": "output_probability"}
        )
    with pytest.raises(ExportFailed, match="^family 'catboost': normalize_onnx takes an onnx"):
        normalize_onnx(b"bytes", family="catboost")  # type: ignore[arg-type]


def test_an_export_that_is_not_a_tensor_graph_is_refused_naming_the_family(
    iris_tree, tmp_path: Path
) -> None:
    from hub.families import ExportedModel, FamilyInfo, FamilyPlugin

    model, held_out = iris_tree

    class Native(FamilyPlugin):
        info = FamilyInfo(name="nativecb", framework="numpy", summary="ships its own ONNX")

        def export(self, model, sample, opset):  # type: ignore[no-untyped-def]
            proto = native_export(model)
            proto.opset_import.append(helper.make_opsetid("", 17))
            proto.ir_version = 8
            return ExportedModel(proto, {"features": held_out}, framework_version="1")

    registry = get_plugin_manager(load_entry_points=False, extra_plugins=[("nativecb", Native())])
    with pytest.raises(
        InvalidModelFile,
        match="^the nativecb export: graph value 'output_probability' is a sequence_type",
    ):
        convert_and_check(registry, model, held_out, family="nativecb")
