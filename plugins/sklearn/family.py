"""The ``sklearn`` family: scikit-learn estimators and Pipelines, exported with skl2onnx.

It claims any fitted ``BaseEstimator`` object (score 10, so a more specific family such as
XGBoost's sklearn wrapper can outbid it) and ``.joblib``/``.pkl``/``.pickle`` files (score 100).
How samples map onto ONNX inputs is described in :mod:`hub_plugins.sklearn.sample`.

Loading a pickle executes code stored in it: only publish files you produced or trust.
scikit-learn and skl2onnx are imported inside the methods, so listing plugins stays fast.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import InvalidInput, InvalidModelFile, first_line
from hub.families import (
    TABULAR_CLASSIFICATION,
    TABULAR_REGRESSION,
    ConformanceCase,
    ExportedModel,
    FamilyInfo,
    FamilyPlugin,
    SampleData,
)

NAME = "sklearn"
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
#: How users save scikit-learn models (the conformance suite proves both load).
SAVED_AS = ("joblib", "pickle")


def _installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("sklearn", "skl2onnx", "joblib"))


def _is_estimator(model: Any) -> bool:
    # An estimator instance can only exist once sklearn is imported: no import for a claim.
    base = sys.modules.get("sklearn.base")
    return (
        base is not None and isinstance(model, base.BaseEstimator) and not isinstance(model, type)
    )


def _task(model: Any) -> str | None:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(model):
        return TABULAR_CLASSIFICATION
    if is_regressor(model):
        return TABULAR_REGRESSION
    return None


class SklearnFamily(FamilyPlugin):
    """scikit-learn estimators, Pipelines and ColumnTransformers."""

    info = FamilyInfo(
        name=NAME,
        framework="scikit-learn",
        summary="scikit-learn estimators and Pipelines (skl2onnx), from objects or joblib files",
        file_suffixes=PICKLE_SUFFIXES,
        available=_installed(),
        install_hint="pip install 'onnxhub[sklearn]'",
    )

    def claim(self, model: Any) -> int | None:
        """10 for an estimator object, 100 for a joblib/pickle path."""
        if _is_estimator(model):
            return 10
        return super().claim(model)

    def load(self, path: Path) -> Any:
        """``joblib.load`` the file (this runs the pickle's code); it must be a fitted estimator."""
        import joblib

        from hub_plugins.sklearn.export import check_fitted

        if path.is_dir():
            raise InvalidModelFile(f"{path.name} is a folder, not a joblib/pickle file")
        try:
            model = joblib.load(path)
        except ModuleNotFoundError as exc:
            raise InvalidModelFile(
                f"{path.name} needs the Python module {exc.name!r}, which is not installed"
            ) from None
        except Exception as exc:
            detail = first_line(exc)
            raise InvalidModelFile(
                f"{path.name} is not a readable joblib/pickle file (corrupt or truncated): {detail}"
            ) from None
        if not _is_estimator(model):
            raise InvalidInput(
                f"{path.name} holds a {type(model).__name__}, not a fitted scikit-learn estimator"
            )
        check_fitted(model)
        return model

    def export(self, model: Any, sample: SampleData, opset: int | None) -> ExportedModel:
        """skl2onnx export, inputs float32/string ``[-1, width]`` (see :mod:`sklearn_sample`)."""
        import sklearn

        from hub_plugins.sklearn.export import (
            check_fitted,
            check_multi_input,
            convert,
            resolve_opset,
        )
        from hub_plugins.sklearn.sample import check_feature_count, sample_groups

        if not _is_estimator(model):
            raise InvalidInput(
                f"the {NAME} family takes a scikit-learn estimator, not {type(model).__name__}"
            )
        check_fitted(model)
        groups = sample_groups(sample)
        check_feature_count(model, groups)
        check_multi_input(model, groups)
        onnx_model = convert(model, groups, resolve_opset(opset))
        output_names = {o.name for o in onnx_model.graph.output}
        labels = ("label",) if "label" in output_names else ()
        task = _task(model)
        return ExportedModel(
            model=onnx_model,
            feeds={g.name: g.values for g in groups},
            framework_version=sklearn.__version__,
            label_outputs=labels,
            task=task,
            metadata={"estimator": type(model).__name__},
        )

    def predict(
        self, model: Any, sample: SampleData, exported: ExportedModel
    ) -> dict[str, np.ndarray]:
        """``predict``/``predict_proba``/``transform`` on the very rows ONNX was fed."""
        from hub_plugins.sklearn.export import framework_outputs

        return framework_outputs(model, exported.feeds, exported.model)

    def card_defaults(self, model: Any) -> dict[str, Any]:
        """library, task (classification/regression) and tags (estimator class names)."""
        from hub_plugins.sklearn.export import final_estimator

        tags = [NAME, type(model).__name__]
        last = type(final_estimator(model)).__name__
        if last not in tags:
            tags.append(last)
        defaults: dict[str, Any] = {"library": "scikit-learn", "tags": tags}
        task = _task(model)
        if task:
            defaults["task"] = task
        return defaults

    def conformance_cases(self) -> list[ConformanceCase]:
        """A LogisticRegression and a Ridge, each trained on 120 rows, 20 held out."""
        return [
            ConformanceCase(NAME, "logistic-regression", _logistic_case, saved_as=SAVED_AS),
            ConformanceCase(NAME, "ridge", _ridge_case, saved_as=SAVED_AS),
        ]


def _logistic_case(tmp_path: Path) -> tuple[Any, SampleData]:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(n_samples=140, n_features=6, n_informative=4, random_state=0)
    model = LogisticRegression(max_iter=500).fit(X[:120], y[:120])
    return model, X[120:]


def _ridge_case(tmp_path: Path) -> tuple[Any, SampleData]:
    from sklearn.datasets import make_regression
    from sklearn.linear_model import Ridge

    X, y = make_regression(n_samples=140, n_features=5, noise=0.1, random_state=0)
    model = Ridge(alpha=1.0).fit(X[:120], y[:120])
    return model, X[120:]


plugin = SklearnFamily()
