"""``onnxhub plugins new NAME``: a community family package that runs red until it is written.

The package follows the layout of ``contrib/onnxhub-xgboost``: its own pyproject registering the
``onnxhub`` entry point, an import package ``onnxhub_NAME`` with a :class:`hub.families.FamilyPlugin`
subclass, a conformance case, and tests that train, export and check parity with real figures on
batches of 1 and 5 rows, a wrong feature count and a corrupt file. The files are templates
shipped as package data (``templates/``, read with :mod:`importlib.resources`). Every hook that
needs the framework raises ``NotImplementedError`` (the registry reports it as a
:class:`~hub.errors.PluginError` naming the family), and ``claim`` returns None so that an
installed but unfinished family never steals another family's models.
"""

from __future__ import annotations

import keyword
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from string import Template

from hub.errors import Conflict, InvalidInput

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

#: Template file (under ``templates/``) -> path in the package, ``{name}`` filled in.
TEMPLATES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "package/__init__.py.tmpl": "onnxhub_{name}/__init__.py",
    "package/family.py.tmpl": "onnxhub_{name}/family.py",
    "package/cases.py.tmpl": "onnxhub_{name}/cases.py",
    "tests/test_family.py.tmpl": "tests/test_{name}_family.py",
}


def _template(relative: str) -> str:
    folder = resources.files(__package__).joinpath("templates")
    for part in relative.split("/"):
        folder = folder.joinpath(part)
    return folder.read_text(encoding="utf-8")


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


def scaffold_files(name: str, package: str | None = None) -> dict[str, str]:
    """The files of a new family package, by path relative to its folder.

    ``package`` is the folder as the user will type it (``contrib/onnxhub-NAME`` by default):
    the README's commands use it.
    """
    values = {
        "name": name,
        "camel": _camel(name),
        "package": package or f"contrib/onnxhub-{name}",
    }
    return {
        target.format(name=name): Template(_template(source)).substitute(values)
        for source, target in TEMPLATES.items()
    }


def installed_family(name: str) -> str | None:
    """Who already provides a family called ``name`` (plugin and distribution), or None.

    Two plugins declaring one family name are a start-up error, so a scaffold of an installed
    family's name is worth a warning before anything is written.
    """
    from hub.families.registry import get_plugin_manager

    try:
        registered = get_plugin_manager().families.get(name)
    except Exception:  # a duplicate among the installed plugins: say nothing here
        return None
    if registered is None:
        return None
    source = registered.distribution or "this hub"
    return f"plugin {registered.plugin!r} of {source}"


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
        for relative, text in scaffold_files(name, str(target)).items():
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
