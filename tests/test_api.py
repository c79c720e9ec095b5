"""The Python API end to end: publish, open, check, test data, cards, bad input."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import onnx
import pytest

import hub as hub_pkg
from hub.api import Hub
from hub.catalog.records import ModelPath
from hub.errors import InvalidInput, InvalidModelFile, NotFound, StorageError
from hub.export.parity import unpack_test_data


def test_open_predicts_like_the_framework(sqlite_hub: Hub, logreg) -> None:
    model, X = logreg
    sqlite_hub.publish(model, name="iris", sample=X)
    predictor = sqlite_hub.open("iris")
    assert predictor.providers[-1] == "CPUExecutionProvider"
    out = predictor.predict(X)
    np.testing.assert_array_equal(out["label"], model.predict(X))
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), atol=1e-5)
    one_row = predictor.predict(X[0])  # a single row gets its batch dimension
    assert one_row["label"].tolist() == [model.predict(X[:1])[0]]


def test_check_reruns_the_stored_test_data(sqlite_hub: Hub, ridge) -> None:
    model, X = ridge
    published = sqlite_hub.publish(model, name="linear", sample=X)
    version, report = sqlite_hub.check("linear")
    assert version.version == published.version and report.passed
    stored = published.parity
    assert report.rows == stored["rows"] == len(X)
    assert report.outputs[0].max_abs_error == pytest.approx(stored["outputs"][0]["max_abs_error"])
    feeds, expected = unpack_test_data(sqlite_hub.test_data(version))
    np.testing.assert_array_equal(feeds[version.inputs[0].name], X)
    np.testing.assert_allclose(expected["variable"].ravel(), model.predict(X), atol=1e-5)


def test_check_detects_a_corrupted_blob(sqlite_hub: Hub, ridge) -> None:
    model, X = ridge
    version = sqlite_hub.publish(model, name="linear", sample=X)
    path = sqlite_hub.artifacts.path(version.sha256)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(StorageError, match="corrupted"):
        sqlite_hub.open("linear")


def test_a_one_file_version_is_built_from_its_verified_blob(sqlite_hub: Hub, ridge) -> None:
    """Sessions read the blob in the store themselves (no copy of the bytes kept in memory)."""
    model, X = ridge
    version = sqlite_hub.publish(model, name="linear", sample=X)
    blob = sqlite_hub.artifacts.path(version.sha256)
    assert sqlite_hub.model_source(version) == ModelPath(blob, mapped=False)
    blob.unlink()
    with pytest.raises(NotFound, match=f"{version.sha256} is missing"):
        sqlite_hub.model_source(version)


def test_publish_a_joblib_file_and_a_plain_onnx_file(
    sqlite_hub: Hub, logreg, tmp_path: Path
) -> None:
    model, X = logreg
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    from_file = sqlite_hub.publish(path, name="iris", sample=X)
    assert from_file.family == "sklearn" and from_file.framework == "scikit-learn"
    onnx_path = tmp_path / "exported.onnx"
    onnx_path.write_bytes(sqlite_hub.model_bytes(from_file))
    plain = sqlite_hub.publish(onnx_path, name="iris", sample=X)
    assert (plain.version, plain.family, plain.sha256) == (2, "onnx", from_file.sha256)
    expected = sqlite_hub.open("iris", 1).predict(X)
    got = sqlite_hub.open("iris", 2).predict(X)
    np.testing.assert_array_equal(got["label"], expected["label"])


def test_module_level_api_uses_the_environment(monkeypatch, tmp_path: Path, ridge) -> None:
    model, X = ridge
    monkeypatch.setenv("ONNXHUB_HOME", str(tmp_path / "envhome"))
    monkeypatch.delenv("ONNXHUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("ONNXHUB_ARTIFACTS", raising=False)
    version = hub_pkg.publish(model, name="env-model", sample=X)
    assert (tmp_path / "envhome" / "catalog.db").is_file()
    assert [m.name for m in hub_pkg.list_models()] == ["env-model"]
    assert hub_pkg.get_model("env-model").latest_version == version.version == 1
    out = hub_pkg.open("env-model").predict(X)
    np.testing.assert_allclose(out["variable"].ravel(), model.predict(X), rtol=1e-5)


@pytest.mark.parametrize(
    ("mangle", "error", "fragment"),
    [
        (lambda b: b[: len(b) // 2], InvalidModelFile, "not a"),
        (lambda b: b"\x00garbage" * 10, InvalidModelFile, "not a"),
    ],
)
def test_corrupt_onnx_files_are_refused(
    sqlite_hub: Hub, logreg, tmp_path: Path, mangle, error, fragment
) -> None:
    model, X = logreg
    good = sqlite_hub.export(model, X).model_bytes
    path = tmp_path / "bad.onnx"
    path.write_bytes(mangle(good))
    with pytest.raises(error, match=fragment):
        sqlite_hub.publish(path, name="bad", sample=X)
    assert sqlite_hub.list_models() == []


def test_unsupported_ir_and_opset_are_refused(sqlite_hub: Hub, logreg, tmp_path: Path) -> None:
    model, X = logreg
    proto = onnx.load_from_string(sqlite_hub.export(model, X).model_bytes)
    proto.ir_version = 99
    path = tmp_path / "future-ir.onnx"
    onnx.save(proto, path)
    with pytest.raises(InvalidModelFile, match="IR version 99"):
        sqlite_hub.publish(path, name="future", sample=X)
    proto = onnx.load_from_string(sqlite_hub.export(model, X).model_bytes)
    for entry in proto.opset_import:
        if entry.domain == "":
            entry.version = 99
    path = tmp_path / "future-opset.onnx"
    onnx.save(proto, path)
    with pytest.raises(InvalidModelFile, match="opset 99"):
        sqlite_hub.publish(path, name="future", sample=X)


def test_bad_requests_name_the_problem(sqlite_hub: Hub, logreg, tmp_path: Path) -> None:
    model, X = logreg
    with pytest.raises(NotFound, match="unknown family 'nope'"):
        sqlite_hub.publish(model, name="iris", sample=X, family="nope")
    with pytest.raises(InvalidInput, match="invalid model name"):
        sqlite_hub.publish(model, name="../etc", sample=X)
    with pytest.raises(InvalidInput, match="sample"):
        sqlite_hub.publish(model, name="iris", sample=None)
    with pytest.raises(InvalidInput, match="does not exist"):
        sqlite_hub.publish(tmp_path / "missing.joblib", name="iris", sample=X)
    with pytest.raises(InvalidInput, match="no installed family can handle"):
        sqlite_hub.publish(object(), name="iris", sample=X)
    with pytest.raises(InvalidInput, match="front matter"):
        sqlite_hub.publish(model, name="iris", sample=X, card="---\nlicense: [unclosed\n---\n")
    assert sqlite_hub.list_models() == []


def test_card_serving_block_becomes_version_serving_options(sqlite_hub: Hub, ridge) -> None:
    model, X = ridge
    card = "---\nserving:\n  max_batch_size: 8\n  run_concurrency: 2\n---\n\nLinear.\n"
    version = sqlite_hub.publish(model, name="linear", sample=X, card=card)
    assert version.metadata["serving"] == {"max_batch_size": 8, "run_concurrency": 2}
    with pytest.raises(InvalidInput, match="^card front matter 'serving': expected `object`"):
        sqlite_hub.publish(model, name="linear", sample=X, card="---\nserving: fast\n---\n")
    bad_field = "---\nserving:\n  max_batch_size: 0\n---\n"
    with pytest.raises(
        InvalidInput, match="^card front matter 'serving': max_batch_size: expected `int` >= 1$"
    ):
        sqlite_hub.publish(model, name="linear", sample=X, card=bad_field)
    misspelt = "---\nserving:\n  max_batch: 8\n---\n"
    with pytest.raises(InvalidInput, match="unknown field `max_batch`"):
        sqlite_hub.publish(model, name="linear", sample=X, card=misspelt)
    assert sqlite_hub.get_model("linear").versions == (1,)
