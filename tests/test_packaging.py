"""pyproject.toml lists packages by hand: every package and data file must be in the wheel.

Also (issue 9 item 7): extras name only distributions a package index has, and the docs say
how the contrib families (which no index has) are installed."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
#: Import name of each top-level source folder (pyproject's package-dir).
SOURCES = {"hub": "hub", "plugins": "hub_plugins"}


def setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def source_files(folder: str) -> list[Path]:
    return [
        p
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def package_of(path: Path, folder: str) -> str:
    return ".".join([SOURCES[folder], *path.parent.relative_to(ROOT / folder).parts])


def test_every_python_folder_is_a_listed_package() -> None:
    config = setuptools_config()
    assert config["package-dir"] == {name: folder for folder, name in SOURCES.items()}
    listed = set(config["packages"])
    missing = {
        package_of(p, folder)
        for folder in SOURCES
        for p in source_files(folder)
        if p.suffix == ".py"
    } - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_every_data_file_is_package_data() -> None:
    config = setuptools_config()
    listed = set(config["packages"])
    patterns: dict[str, list[str]] = config.get("package-data", {})
    unshipped = []
    for folder in SOURCES:
        for path in source_files(folder):
            if path.suffix == ".py":
                continue
            # the data file belongs to its nearest listed package, by a path relative to it
            package, relative = package_of(path, folder), path.name
            while package not in listed:
                package, _, last = package.rpartition(".")
                relative = f"{last}/{relative}"
            if not any(fnmatch.fnmatch(relative, g) for g in patterns.get(package, [])):
                unshipped.append(f"{package}: {relative}")
    assert not unshipped, f"add to [tool.setuptools.package-data]: {unshipped}"


def test_the_migrations_ship_with_the_package() -> None:
    from hub.catalog import migrate

    assert (migrate.MIGRATIONS / "script.py.mako").is_file()
    assert "hub.catalog.migrations.versions" in setuptools_config()["packages"]


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
