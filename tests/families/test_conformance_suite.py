"""hub.families.testing: the checks fail on exports that break the conventions, and the
shipped suite runs for one family from outside the repository with ``--onnxhub-family``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

from hub.export.convert import convert_and_check
from hub.families import ExportedModel, FamilyInfo, FamilyPlugin, get_plugin_manager
from hub.families.testing import check_naming, check_versions

X = np.array([[0.5, -1.0], [2.0, 0.25], [-3.0, 1.5]], np.float32)


class Thresholds(FamilyPlugin):
    """A 'classifier' (label = x0 > 0, probabilities = [1 - p, p]) with configurable names."""

    info = FamilyInfo(name="thresholds", framework="numpy", summary="x0 > 0")

    def __init__(self, input_name: str = "input", probabilities: str = "probabilities") -> None:
        self.input_name = input_name
        self.probabilities = probabilities
        self.ir_version = 8

    def export(self, model, sample, opset):  # type: ignore[no-untyped-def]
        nodes = [
            helper.make_node("Slice", [self.input_name, "s", "e", "a"], ["first"]),
            helper.make_node("Sigmoid", ["first"], ["p"]),
            helper.make_node("Sub", ["one", "p"], ["q"]),
            helper.make_node("Concat", ["q", "p"], [self.probabilities], axis=1),
            helper.make_node("Greater", ["first", "zero"], ["positive"]),
            helper.make_node("Cast", ["positive"], ["label_2d"], to=TensorProto.INT64),
            helper.make_node("Squeeze", ["label_2d", "a"], ["label"]),
        ]
        consts = [
            helper.make_tensor("s", TensorProto.INT64, [1], [0]),
            helper.make_tensor("e", TensorProto.INT64, [1], [1]),
            helper.make_tensor("a", TensorProto.INT64, [1], [1]),
            helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        ]
        graph = helper.make_graph(
            nodes,
            "thresholds",
            [helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT, ["N", 2])],
            [
                helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
                helper.make_tensor_value_info(self.probabilities, TensorProto.FLOAT, ["N", 2]),
            ],
            initializer=consts,
        )
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        proto.ir_version = self.ir_version
        return ExportedModel(
            proto,
            {self.input_name: np.asarray(sample, np.float32)},
            framework_version="1",
            label_outputs=("label",),
            task="tabular-classification",
        )

    def predict(self, model, sample, exported):  # type: ignore[no-untyped-def]
        x0 = np.asarray(sample, np.float32)[:, :1]
        p = 1 / (1 + np.exp(-x0))
        return {"label": (x0[:, 0] > 0).astype(np.int64), self.probabilities: np.hstack([1 - p, p])}


def _checked(plugin: Thresholds):  # type: ignore[no-untyped-def]
    registry = get_plugin_manager(load_entry_points=False, extra_plugins=[("t", plugin)])
    return convert_and_check(registry, object(), X, family="thresholds")


def test_a_conforming_export_passes_both_checks() -> None:
    checked = _checked(Thresholds())
    assert checked.report.passed, checked.report.summary()
    check_naming(checked)
    check_versions(checked, family_ir_version=8)


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (
            Thresholds(input_name="features"),
            "takes one float32 input named 'input', not 'features'",
        ),
        (Thresholds(probabilities="output_probability"), "must also emit 'probabilities'"),
        (Thresholds(input_name="input:0"), r"names \['input:0'\] are not identifiers"),
    ],
    ids=["tabular-input-name", "no-probabilities", "not-an-identifier"],
)
def test_naming_refusals_name_the_family(plugin: Thresholds, message: str) -> None:
    checked = _checked(plugin)
    with pytest.raises(AssertionError, match=f"^family 'thresholds': .*{message}"):
        check_naming(checked)


def test_version_refusals_name_the_family() -> None:
    checked = _checked(Thresholds())
    with pytest.raises(
        AssertionError, match="^family 'thresholds': the export is stamped IR version 99; "
    ):
        check_versions(checked, family_ir_version=99)
    with pytest.raises(AssertionError, match="IR version 3 cannot carry its opsets"):
        check_versions(checked, family_ir_version=3)


def _run_suite(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs"]
        + ["hub.families.conformance", *args],
        cwd=cwd,  # outside the repository: the suite comes from the installed package
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_shipped_suite_runs_one_family_from_anywhere(tmp_path: Path) -> None:
    done = _run_suite("--onnxhub-family", "lightgbm", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "lightgbm-classifier" not in done.stdout  # -q: ids only on failure
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "xgboost" not in done.stdout


def test_naming_a_family_that_cannot_be_tested_fails(tmp_path: Path) -> None:
    done = _run_suite("--onnxhub-family", "catboost", "--onnxhub-family", "onnx", cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "family 'catboost' is not installed (installed: " in done.stdout
    assert "family 'onnx' offers no conformance cases" in done.stdout
