"""XGBoost's own model files (``.ubj``, ``.json``) and Booster objects.

Both become scikit-learn wrappers (``XGBClassifier``/``XGBRegressor``) so that one export path
serves objects, pipelines and files alike: the wrapper reads the objective from the booster.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hub.errors import InvalidInput, InvalidModelFile, first_line

SUFFIXES = (".ubj", ".json")
_HEAD_BYTES = 512
# ``save_model`` writes the learner first; pretty-printed files may have whitespace in between.
_JSON_HEAD = re.compile(rb'^\s*\{\s*"learner"\s*:')
# UBJSON object start, then the key "learner" as an int-length-prefixed string.
_UBJ_KEY = b"learner"

CLASSIFIER_OBJECTIVES = ("binary:", "multi:")
REGRESSOR_OBJECTIVES = ("reg:", "count:")


def looks_like_xgboost_file(path: Path) -> bool:
    """True when ``path`` is a ``.ubj``/``.json`` file whose first bytes are an XGBoost model.

    ``.json`` is a generic suffix, so the content decides, never the suffix alone.
    """
    if path.suffix.lower() not in SUFFIXES or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return False
    if path.suffix.lower() == ".json":
        return bool(_JSON_HEAD.match(head))
    return head[:1] == b"{" and _UBJ_KEY in head[:32]


def _first_line(exc: BaseException) -> str:
    text = first_line(exc)
    # XGBoost prefixes errors with "[hh:mm:ss] /path/file.cc:123: "; the rest is the message.
    return re.sub(r"^\[[0-9:]+\]\s+\S+:\d+:\s*", "", text)


def objective_of(booster: Any) -> str:
    """The objective name stored in ``booster``'s configuration (``multi:softprob``...)."""
    config = json.loads(booster.save_config())
    return str(config["learner"]["objective"]["name"])


def wrap_booster(booster: Any, source: str) -> Any:
    """An ``XGBClassifier`` or ``XGBRegressor`` holding ``booster``, chosen by its objective."""
    import xgboost

    objective = objective_of(booster)
    if objective.startswith(CLASSIFIER_OBJECTIVES):
        wrapper = xgboost.XGBClassifier()
    elif objective.startswith(REGRESSOR_OBJECTIVES):
        wrapper = xgboost.XGBRegressor()
    else:
        raise InvalidInput(
            f"{source}: objective {objective!r} is not supported "
            "(the xgboost family exports binary:*, multi:*, reg:* and count:* models)"
        )
    wrapper.load_model(bytearray(booster.save_raw(raw_format="ubj")))
    return wrapper


def load_native(path: Path) -> Any:
    """Load an XGBoost model file into a scikit-learn wrapper; a clear error if it is not one."""
    import xgboost

    if not path.is_file():
        raise InvalidInput(
            f"{path.name} is not a file; the xgboost family loads .ubj or .json files"
        )
    try:
        booster = xgboost.Booster(model_file=str(path))
    # a corrupt file can also break XGBoost's own error text (UnicodeDecodeError)
    except Exception as exc:
        raise InvalidModelFile(
            f"{path.name} is not a readable XGBoost model: {_first_line(exc)}"
        ) from None
    return wrap_booster(booster, path.name)
