"""LightGBM's own text model files and ``lightgbm.Booster`` objects.

A Booster has no scikit-learn wrapper of its own; :mod:`onnxhub_lightgbm.booster` gives it one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hub.errors import InvalidInput, InvalidModelFile, first_line

SUFFIXES = (".txt",)
# ``Booster.save_model`` starts with the line "tree" followed by "version=v<N>".
_TEXT_HEAD = re.compile(rb"^tree\r?\nversion=v\d+")

CLASSIFIER_OBJECTIVES = ("binary", "multiclass")
REGRESSOR_OBJECTIVES = (
    "regression",
    "poisson",
    "gamma",
    "tweedie",
    "quantile",
    "huber",
    "fair",
    "mape",
)


def looks_like_lightgbm_file(path: Path) -> bool:
    """True when ``path`` is a ``.txt`` file that starts like a LightGBM model."""
    if path.suffix.lower() not in SUFFIXES or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            return bool(_TEXT_HEAD.match(handle.read(64)))
    except OSError:
        return False


def wrap_booster(booster: Any, source: str) -> Any:
    """A :class:`BoosterClassifier` or :class:`BoosterRegressor`, chosen by the objective."""
    from onnxhub_lightgbm.booster import BoosterClassifier, BoosterRegressor

    objective = str(booster.dump_model(num_iteration=1).get("objective", ""))
    if objective.startswith(CLASSIFIER_OBJECTIVES):
        return BoosterClassifier(booster)
    if objective.startswith(REGRESSOR_OBJECTIVES):
        return BoosterRegressor(booster)
    raise InvalidInput(
        f"{source}: objective {objective.split(' ')[0]!r} is not supported "
        "(the lightgbm family exports binary, multiclass and regression models)"
    )


def load_native(path: Path) -> Any:
    """Load a LightGBM text model file; a one-line error if it is not one."""
    import lightgbm

    if not path.is_file():
        raise InvalidInput(f"{path.name} is not a file; the lightgbm family loads .txt model files")
    try:
        booster = lightgbm.Booster(model_file=str(path))
    except Exception as exc:  # LightGBMError, or a decode error on a binary file
        raise InvalidModelFile(
            f"{path.name} is not a readable LightGBM model: {first_line(exc)}"
        ) from None
    return wrap_booster(booster, path.name)
