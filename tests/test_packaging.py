"""Issue 9 item 7: extras name only distributions a package index has; docs say how the
contrib families (which no index has) are installed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]


def _contrib_distributions() -> set[str]:
    names = set()
    for pyproject in ROOT.glob("contrib/*/pyproject.toml"):
        names.add(tomllib.loads(pyproject.read_text())["project"]["name"])
    return names


def test_extras_name_no_unpublished_distribution() -> None:
    """The issue's example: the gbm extra named onnxhub-xgboost and onnxhub-lightgbm."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    unpublished = _contrib_distributions()
    assert {"onnxhub-xgboost", "onnxhub-lightgbm"} <= unpublished
    for extra, requirements in project["optional-dependencies"].items():
        for text in requirements:
            name = Requirement(text).name
            assert name not in unpublished, f"extra {extra!r} names {name}, which no index has"
    gbm = {Requirement(r).name for r in project["optional-dependencies"]["gbm"]}
    assert {"lightgbm", "onnxmltools"} <= gbm and gbm & {"xgboost", "xgboost-cpu"}


def test_docs_install_contrib_families_from_the_repository() -> None:
    """No document tells users to ``pip install onnxhub-<family>`` by name alone."""
    unpublished = _contrib_distributions()
    documents = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *ROOT.glob("contrib/*/README.md")]
    for document in documents:
        for command in re.findall(r"pip install ([^\n`#]+)", document.read_text()):
            words = command.split()
            for index, word in enumerate(words):
                bare = word.strip("'\"").split("[")[0]
                from_url = words[index + 1 : index + 2] == ["@"]  # name @ git+URL is fine
                assert bare not in unpublished or from_url, f"{document.name}: {command.strip()}"
    readme = (ROOT / "README.md").read_text()
    assert "pip install ./contrib/onnxhub-xgboost ./contrib/onnxhub-lightgbm" in readme
