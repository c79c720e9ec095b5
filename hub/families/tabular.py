"""A base for families whose models are scikit-learn-compatible estimators on one feature matrix.

Public API for plugins: the gradient-boosting contrib families (``onnxhub-xgboost``,
``onnxhub-lightgbm``) are subclasses, and so can be any tree or linear library whose estimators
follow scikit-learn's ``predict`` / ``predict_proba`` and convert through skl2onnx.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import ExportFailed, HubError, InvalidInput
from hub.families.estimators import (
    INPUT_NAME,
    estimator_outputs,
    expected_features,
    feature_matrix,
    final_estimator,
)
from hub.families.plugin import FamilyPlugin
from hub.families.saving import is_pickle_file, load_pickle
from hub.families.tasks import TABULAR_CLASSIFICATION, TABULAR_REGRESSION
from hub.families.types import ExportedModel, SampleData

#: Claim score for a file the family recognises by its content.
FILE_SCORE = 100
#: Claim score for the family's own objects: above the scikit-learn family's generic 10.
SPECIFIC_SCORE = 50


class TabularFamily(FamilyPlugin):
    """Claiming, export, parity outputs and card defaults for one library's estimators.

    Models are the library's scikit-learn-style estimators, scikit-learn Pipelines ending in one,
    and (through :meth:`as_estimator`) the library's native model objects. Classifiers get
    outputs ``label`` and ``probabilities`` (float32, no ZipMap); regressors get ``variable``:
    the names the scikit-learn family uses, so clients see one shape of output whichever
    library trained the model.

    A subclass sets ``info`` (its ``framework`` is the library's import name, whose
    ``__version__`` is recorded) and :attr:`accepts`, and writes :meth:`is_estimator`,
    :meth:`is_classifier` and :meth:`to_onnx`; the rest have defaults to override.
    """

    #: What :meth:`export` takes, for its refusal message.
    accepts: str = "classifiers and regressors"
    #: Card tags after the family name.
    extra_tags: tuple[str, ...] = ("tabular",)
    #: Import name of the converter package whose version is recorded with each export.
    converter_module: str = "onnxmltools"

    # -- what a subclass writes ------------------------------------------------------------
    def is_estimator(self, model: Any) -> bool:
        """True for an estimator this family exports (not a Pipeline: its final step is asked)."""
        raise NotImplementedError(f"family {self.info.name!r} does not implement is_estimator")

    def is_classifier(self, estimator: Any) -> bool:
        """True when ``estimator`` (or its final Pipeline step) is a classifier."""
        raise NotImplementedError(f"family {self.info.name!r} does not implement is_classifier")

    def to_onnx(self, estimator: Any, n_features: int, opset: int | None) -> Any:
        """An ONNX ModelProto with input :data:`~hub.families.estimators.INPUT_NAME` and a dynamic batch.

        :func:`hub.families.estimators.convert_estimator` does it once the library's converters are
        registered with skl2onnx.
        """
        raise NotImplementedError(f"family {self.info.name!r} does not implement to_onnx")

    def is_native(self, model: Any) -> bool:
        """True for the library's own model object (e.g. a Booster); :meth:`as_estimator` wraps it."""
        return False

    def as_estimator(self, model: Any) -> Any:
        """The estimator form of ``model``; override to wrap what :meth:`is_native` accepts."""
        return model

    def load_native(self, path: Path) -> Any:
        """Load one of the library's own model files (a Booster file, say); the default
        refuses, naming what the family does load."""
        raise InvalidInput(
            f"family {self.info.name!r} cannot load {path.name}: it loads joblib/pickle files"
            + (
                f" and {', '.join(self.info.file_suffixes)} files"
                if self.info.file_suffixes
                else ""
            )
        )

    def claims_file(self, path: Path) -> bool:
        """True when ``path`` is a model file of this library (checked by content, cheaply)."""
        return False

    def fitted_metadata(self, final: Any) -> dict[str, Any]:
        """Metadata of the fitted estimator (e.g. its objective); raises when it is not fitted."""
        return {}

    # -- the family methods, written once ----------------------------------------------------
    def load(self, path: Path) -> Any:
        """A joblib/pickle file (how most users save these estimators) or, through
        :meth:`load_native`, the library's own format. A pickle must hold this family's
        model (an estimator, a pipeline ending in one, or a native object)."""
        if not is_pickle_file(path):
            return self.load_native(path)
        model = load_pickle(path)
        if not (self.is_native(model) or self.is_estimator(final_estimator(model))):
            raise InvalidInput(
                f"{path.name} holds a {type(model).__name__}, not one of the {self.info.name} "
                f"family's {self.accepts}"
            )
        return model

    def claim(self, model: Any) -> int | None:
        if isinstance(model, Path):
            return FILE_SCORE if self.claims_file(model) else None
        if self.is_native(model) or self.is_estimator(final_estimator(model)):
            return SPECIFIC_SCORE
        return None

    def export(self, model: Any, sample: SampleData, opset: int | None) -> ExportedModel:
        estimator = self.as_estimator(model)
        final = final_estimator(estimator)
        if not self.is_estimator(final):
            raise ExportFailed(
                f"the {self.info.name} family exports {self.accepts}, not {type(final).__name__}"
            )
        try:
            fitted = self.fitted_metadata(final)
        except HubError:
            raise
        except Exception:
            raise InvalidInput(
                f"the {type(final).__name__} is not fitted; train it first"
            ) from None
        matrix = self._matrix(estimator, sample)
        onnx_model = self.to_onnx(estimator, matrix.shape[1], opset)
        classifier = self.is_classifier(estimator)
        return ExportedModel(
            model=onnx_model,
            feeds={INPUT_NAME: matrix},
            framework_version=_version_of(self.info.framework),
            label_outputs=("label",) if classifier else (),
            task=TABULAR_CLASSIFICATION if classifier else TABULAR_REGRESSION,
            metadata={
                "converter": f"{self.converter_module} {_version_of(self.converter_module)}",
                "estimator": type(final).__name__,
                **fitted,
            },
        )

    def predict(
        self, model: Any, sample: SampleData, exported: ExportedModel
    ) -> dict[str, np.ndarray]:
        estimator = self.as_estimator(model)
        matrix = exported.feeds.get(INPUT_NAME)
        if matrix is None:
            matrix = self._matrix(estimator, sample)
        return estimator_outputs(estimator, matrix, self.is_classifier(estimator))

    def card_defaults(self, model: Any) -> dict[str, Any]:
        classifier = self.is_classifier(self.as_estimator(model))
        return {
            "library": self.info.framework,
            "task": TABULAR_CLASSIFICATION if classifier else TABULAR_REGRESSION,
            "tags": [self.info.name, *self.extra_tags],
        }

    def _matrix(self, estimator: Any, sample: SampleData) -> np.ndarray:
        return feature_matrix(sample, expected_features(estimator), self.info.name)


def _version_of(module: str) -> str:
    return str(getattr(importlib.import_module(module), "__version__", "unknown"))
