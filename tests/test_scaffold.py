"""``onnxhub plugins new``: the scaffolded package is whole, importable, and red until written."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from click.testing import CliRunner

from hub.errors import Conflict, InvalidInput
from hub.families.scaffold import scaffold_plugin

NAME = "demo_fw"


def _env_with(package: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scaffold_plugin(NAME, tmp_path_factory.mktemp("contrib"))


def test_scaffold_writes_a_complete_distribution(package: Path) -> None:
    assert package.name == f"onnxhub-{NAME}"
    files = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        f"onnxhub_{NAME}/__init__.py",
        f"onnxhub_{NAME}/cases.py",
        f"onnxhub_{NAME}/family.py",
        "pyproject.toml",
        f"tests/test_{NAME}_family.py",
    ]
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project["name"] == f"onnxhub-{NAME}"
    assert project["entry-points"]["onnxhub"] == {NAME: f"onnxhub_{NAME}:plugin"}
    assert any(dep.startswith("onnxhub") for dep in project["dependencies"])
    for source in package.rglob("*.py"):
        compile(source.read_text(), str(source), "exec")  # a SyntaxError fails the test


def test_generated_package_imports_and_reports_not_implemented(package: Path) -> None:
    probe = f"""
import dataclasses, json
from pathlib import Path
from hub.errors import HubError
from hub.families.registry import get_plugin_manager
from onnxhub_{NAME} import plugin

# pretend the framework is installed, to reach the hooks the draft has not written
plugin.info = dataclasses.replace(plugin.info, available=True)
registry = get_plugin_manager(load_entry_points=False, extra_plugins=[("{NAME}", plugin)])
family = registry.families["{NAME}"]
errors = {{}}
for hook, call in [
    ("export", lambda: registry.export("{NAME}", object(), [[1.0]])),
    ("load", lambda: registry.load_model("{NAME}", Path("model.bin"))),
]:
    try:
        call()
    except HubError as exc:
        errors[hook] = [type(exc).__name__, str(exc)]
print(json.dumps({{
    "framework": family.info.framework,
    "install_hint": family.info.install_hint,
    "broken": [b.error for b in registry.broken],
    "claim": plugin.claim(object()),
    "cases": [c.name for c in plugin.conformance_cases()],
    "card": registry.card_defaults("{NAME}", object()),
    "errors": errors,
}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=_env_with(package),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["framework"] == NAME and report["broken"] == []
    assert report["install_hint"] == f"pip install {NAME}"  # the framework, not the family
    assert report["claim"] is None  # a draft never takes other families' models
    assert report["cases"] == ["tiny-model"]
    assert report["card"]["library"] == NAME
    assert report["errors"]["export"] == [
        "PluginError",
        f"family '{NAME}': onnxhub-{NAME}: export is not implemented yet "
        f"(edit onnxhub_{NAME}/family.py)",
    ]
    assert report["errors"]["load"][0] == "PluginError"
    assert "loading model files is not implemented yet" in report["errors"]["load"][1]


def _run_generated_tests(package: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        cwd=package,
        env=_env_with(package),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_generated_test_runs_red_until_implemented(package: Path) -> None:
    done = _run_generated_tests(package)
    assert done.returncode == 1, done.stdout + done.stderr  # 1: tests ran and failed
    assert "1 failed, 6 errors" in done.stdout  # the fixture that trains raises for 6
    assert f"onnxhub-{NAME}: train_tiny_model is not implemented yet" in done.stdout


@pytest.mark.parametrize("name", ["", "Catboost", "1gbm", "with-dash", "a b", "class", "ünï"])
def test_invalid_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid family name"):
        scaffold_plugin(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_is_left_alone(tmp_path: Path) -> None:
    existing = tmp_path / f"onnxhub-{NAME}"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(Conflict, match="already exists"):
        scaffold_plugin(NAME, tmp_path)
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"onnxhub-{NAME}"]


def test_cli_creates_then_refuses_with_exit_codes(tmp_path: Path) -> None:
    from hub.cli.main import cli

    runner = CliRunner()
    created = runner.invoke(cli, ["plugins", "new", NAME, "--dest", str(tmp_path / "contrib")])
    assert created.exit_code == 0, created.output
    assert (tmp_path / "contrib" / f"onnxhub-{NAME}" / "pyproject.toml").is_file()
    assert "created" in created.stdout

    again = runner.invoke(cli, ["plugins", "new", NAME, "--dest", str(tmp_path / "contrib")])
    assert again.exit_code == Conflict.exit_code
    assert "already exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1

    bad = runner.invoke(cli, ["plugins", "new", "Not-Valid", "--dest", str(tmp_path / "contrib")])
    assert bad.exit_code == InvalidInput.exit_code
    assert "invalid family name 'Not-Valid'" in bad.stderr


def test_readme_uses_the_destination_and_the_test_extra_brings_no_onnxruntime(
    tmp_path: Path,
) -> None:
    target = scaffold_plugin(NAME, tmp_path / "elsewhere")
    readme = (target / "README.md").read_text()
    assert f"pip install -e {target}  " in readme
    assert f"python -m pytest {target}/tests" in readme
    assert "contrib/" not in readme
    assert f"--onnxhub-family {NAME}" in readme
    repo = Path(__file__).resolve().parents[1]
    for pyproject in [
        target / "pyproject.toml",
        *sorted(repo.glob("contrib/onnxhub-*/pyproject.toml")),
    ]:
        project = tomllib.loads(pyproject.read_text())["project"]
        requirements = project["dependencies"] + project["optional-dependencies"]["test"]
        onnxruntime = [r for r in requirements if r.lower().startswith("onnxruntime")]
        assert onnxruntime == [], f"{pyproject}: {onnxruntime} (onnxhub chooses the runtime)"


def test_templates_are_package_data_read_with_importlib_resources() -> None:
    from importlib import resources

    import hub.families.scaffold as scaffold

    folder = resources.files("hub.families.scaffold") / "templates"
    shipped = sorted(
        f"{sub.name}/{f.name}" if sub.is_dir() else sub.name
        for sub in folder.iterdir()
        for f in (sub.iterdir() if sub.is_dir() else [sub])
    )
    assert shipped == sorted(scaffold.TEMPLATES)
    repo = Path(__file__).resolve().parents[1]
    setuptools = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    for rel in shipped:  # each template lies in a listed (data) package whose patterns name it
        folder_name, _, file_name = rel.rpartition("/")
        package = ".".join(["hub.families.scaffold.templates", *filter(None, [folder_name])])
        assert package in setuptools["packages"], package
        patterns = setuptools["package-data"][package]
        assert any(fnmatch.fnmatch(file_name, pattern) for pattern in patterns), rel


_IMPLEMENTED_FAMILY = '''
"""A finished family: scikit-learn's LogisticRegression through TabularFamily."""

from pathlib import Path
from typing import Any

import numpy as np
from hub.errors import InvalidModelFile
from hub.families import ConformanceCase, FamilyInfo, TabularFamily, convert_estimator

SUFFIXES = (".demo_fw",)


class DemoFwFamily(TabularFamily):
    accepts = "LogisticRegression models"
    converter_module = "skl2onnx"

    def __init__(self) -> None:
        self.info = FamilyInfo("demo_fw", "sklearn", "logistic regressions", SUFFIXES)

    def is_estimator(self, model: Any) -> bool:
        from sklearn.linear_model import LogisticRegression

        return isinstance(model, LogisticRegression)

    def is_classifier(self, estimator: Any) -> bool:
        return True

    def to_onnx(self, estimator: Any, n_features: int, opset: int | None) -> Any:
        return convert_estimator(
            estimator, graph_name="demo_fw", n_features=n_features, classifier=True, opset=opset
        )

    def load(self, path: Path) -> Any:
        try:
            np.load(path, allow_pickle=False)
        except Exception as exc:
            raise InvalidModelFile(f"{path.name} is not a readable demo_fw model: {exc}") from None
        raise InvalidModelFile(f"{path.name}: demo_fw files hold no model yet")

    def conformance_cases(self) -> list[ConformanceCase]:
        from onnxhub_demo_fw import cases

        return cases.conformance_cases()
'''

_IMPLEMENTED_CASES = """
from pathlib import Path

import numpy as np
from hub.families import ConformanceCase


def train_tiny_model(tmp_path: Path):
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, random_state=0)
    X = X.astype(np.float32)
    return LogisticRegression(max_iter=500).fit(X[:100], y[:100]), X[100:]


def conformance_cases():
    return [ConformanceCase("demo_fw", "tiny-model", train_tiny_model)]
"""


def test_generated_tests_pass_once_the_family_is_written(tmp_path: Path) -> None:
    target = scaffold_plugin(NAME, tmp_path)
    (target / f"onnxhub_{NAME}" / "family.py").write_text(_IMPLEMENTED_FAMILY)
    (target / f"onnxhub_{NAME}" / "cases.py").write_text(_IMPLEMENTED_CASES)
    done = _run_generated_tests(target)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "7 passed" in done.stdout


def test_cli_warns_when_a_family_of_that_name_is_installed(tmp_path: Path) -> None:
    from hub.cli.main import cli

    done = CliRunner().invoke(cli, ["plugins", "new", "xgboost", "--dest", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert (
        "warning: a family named 'xgboost' is already installed "
        "(plugin 'xgboost' of onnxhub-xgboost)" in done.stderr
    )
    assert (tmp_path / "onnxhub-xgboost" / "pyproject.toml").is_file()
    fresh = CliRunner().invoke(cli, ["plugins", "new", NAME, "--dest", str(tmp_path)])
    assert fresh.exit_code == 0 and "warning" not in fresh.stderr
