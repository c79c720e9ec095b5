"""The plugin contract: every hook a model family may implement.

A family is a pluggy plugin registered through the ``onnxhub`` entry-point group. Hooks that
take ``family`` are answered only by the plugin that owns that family (``firstresult``): every
other plugin returns ``None``. :class:`hub.families.plugin.FamilyPlugin` implements the dispatch,
so a family only writes the methods. A hookimpl may accept a subset of a spec's arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pluggy

from hub.families.types import Claim, ConformanceCase, ExportedModel, FamilyInfo, SampleData

PROJECT = "onnxhub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def onnxhub_register_families() -> list[FamilyInfo]:
    """Declare the families this plugin provides: name, framework, availability, install hint."""


@hookspec
def onnxhub_claim(model: Any) -> Claim | None:
    """Bid to handle ``model`` (a framework object or a :class:`~pathlib.Path`); None to pass."""


@hookspec(firstresult=True)
def onnxhub_load_model(family: str, path: Path) -> Any:
    """Load a saved model file of ``family``'s framework from ``path`` and return the object."""


@hookspec(firstresult=True)
def onnxhub_export(
    family: str, model: Any, sample: SampleData, opset: int | None
) -> ExportedModel | None:
    """Export ``model`` to ONNX with a dynamic batch dimension; ``opset`` None = family's choice."""


@hookspec(firstresult=True)
def onnxhub_framework_predict(
    family: str, model: Any, sample: SampleData, exported: ExportedModel
) -> dict[str, np.ndarray] | None:
    """The framework's own outputs for ``sample``, keyed by the ONNX output names, for parity."""


@hookspec(firstresult=True)
def onnxhub_card_defaults(family: str, model: Any) -> dict[str, Any] | None:
    """Default model-card metadata (``library``, ``task``, ``tags``) for ``model``."""


@hookspec
def onnxhub_conformance_cases() -> list[ConformanceCase]:
    """Tiny models (built in a temp folder) on which the shared conformance suite proves a family."""
