"""pyproject.toml lists packages by hand: every package and data file must be in the wheel."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

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
