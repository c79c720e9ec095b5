"""The xgboost family end to end: train tiny models, export, run onnxruntime, compare."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from hub.errors import HubError, InvalidInput, InvalidModelFile
from hub.families import convert_and_check, get_plugin_manager

xgboost = pytest.importorskip("xgboost")
FAMILY = "xgboost"
tabular = pytest.importorskip("onnxhub_xgboost.cases").tabular


@pytest.fixture(scope="module")
def registry():
    return get_plugin_manager()


@pytest.fixture(scope="module")
def classifier():
    X, y, held_out = tabular(3)
    return xgboost.XGBClassifier(n_estimators=15, max_depth=3).fit(X, y), held_out


@pytest.fixture(scope="module")
def regressor():
    X, y, held_out = tabular(None)
    return xgboost.XGBRegressor(n_estimators=15, max_depth=3).fit(X, y), held_out


def _session(checked) -> ort.InferenceSession:
    return ort.InferenceSession(checked.model_bytes, providers=["CPUExecutionProvider"])


def _figures(report) -> dict[str, object]:
    return {o.name: o for o in report.outputs}


def test_registered_through_the_entry_point(registry):
    family = registry.families["xgboost"]
    assert family.info.framework == "xgboost"
    assert family.info.available
    assert family.distribution == "onnxhub-xgboost"
    assert ".ubj" in family.info.file_suffixes


def test_classifier_exports_with_exact_parity(registry, classifier):
    model, held_out = classifier
    checked = convert_and_check(registry, model, held_out)
    assert checked.family == "xgboost"  # beats the scikit-learn family's generic claim
    assert [o.name for o in checked.outputs] == ["label", "probabilities"]
    assert checked.inputs[0].shape == (-1, 6) and checked.inputs[0].datatype == "FP32"
    figures = _figures(checked.report)
    assert checked.report.passed and checked.report.rows == 60
    assert figures["label"].kind == "label" and figures["label"].label_mismatch == 0.0
    assert figures["probabilities"].max_abs_error < 1e-5
    assert checked.card_defaults["library"] == "xgboost"
    assert checked.card_defaults["task"] == "tabular-classification"
    assert checked.exported.metadata["objective"] == "multi:softprob"


@pytest.mark.parametrize("batch", [1, 7])
def test_classifier_batches_match_xgboost(registry, classifier, batch):
    model, held_out = classifier
    checked = convert_and_check(registry, model, held_out)
    rows = held_out[10 : 10 + batch]
    label, probabilities = _session(checked).run(None, {"input": rows})
    assert label.shape == (batch,) and probabilities.shape == (batch, 3)
    np.testing.assert_array_equal(label, model.predict(rows))
    np.testing.assert_allclose(probabilities, model.predict_proba(rows), atol=1e-5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_regressor_exports_with_parity(registry, regressor):
    model, held_out = regressor
    checked = convert_and_check(registry, model, held_out)
    assert checked.family == "xgboost"
    assert [o.name for o in checked.outputs] == ["variable"]
    assert checked.report.passed
    assert _figures(checked.report)["variable"].max_rel_error < 1e-5
    assert checked.card_defaults["task"] == "tabular-regression"
    for batch in (1, 7):
        (variable,) = _session(checked).run(None, {"input": held_out[:batch]})
        np.testing.assert_allclose(variable.ravel(), model.predict(held_out[:batch]), rtol=1e-5)


def test_pipeline_with_scaler_is_claimed_and_exported(registry):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, held_out = tabular(2, seed=1)
    model = make_pipeline(StandardScaler(), xgboost.XGBClassifier(n_estimators=15, max_depth=3))
    model.fit(X, y)
    assert registry.choose_family(model) == "xgboost"
    checked = convert_and_check(registry, model, held_out)
    figures = _figures(checked.report)
    # The scaler runs in float32 in both, but rounds differently: a flip is possible, not seen here.
    assert figures["label"].label_mismatch == 0.0
    assert figures["probabilities"].max_abs_error < 1e-5
    label, probabilities = _session(checked).run(None, {"input": held_out[:7]})
    np.testing.assert_array_equal(label, model.predict(held_out[:7]))
    np.testing.assert_allclose(probabilities, model.predict_proba(held_out[:7]), atol=1e-5)


@pytest.mark.parametrize("suffix", [".ubj", ".json"])
def test_native_booster_files_load_and_export(registry, classifier, tmp_path, suffix):
    model, held_out = classifier
    path = tmp_path / f"model{suffix}"
    model.get_booster().save_model(path)
    assert registry.choose_family(path) == "xgboost"
    checked = convert_and_check(registry, path, held_out)
    assert checked.family == "xgboost" and checked.report.passed
    (label, probabilities) = _session(checked).run(None, {"input": held_out})
    np.testing.assert_array_equal(label, model.predict(held_out))
    np.testing.assert_allclose(probabilities, model.predict_proba(held_out), atol=1e-5)


def test_booster_object_is_claimed_and_exported(registry, regressor):
    model, held_out = regressor
    booster = model.get_booster()
    assert registry.choose_family(booster) == "xgboost"
    checked = convert_and_check(registry, booster, held_out)
    (variable,) = _session(checked).run(None, {"input": held_out})
    np.testing.assert_allclose(variable.ravel(), model.predict(held_out), rtol=1e-5)


def test_generic_json_is_not_claimed(registry, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"learning_rate": 0.1, "learner": "not a model"}))
    plugin = registry.pm.get_plugin("xgboost")
    assert plugin.claim(path) is None


def test_missing_values_take_the_learned_branch(registry):
    X, y, held_out = tabular(3, seed=4)
    rng = np.random.default_rng(0)
    X, held_out = X.copy(), held_out.copy()
    X[rng.random(X.shape) < 0.1] = np.nan
    held_out[rng.random(held_out.shape) < 0.2] = np.nan
    model = xgboost.XGBClassifier(n_estimators=15, max_depth=3).fit(X, y)
    checked = convert_and_check(registry, model, held_out)
    figures = _figures(checked.report)
    assert figures["label"].label_mismatch == 0.0
    assert figures["probabilities"].max_abs_error < 1e-5
    label, _ = _session(checked).run(None, {"input": held_out})
    np.testing.assert_array_equal(label, model.predict(held_out))


def test_pickled_pipeline_is_reclaimed_after_loading(registry, tmp_path):
    joblib = pytest.importorskip("joblib")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, held_out = tabular(None, seed=5)
    model = make_pipeline(StandardScaler(), xgboost.XGBRegressor(n_estimators=10, max_depth=3)).fit(
        X, y
    )
    path = tmp_path / "pipeline.joblib"
    joblib.dump(model, path)
    # the scikit-learn family loads the pickle; the xgboost family then claims what it holds
    checked = convert_and_check(registry, path, held_out)
    assert checked.family == "xgboost" and checked.report.passed
    (variable,) = _session(checked).run(None, {"input": held_out})
    np.testing.assert_allclose(variable.ravel(), model.predict(held_out), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("change", [-1, +1])
def test_wrong_feature_count_is_invalid_input(registry, classifier, change):
    model, held_out = classifier
    sample = held_out[:, :-1] if change < 0 else np.hstack([held_out, held_out[:, :1]])
    with pytest.raises(
        InvalidInput, match=rf"{6 + change} features per row but the model expects 6"
    ):
        convert_and_check(registry, model, sample)


def test_non_numeric_and_mapping_samples_are_invalid_input(registry, classifier):
    model, held_out = classifier
    with pytest.raises(InvalidInput, match="not numeric"):
        convert_and_check(registry, model, [["a"] * 6])
    with pytest.raises(InvalidInput, match="2-D"):
        convert_and_check(registry, model, held_out[0])
    with pytest.raises(InvalidInput, match="mapping"):
        convert_and_check(registry, model, {"input": held_out})


def test_unfitted_model_is_invalid_input(registry, classifier):
    _, held_out = classifier
    with pytest.raises(InvalidInput, match="not fitted"):
        convert_and_check(registry, xgboost.XGBClassifier(), held_out, family="xgboost")


@pytest.mark.parametrize(
    "name, content",
    [
        ("corrupt.ubj", b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner" + b"\xff" * 40),
        ("truncated.json", b'{"learner": {"attributes": {}, "gradient_booster": {"mo'),
    ],
)
def test_corrupt_model_file_is_one_clear_error(registry, classifier, tmp_path, name, content):
    _, held_out = classifier
    path = tmp_path / name
    path.write_bytes(content)
    assert registry.choose_family(path) == "xgboost"
    with pytest.raises(
        InvalidModelFile, match=rf"^{name} is not a readable XGBoost model: "
    ) as info:
        convert_and_check(registry, path, held_out)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, HubError)


@pytest.mark.parametrize(("suffix", "families"), [(".pkl", (FAMILY, None)), (".bin", (FAMILY,))])
def test_pickled_booster_loads_by_family_and_by_claims(
    registry, classifier, tmp_path, suffix, families
):
    """A Booster object pickled: found by claims from a pickle suffix; with the family named,
    whatever the suffix (a pickle is recognised by its first bytes)."""
    import pickle

    path = tmp_path / f"booster{suffix}"
    path.write_bytes(pickle.dumps(classifier[0].get_booster()))
    for family in families:
        checked = convert_and_check(registry, path, classifier[1], family=family)
        assert checked.family == "xgboost" and checked.report.passed


def test_pickle_of_another_framework_is_refused(registry, classifier, tmp_path):
    import joblib
    from sklearn.linear_model import LinearRegression

    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), tmp_path / "other.joblib")
    with pytest.raises(InvalidInput, match="other.joblib holds a LinearRegression, not one of"):
        convert_and_check(registry, tmp_path / "other.joblib", classifier[1], family="xgboost")
