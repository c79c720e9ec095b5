"""Small typed values exchanged between the hub and family plugins."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

#: Sample inputs as the framework sees them: one array, or arrays by name (multi-input models).
SampleData = Any


@dataclass(frozen=True)
class FamilyInfo:
    """What a family declares about itself when registered.

    ``available`` is False when the family's framework is not installed; ``install_hint`` then
    says what to install (``pip install 'onnxhub[tf]'``). Families must answer this quickly
    (``importlib.util.find_spec``), never by importing their framework.
    """

    name: str
    framework: str
    summary: str
    file_suffixes: tuple[str, ...] = ()
    available: bool = True
    install_hint: str | None = None


@dataclass(frozen=True)
class Claim:
    """A family's bid to handle a model object or file; the highest ``score`` wins.

    Scores: 10 for a generic match (any scikit-learn estimator), 50 for a specific one (an
    XGBoost booster, or a Pipeline that contains one), 100 for an exact file format.
    """

    family: str
    score: int = 10


@dataclass
class ExportedModel:
    """An ONNX export and what the hub needs to check it.

    ``feeds`` are the sample inputs converted to the ONNX graph's inputs (names and dtypes), so
    onnxruntime sees exactly the rows the framework saw. ``label_outputs`` name the outputs that
    hold class labels (compared by mismatch fraction rather than by error). ``latent_input``
    names the noise input of a generator (``task == "generation"``); the runtime then draws it.
    """

    model: Any  # onnx.ModelProto; typed loosely so plugins need not import onnx for the hint
    feeds: dict[str, np.ndarray]
    framework_version: str
    label_outputs: tuple[str, ...] = ()
    task: str | None = None
    latent_input: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def as_named_arrays(sample: SampleData, names: list[str]) -> dict[str, np.ndarray]:
    """Map a sample (one array or a mapping) onto ``names`` in order, for multi-input graphs."""
    if isinstance(sample, Mapping):
        return {name: np.asarray(sample[name]) for name in names}
    return {names[0]: np.asarray(sample)}


@dataclass(frozen=True)
class ConformanceCase:
    """A tiny model a family offers to the shared conformance suite.

    ``build(tmp_path)`` trains (or loads) the model and returns ``(model, sample)``, with the
    sample made of held-out rows; it must take well under a second or two.
    """

    family: str
    name: str
    build: Callable[[Path], tuple[Any, SampleData]]
