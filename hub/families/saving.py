"""The common ways users save framework models that are Python objects: joblib and pickle.

Part of the plugin API. A family whose models are picklable Python objects (scikit-learn-style
estimators, XGBoost/LightGBM wrappers and Boosters) loads these files as well as its
framework's native ones (:class:`hub.families.TabularFamily` does); the conformance suite saves
each case's model in the formats the case lists (:attr:`ConformanceCase.saved_as`) and proves
the family loads them back. Loading a pickle runs code stored in it: only files you trust.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Callable

from hub.errors import InvalidModelFile, first_line

#: Suffixes of pickled models (joblib writes pickles too, optionally compressed).
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def save_joblib(model: Any, folder: Path) -> Path:
    """``joblib.dump(model, folder / "model.joblib")``."""
    import joblib

    path = folder / "model.joblib"
    joblib.dump(model, path)
    return path


def save_pickle(model: Any, folder: Path) -> Path:
    """``pickle.dump(model, ...)`` to ``folder / "model.pkl"``."""
    path = folder / "model.pkl"
    with path.open("wb") as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


#: Save format name -> function writing the model into a folder and returning the file.
SAVE_FORMATS: dict[str, Callable[[Any, Path], Path]] = {
    "joblib": save_joblib,
    "pickle": save_pickle,
}


def is_pickle_file(path: Path) -> bool:
    """A joblib/pickle file: by suffix, or by its first bytes (a pickle's PROTO opcode and a
    protocol from 2 to 5) whatever the suffix."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    return head.startswith(b"\x80") and len(head) > 1 and 2 <= head[1] <= 5


def load_pickle(path: Path) -> Any:
    """``joblib.load(path)`` (plain pickles too), with one-line errors (InvalidModelFile)."""
    import joblib

    if path.is_dir():
        raise InvalidModelFile(f"{path.name} is a folder, not a joblib/pickle file")
    try:
        return joblib.load(path)
    except ModuleNotFoundError as exc:
        raise InvalidModelFile(
            f"{path.name} needs the Python module {exc.name!r}, which is not installed"
        ) from None
    except Exception as exc:
        raise InvalidModelFile(
            f"{path.name} is not a readable joblib/pickle file (corrupt or truncated): "
            f"{first_line(exc)}"
        ) from None
