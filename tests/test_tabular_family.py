"""hub.families.tabular.TabularFamily: a whole family from the library-specific parts alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hub.errors import ExportFailed, InvalidInput
from hub.families import FamilyInfo
from hub.families.estimators import INPUT_NAME, convert_estimator, final_estimator
from hub.families.tabular import FILE_SCORE, SPECIFIC_SCORE, TabularFamily


class BoostingFamily(TabularFamily):
    """scikit-learn's own gradient boosting, as a third-party library's family would be written."""

    accepts = "gradient boosting models"
    extra_tags = ("gradient-boosting",)
    converter_module = "skl2onnx"

    def __init__(self) -> None:
        self.info = FamilyInfo(name="boosting", framework="sklearn", summary="test family")

    def is_estimator(self, model: Any) -> bool:
        return isinstance(model, (GradientBoostingClassifier, GradientBoostingRegressor))

    def is_classifier(self, estimator: Any) -> bool:
        return isinstance(final_estimator(estimator), GradientBoostingClassifier)

    def to_onnx(self, estimator: Any, n_features: int, opset: int | None) -> Any:
        return convert_estimator(
            estimator,
            graph_name="boosting",
            n_features=n_features,
            classifier=self.is_classifier(estimator),
            opset=opset,
        )

    def claims_file(self, path: Path) -> bool:
        return path.suffix == ".gb"

    def fitted_metadata(self, final: Any) -> dict[str, Any]:
        return {"stages": int(final.n_estimators_)}


def _run(proto: Any, matrix: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: matrix})


def test_a_classifier_pipeline_exports_with_labels_probabilities_and_metadata() -> None:
    X, y = make_classification(n_samples=120, n_features=5, n_informative=3, random_state=0)
    model = make_pipeline(StandardScaler(), GradientBoostingClassifier(n_estimators=7)).fit(X, y)
    family = BoostingFamily()
    assert family.claim(model) == SPECIFIC_SCORE
    assert family.claim(LogisticRegression()) is None
    assert family.claim(Path("m.gb")) == FILE_SCORE and family.claim(Path("m.txt")) is None

    exported = family.export(model, X[:20], opset=None)
    assert exported.task == "tabular-classification" and exported.label_outputs == ("label",)
    assert exported.metadata["estimator"] == "GradientBoostingClassifier"
    assert exported.metadata["stages"] == 7
    assert exported.metadata["converter"].startswith("skl2onnx ")
    assert exported.framework_version == __import__("sklearn").__version__
    labels, probabilities = _run(exported.model, exported.feeds[INPUT_NAME])
    framework = family.predict(model, X[:20], exported)
    np.testing.assert_array_equal(labels, framework["label"])
    np.testing.assert_allclose(probabilities, framework["probabilities"], atol=1e-5)
    np.testing.assert_array_equal(framework["label"], model.predict(X[:20]))
    assert family.card_defaults(model) == {
        "library": "sklearn",
        "task": "tabular-classification",
        "tags": ["boosting", "gradient-boosting"],
    }


def test_a_regressor_exports_variable_rows() -> None:
    X, y = make_regression(n_samples=80, n_features=4, random_state=1)
    model = GradientBoostingRegressor(n_estimators=5).fit(X, y)
    family = BoostingFamily()
    exported = family.export(model, X[:10], opset=None)
    assert exported.task == "tabular-regression" and exported.label_outputs == ()
    (variable,) = _run(exported.model, exported.feeds[INPUT_NAME])
    framework = family.predict(model, X[:10], exported)["variable"]
    assert framework.shape == (10, 1)
    np.testing.assert_allclose(variable, framework, rtol=1e-4, atol=1e-3)
    assert family.card_defaults(model)["task"] == "tabular-regression"


def test_refusals_name_the_family_and_the_problem() -> None:
    X, y = make_classification(n_samples=60, n_features=5, random_state=2)
    family = BoostingFamily()
    with pytest.raises(
        ExportFailed,
        match="the boosting family exports gradient boosting models, not LogisticRegression",
    ):
        family.export(LogisticRegression().fit(X, y), X[:5], opset=None)
    with pytest.raises(InvalidInput, match="the GradientBoostingClassifier is not fitted"):
        family.export(GradientBoostingClassifier(), X[:5], opset=None)
    fitted = GradientBoostingClassifier(n_estimators=3).fit(X, y)
    with pytest.raises(InvalidInput, match="4 features per row but the model expects 5"):
        family.export(fitted, X[:5, :4], opset=None)
