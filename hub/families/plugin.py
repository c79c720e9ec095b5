"""Base class that turns one family's methods into pluggy hookimpls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import InvalidInput
from hub.families.hookspecs import hookimpl
from hub.families.types import Claim, ConformanceCase, ExportedModel, FamilyInfo, SampleData


class FamilyPlugin:
    """Subclass, set :attr:`info`, and implement the methods your framework supports.

    Every hook that takes ``family`` returns ``None`` unless it is this family's name, so a
    family never answers for another. ``claim`` returns a score or ``None``.
    """

    info: FamilyInfo

    # -- what a family writes ------------------------------------------------------------
    def claim(self, model: Any) -> int | None:
        """Score for handling ``model`` (see :class:`Claim`), or None."""
        if isinstance(model, Path) and model.suffix.lower() in self.info.file_suffixes:
            return 100
        return None

    def load(self, path: Path) -> Any:
        """Load a saved model file."""
        raise InvalidInput(f"family {self.info.name!r} cannot load files ({path.name})")

    def export(self, model: Any, sample: SampleData, opset: int | None) -> ExportedModel:
        """Export to ONNX."""
        raise NotImplementedError(f"family {self.info.name!r} does not implement export")

    def predict(
        self, model: Any, sample: SampleData, exported: ExportedModel
    ) -> dict[str, np.ndarray]:
        """Framework outputs keyed by ONNX output name."""
        raise NotImplementedError(f"family {self.info.name!r} does not implement predict")

    def card_defaults(self, model: Any) -> dict[str, Any]:
        """Default card metadata."""
        return {"library": self.info.framework}

    def conformance_cases(self) -> list[ConformanceCase]:
        """Tiny models for the shared conformance suite (see :class:`ConformanceCase`)."""
        return []

    # -- hookimpls -----------------------------------------------------------------------
    def _owns(self, family: str) -> bool:
        return family == self.info.name

    @hookimpl
    def onnxhub_register_families(self) -> list[FamilyInfo]:
        return [self.info]

    @hookimpl
    def onnxhub_claim(self, model: Any) -> Claim | None:
        if not self.info.available:
            return None
        score = self.claim(model)
        return None if score is None else Claim(self.info.name, score)

    @hookimpl
    def onnxhub_load_model(self, family: str, path: Path) -> Any:
        return self.load(path) if self._owns(family) else None

    @hookimpl
    def onnxhub_export(
        self, family: str, model: Any, sample: SampleData, opset: int | None
    ) -> ExportedModel | None:
        return self.export(model, sample, opset) if self._owns(family) else None

    @hookimpl
    def onnxhub_framework_predict(
        self, family: str, model: Any, sample: SampleData, exported: ExportedModel
    ) -> dict[str, np.ndarray] | None:
        return self.predict(model, sample, exported) if self._owns(family) else None

    @hookimpl
    def onnxhub_card_defaults(self, family: str, model: Any) -> dict[str, Any] | None:
        return self.card_defaults(model) if self._owns(family) else None

    @hookimpl
    def onnxhub_conformance_cases(self) -> list[ConformanceCase]:
        return self.conformance_cases() if self.info.available else []
