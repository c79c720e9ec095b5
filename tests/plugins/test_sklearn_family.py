"""The sklearn family: real estimators exported, run through onnxruntime, compared with sklearn."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Callable

import joblib
import numpy as np
import onnxruntime as ort
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from hub.errors import ExportFailed, InvalidInput, InvalidModelFile
from hub.export.convert import convert_and_check
from hub.export.parity import Tolerance
from hub.onnx.signature import TensorSpec
from hub_plugins.sklearn.family import plugin as sklearn_plugin

# Trees compare float32 inputs against thresholds that ONNX stores as float32 and sklearn as
# float64, so a row lying between the two roundings can flip: allow 5% of held-out labels.
TREE_TOLERANCE = Tolerance(max_label_mismatch=0.05)

CLASSIFIERS: dict[str, tuple[Callable[[], Any], Tolerance]] = {
    "logistic": (lambda: LogisticRegression(max_iter=500), Tolerance()),
    "random-forest": (
        lambda: RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0),
        TREE_TOLERANCE,
    ),
    "svc": (lambda: SVC(probability=True, random_state=0), Tolerance()),
    "decision-tree": (lambda: DecisionTreeClassifier(max_depth=5, random_state=0), TREE_TOLERANCE),
    "mlp": (
        lambda: MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0),
        Tolerance(),
    ),
    "scaled-logistic": (
        lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        Tolerance(),
    ),
}


def _session(model_bytes: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])


def _rounded(X: np.ndarray) -> np.ndarray:
    """The rows as the ONNX graph sees them (float32), widened back for sklearn."""
    return X.astype(np.float32).astype(np.float64)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:.*probability.*deprecated:FutureWarning")
@pytest.mark.filterwarnings("ignore:Attribute `prob[AB]_` was deprecated:FutureWarning")
@pytest.mark.parametrize("kind", sorted(CLASSIFIERS))
def test_classifier_exports_with_parity_and_dynamic_batch(
    kind: str, registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    factory, tolerance = CLASSIFIERS[kind]
    model = factory().fit(X_train, y_train)

    checked = convert_and_check(registry, model, X_test, tolerance=tolerance)

    assert checked.family == "sklearn"
    assert checked.framework == "scikit-learn"
    assert checked.report.passed, checked.report.summary()
    assert checked.report.rows == len(X_test)
    figures = {o.name: o for o in checked.report.outputs}
    assert set(figures) == {"label", "probabilities"}
    assert figures["label"].kind == "label"
    assert figures["label"].label_mismatch <= tolerance.max_label_mismatch
    assert figures["probabilities"].max_abs_error < 1e-4
    assert checked.inputs == (TensorSpec("input", "FP32", (-1, X_test.shape[1])),)
    assert checked.outputs == (
        TensorSpec("label", "INT64", (-1,)),
        TensorSpec("probabilities", "FP32", (-1, 2)),
    )
    assert checked.exported.label_outputs == ("label",)
    assert checked.card_defaults["task"] == "tabular-classification"
    assert checked.card_defaults["library"] == "scikit-learn"

    session = _session(checked.model_bytes)
    for rows in (X_test[:1], X_test[:7]):
        label, proba = session.run(None, {"input": rows.astype(np.float32)})
        assert label.shape == (len(rows),) and proba.shape == (len(rows), 2)
        np.testing.assert_allclose(proba, model.predict_proba(_rounded(rows)), atol=1e-4)
        if tolerance.max_label_mismatch == 0:
            np.testing.assert_array_equal(label, model.predict(_rounded(rows)))


def test_regressor_output_is_n_by_1_and_matches(
    registry: Any, regression_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = regression_split
    model = Ridge(alpha=0.5).fit(X_train, y_train)

    checked = convert_and_check(registry, model, X_test)

    assert checked.report.passed, checked.report.summary()
    (variable,) = checked.report.outputs
    assert variable.name == "variable" and variable.kind == "numeric"
    assert variable.max_rel_error < 1e-5
    assert checked.outputs == (TensorSpec("variable", "FP32", (-1, 1)),)
    assert checked.exported.label_outputs == ()
    assert checked.exported.task == "tabular-regression"
    session = _session(checked.model_bytes)
    for rows in (X_test[:1], X_test[:7]):
        (out,) = session.run(None, {"input": rows.astype(np.float32)})
        assert out.shape == (len(rows), 1)
        np.testing.assert_allclose(out[:, 0], model.predict(_rounded(rows)), rtol=1e-5)


def _mixed_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numeric columns and two string categories derived from the data (so they carry signal)."""
    categories = np.stack(
        [np.where(X[:, 3] > 0, "high", "low"), np.where(X[:, 4] > 0.5, "pos", "neg")], axis=1
    )
    return X[:, :3], categories


def test_column_transformer_with_two_typed_inputs(
    registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    num_train, cat_train = _mixed_rows(X_train)
    num_test, cat_test = _mixed_rows(X_test)
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), [0, 1, 2]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), [3, 4]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=500))
    model.fit(np.hstack([num_train.astype(object), cat_train]), y_train)

    checked = convert_and_check(registry, model, {"num": num_test, "cat": cat_test})

    assert checked.report.passed, checked.report.summary()
    figures = {o.name: o for o in checked.report.outputs}
    assert figures["label"].label_mismatch == 0.0
    assert figures["probabilities"].max_abs_error < 1e-4
    assert checked.inputs == (
        TensorSpec("num", "FP32", (-1, 3)),
        TensorSpec("cat", "BYTES", (-1, 2)),
    )
    session = _session(checked.model_bytes)
    for n in (1, 7):
        feeds = {"num": num_test[:n].astype(np.float32), "cat": cat_test[:n]}
        label, proba = session.run(None, feeds)
        framework_rows = np.hstack([_rounded(num_test[:n]).astype(object), cat_test[:n]])
        np.testing.assert_array_equal(label, model.predict(framework_rows))
        np.testing.assert_allclose(proba, model.predict_proba(framework_rows), atol=1e-4)


def test_column_transformer_over_indices_takes_one_input(
    registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    columns = ColumnTransformer([("scaled", StandardScaler(), [0, 1, 2])], remainder="passthrough")
    model = make_pipeline(columns, LogisticRegression(max_iter=500)).fit(X_train, y_train)

    checked = convert_and_check(registry, model, X_test)

    assert checked.report.passed, checked.report.summary()
    assert checked.inputs == (TensorSpec("input", "FP32", (-1, 6)),)
    assert {o.name: o for o in checked.report.outputs}["probabilities"].max_abs_error < 1e-4


def test_string_class_labels_and_three_classes(registry: Any) -> None:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=150, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    names = np.array(["cat", "dog", "eel"])[y]
    model = LogisticRegression(max_iter=500).fit(X[:120], names[:120])

    checked = convert_and_check(registry, model, X[120:])

    assert checked.report.passed, checked.report.summary()
    assert checked.outputs == (
        TensorSpec("label", "BYTES", (-1,)),
        TensorSpec("probabilities", "FP32", (-1, 3)),
    )
    label, _ = _session(checked.model_bytes).run(None, {"input": X[120:127].astype(np.float32)})
    np.testing.assert_array_equal(label, model.predict(_rounded(X[120:127])))


def test_exports_are_byte_reproducible(
    registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    model = RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0).fit(
        X_train, y_train
    )
    first = convert_and_check(registry, model, X_test, tolerance=TREE_TOLERANCE)
    second = convert_and_check(registry, model, X_test, tolerance=TREE_TOLERANCE)
    assert first.model_bytes == second.model_bytes
    assert first.exported.model.graph.name == "RandomForestClassifier"


def test_float64_sample_becomes_float32_feeds(
    registry: Any, regression_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = regression_split
    model = Ridge().fit(X_train, y_train)
    exported = registry.export("sklearn", model, X_test)
    assert exported.feeds["input"].dtype == np.float32
    np.testing.assert_array_equal(exported.feeds["input"], X_test.astype(np.float32))
    assert exported.framework_version == __import__("sklearn").__version__


def test_publish_from_a_joblib_file(
    tmp_path: Path, classification_split: tuple[np.ndarray, ...]
) -> None:
    from hub.api import Hub
    from hub.settings import Settings

    X_train, y_train, X_test, _ = classification_split
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X_train, y_train)
    path = tmp_path / "scaled-logistic.joblib"
    joblib.dump(model, path)

    with Hub(Settings.for_home(tmp_path / "hub")) as hub:
        version = hub.publish(path, name="scaled-logistic", sample=X_test)
        assert version.family == "sklearn"
        assert version.task == "tabular-classification"
        assert version.parity is not None and version.parity["passed"]
        outputs = hub.open("scaled-logistic").predict(X_test[:5])
    np.testing.assert_allclose(
        outputs["probabilities"], model.predict_proba(_rounded(X_test[:5])), atol=1e-4
    )


def test_claims() -> None:
    assert sklearn_plugin.claim(Ridge()) == 10
    assert sklearn_plugin.claim(Path("m.PKL")) == 100
    assert sklearn_plugin.claim(Path("m.joblib")) == 100
    assert sklearn_plugin.claim(Path("m.onnx")) is None
    assert sklearn_plugin.claim(Ridge) is None
    assert sklearn_plugin.claim({"coef": 1}) is None


def test_conformance_cases_build_quickly_and_pass(registry: Any, tmp_path: Path) -> None:
    import time

    cases = sklearn_plugin.conformance_cases()
    assert [c.name for c in cases] == ["logistic-regression", "ridge"]
    for case in cases:
        started = time.perf_counter()
        model, sample = case.build(tmp_path)
        assert time.perf_counter() - started < 1.0
        checked = convert_and_check(registry, model, sample)
        assert checked.report.passed, checked.report.summary()
        assert checked.report.rows == len(sample)


# -- bad input ------------------------------------------------------------------------------


class HandRolledClassifier(ClassifierMixin, BaseEstimator):
    """A fitted estimator that skl2onnx has no converter for."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "HandRolledClassifier":
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.classes_[0])


def test_unsupported_estimator_pickle_is_export_failed(
    registry: Any, tmp_path: Path, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    path = tmp_path / "custom.pkl"
    with path.open("wb") as handle:
        pickle.dump(HandRolledClassifier().fit(X_train, y_train), handle)
    with pytest.raises(ExportFailed, match=r"sklearn family cannot export HandRolledClassifier"):
        convert_and_check(registry, path, X_test)


def test_isotonic_regression_is_not_supported(registry: Any) -> None:
    x = np.linspace(0, 1, 30)
    model = IsotonicRegression().fit(x, x**2)
    with pytest.raises(ExportFailed) as info:
        convert_and_check(registry, model, x[:5].reshape(-1, 1))
    assert "IsotonicRegression" in str(info.value) and "sklearn family" in str(info.value)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)


def test_unsupported_step_inside_a_pipeline_is_named(
    registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    model = Pipeline([("scale", StandardScaler()), ("odd", HandRolledClassifier())]).fit(
        X_train, y_train
    )
    with pytest.raises(ExportFailed, match=r"HandRolledClassifier \(inside Pipeline\)"):
        convert_and_check(registry, model, X_test)


def test_wrong_number_of_sample_features(
    registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    with pytest.raises(InvalidInput, match="sample has 4 features, the model expects 6"):
        convert_and_check(registry, model, X_test[:, :4])


def test_column_groups_without_a_column_transformer_are_refused(
    registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    with pytest.raises(
        InvalidInput, match=r"several column groups \(a, b\) needs a ColumnTransformer"
    ):
        convert_and_check(registry, model, {"a": X_test[:, :2], "b": X_test[:, 2:]})


def test_mixed_strings_and_numbers_in_one_array_are_refused(
    registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    mixed = X_test.astype(object)
    mixed[:, 0] = "red"
    with pytest.raises(
        InvalidInput, match="mixes strings and numbers; give it as a dict of column groups"
    ):
        convert_and_check(registry, model, mixed)


def test_sample_must_be_two_dimensional(
    registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    model = LogisticRegression(max_iter=500).fit(X_train, y_train)
    with pytest.raises(InvalidInput, match=r"must be 2-D \[rows, features\]"):
        convert_and_check(registry, model, X_test[0])


def test_unfitted_estimator_is_refused(
    registry: Any, classification_split: tuple[np.ndarray, ...]
) -> None:
    with pytest.raises(InvalidInput, match="LogisticRegression is not fitted"):
        convert_and_check(registry, LogisticRegression(), classification_split[2])


def test_garbage_pickle_is_invalid_model_file(registry: Any, tmp_path: Path) -> None:
    path = tmp_path / "garbage.pkl"
    path.write_bytes(b"\x00\x01this is not a pickle at all" * 8)
    with pytest.raises(InvalidModelFile, match="garbage.pkl is not a readable joblib/pickle file"):
        convert_and_check(registry, path, np.zeros((2, 3)))


def test_truncated_joblib_is_invalid_model_file(
    registry: Any, tmp_path: Path, classification_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = classification_split
    path = tmp_path / "model.joblib"
    joblib.dump(RandomForestClassifier(n_estimators=3, random_state=0).fit(X_train, y_train), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InvalidModelFile, match="corrupt or truncated"):
        convert_and_check(registry, path, X_test)


def test_pickle_of_a_plain_dict_is_refused(registry: Any, tmp_path: Path) -> None:
    path = tmp_path / "weights.pickle"
    joblib.dump({"coef": [1.0, 2.0]}, path)
    with pytest.raises(
        InvalidInput, match="weights.pickle holds a dict, not a fitted scikit-learn"
    ):
        convert_and_check(registry, path, np.zeros((2, 2)))


def test_out_of_range_opset_is_refused(
    registry: Any, regression_split: tuple[np.ndarray, ...]
) -> None:
    X_train, y_train, X_test, _ = regression_split
    model = Ridge().fit(X_train, y_train)
    with pytest.raises(InvalidInput, match="opset 99 is out of range for the sklearn family"):
        convert_and_check(registry, model, X_test, opset=99)


def test_importing_the_built_in_families_imports_no_framework() -> None:
    import subprocess
    import sys

    heavy = ("sklearn", "skl2onnx", "joblib", "onnx", "onnxruntime")
    code = (
        "import sys, hub_plugins.sklearn.family, hub_plugins.onnx.family\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
