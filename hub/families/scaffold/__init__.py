"""``onnxhub plugins new NAME``: a community family package that runs red until it is written.

The package follows the layout of ``contrib/onnxhub-xgboost``: its own pyproject registering the
``onnxhub`` entry point, an import package ``onnxhub_NAME`` with a :class:`hub.families.FamilyPlugin`
subclass, a conformance case, and a test that trains, exports and checks parity. Every hook that
needs the framework raises ``NotImplementedError`` (the registry reports it as a
:class:`~hub.errors.PluginError` naming the family), and ``claim`` returns None so that an
installed but unfinished family never steals another family's models.
"""

from __future__ import annotations

import keyword
import re
import shutil
import tempfile
from pathlib import Path
from string import Template

from hub.errors import Conflict, InvalidInput

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=77", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "onnxhub-$name"
version = "0.1.0"
description = "$name model family for onnxhub"
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
    "onnxhub>=0.1",
    # TODO: the framework and its ONNX converter, e.g. "$name>=1.0"
]

[project.optional-dependencies]
test = ["pytest>=8", "onnxruntime>=1.17"]

[project.entry-points.onnxhub]
$name = "onnxhub_$name:plugin"

[tool.setuptools]
packages = ["onnxhub_$name"]

[tool.ruff]
line-length = 100
"""

_README = """\
# onnxhub-$name

The `$name` model family for onnxhub. Status: scaffolded; the test in `tests/` fails until
`onnxhub_$name/family.py` and `onnxhub_$name/cases.py` are written.

```bash
pip install -e contrib/onnxhub-$name      # registers the family through the onnxhub entry point
onnxhub plugins                           # lists it
python -m pytest contrib/onnxhub-$name/tests
python -m pytest tests/conformance        # the hub's shared suite runs its conformance cases
```

See the hub's CONTRIBUTING.md for the contract (claims, export, parity, errors) and how to publish.
"""

_INIT = '''\
"""The $name model family for onnxhub (registered by the ``onnxhub`` entry point)."""

from onnxhub_$name.family import ${camel}Family

#: The plugin object the entry point names.
plugin = ${camel}Family()

__all__ = ["${camel}Family", "plugin"]
'''

_FAMILY = '''\
"""The ``$name`` family: $name models to ONNX, with the framework's own outputs for parity."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
from hub.families import ConformanceCase, ExportedModel, FamilyInfo, FamilyPlugin

#: The framework's import name: the family is available only when it is installed.
FRAMEWORK_MODULE = "$name"


def _not_implemented(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"onnxhub-$name: {what} is not implemented yet (edit onnxhub_$name/family.py)"
    )


class ${camel}Family(FamilyPlugin):
    """Exports $name models to ONNX. Fill in each method; see CONTRIBUTING.md."""

    def __init__(self) -> None:
        self.info = FamilyInfo(
            name="$name",
            framework="$name",
            summary="$name models",
            file_suffixes=(),  # e.g. (".ext",): files this family loads
            available=importlib.util.find_spec(FRAMEWORK_MODULE) is not None,
            install_hint="pip install onnxhub-$name",
        )

    def claim(self, model: Any) -> int | None:
        """Return 50 for this framework's model objects, 100 for its files, None otherwise.

        Until written it claims nothing, so an installed draft never takes other models.
        """
        return None

    def load(self, path: Path) -> Any:
        """Load a saved model file; raise hub.errors.InvalidModelFile when it is corrupt."""
        raise _not_implemented("loading model files")

    def export(self, model: Any, sample: Any, opset: int | None) -> ExportedModel:
        """Convert to ONNX with a dynamic batch dimension; feeds are the sample as ONNX inputs.

        Check the sample first (shape, feature count) and raise hub.errors.InvalidInput.
        """
        raise _not_implemented("export")

    def predict(self, model: Any, sample: Any, exported: ExportedModel) -> dict[str, np.ndarray]:
        """The framework's own outputs on the same rows, keyed by the ONNX output names."""
        raise _not_implemented("framework prediction")

    def card_defaults(self, model: Any) -> dict[str, Any]:
        return {"library": "$name", "tags": ["$name"]}

    def conformance_cases(self) -> list[ConformanceCase]:
        from onnxhub_$name import cases

        return cases.conformance_cases()
'''

_CASES = '''\
"""Tiny $name models for this package's tests and the hub's conformance suite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.families import ConformanceCase


def train_tiny_model(tmp_path: Path) -> tuple[Any, Any]:
    """Train (in well under a second) a tiny model; return it and held-out sample rows."""
    raise NotImplementedError(
        "onnxhub-$name: train_tiny_model is not implemented yet (edit onnxhub_$name/cases.py)"
    )


def conformance_cases() -> list[ConformanceCase]:
    return [ConformanceCase("$name", "tiny-model", train_tiny_model)]
'''

_TEST = '''\
"""The $name family end to end: train, export, run onnxruntime, compare with $name."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from hub import convert_and_check, get_plugin_manager

from onnxhub_$name import plugin
from onnxhub_$name.cases import train_tiny_model


@pytest.fixture
def registry():
    # The plugin object itself, so the test runs before the package is pip-installed.
    return get_plugin_manager(load_entry_points=False, extra_plugins=[("$name", plugin)])


def test_export_has_parity_and_a_dynamic_batch(registry, tmp_path):
    model, sample = train_tiny_model(tmp_path)
    checked = convert_and_check(registry, model, sample, family="$name")
    assert checked.report.passed, checked.report.summary()
    assert all(spec.shape and spec.shape[0] == -1 for spec in checked.inputs)
    session = ort.InferenceSession(checked.model_bytes, providers=["CPUExecutionProvider"])
    feeds = {name: value[:1] for name, value in checked.exported.feeds.items()}
    first = session.run(None, feeds)
    assert all(np.asarray(out).shape[0] == 1 for out in first)


def test_claims_its_own_models(registry, tmp_path):
    model, _ = train_tiny_model(tmp_path)
    assert registry.choose_family(model) == "$name"
'''


def validate_family_name(name: str) -> str:
    """``name`` if it can be a family, distribution suffix and import name; else InvalidInput."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise InvalidInput(
            f"invalid family name {name!r}: use a lowercase Python identifier "
            "(letters, digits, underscores, starting with a letter), e.g. 'catboost'"
        )
    return name


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def scaffold_files(name: str) -> dict[str, str]:
    """The files of a new family package, by path relative to its folder."""
    values = {"name": name, "camel": _camel(name)}
    templates = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        f"onnxhub_{name}/__init__.py": _INIT,
        f"onnxhub_{name}/family.py": _FAMILY,
        f"onnxhub_{name}/cases.py": _CASES,
        f"tests/test_{name}_family.py": _TEST,
    }
    return {path: Template(text).substitute(values) for path, text in templates.items()}


def scaffold_plugin(name: str, dest: Path) -> Path:
    """Create ``dest/onnxhub-NAME`` and return its path.

    Refuses an invalid name (InvalidInput) and an existing folder (Conflict); the package is
    written to a temporary folder first, so a failure leaves nothing half-made behind.
    """
    validate_family_name(name)
    dest = Path(dest)
    target = dest / f"onnxhub-{name}"
    if target.exists():
        raise Conflict(f"{target} already exists; choose another name or remove it first")
    try:
        dest.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".onnxhub-{name}-", dir=dest))
    except OSError as exc:
        raise InvalidInput(f"cannot create the package under {dest}: {exc.strerror}") from None
    try:
        for relative, text in scaffold_files(name).items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp makes it private to its owner
        staging.rename(target)
    except OSError as exc:
        raise InvalidInput(f"cannot write {target}: {exc.strerror}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
