"""The plugin contract: discovery, isolation of broken plugins, dispatch, and the meta-tests."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

from hub.errors import InvalidInput, NotFound, PluginError
from hub.families import hookspecs
from hub.families.hookspecs import hookimpl
from hub.families.plugin import FamilyPlugin
from hub.families.registry import get_plugin_manager
from hub.families.types import Claim, ExportedModel, FamilyInfo

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
HOOKS = [
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("onnxhub_")
]


def test_every_hookspec_is_documented() -> None:
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__
        assert doc and len(doc.strip()) > 20, f"hookspec {name} has no docstring"


def test_every_hook_has_a_test_named_for_it() -> None:
    # Datasette's rule: a test function named test_hook_<hook name> somewhere under tests/.
    defined = {
        node.name
        for path in TESTS.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    missing = [f"test_hook_{name}" for name in HOOKS if f"test_hook_{name}" not in defined]
    assert not missing, f"hooks without a test named for them: {missing}"


#: What a family may import from the hub (CONTRIBUTING.md): the plugin API and the errors, and
#: the plugin API's test helpers for a family's own tests.
ALLOWED_HUB_MODULES = ("hub.families", "hub.families.testing", "hub.errors")


def _hub_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of ``hub`` or a module under it, static or by name."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "hub"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "hub":  # from hub import x: the module hub.x (or hub's own name)
                found += [(node.lineno, f"hub.{a.name}") for a in node.names]
            elif node.module.split(".")[0] == "hub":
                found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args[0].value.split(".")[0] == "hub"
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def _family_sources() -> dict[str, str]:
    """Source text by label: every module of plugins/ and contrib/, and the scaffold's
    templates as a new family gets them."""
    from hub.families.scaffold import scaffold_files

    sources = {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for folder in ("plugins", "contrib")
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    for relative, text in scaffold_files("example").items():
        if relative.endswith(".py"):
            sources[f"scaffold:{relative}"] = text
    return sources


def test_plugins_and_contrib_import_only_the_plugin_api_and_errors() -> None:
    sources = _family_sources()
    assert len(sources) > 20 and any(label.startswith("scaffold:") for label in sources)
    offences = [
        f"{label}:{line} imports {module}"
        for label, text in sources.items()
        for line, module in _hub_imports(text)
        if module not in ALLOWED_HUB_MODULES
    ]
    assert not offences, "plugins may import only hub.families and hub.errors:\n" + "\n".join(
        offences
    )


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from hub.catalog import queries", "hub.catalog"),
        ("import hub.serving.runtime", "hub.serving.runtime"),
        ("from hub import open", "hub.open"),
        ("importlib.import_module('hub.export.convert')", "hub.export.convert"),
        ("from hub.families.registry import FamilyRegistry", "hub.families.registry"),
    ],
)
def test_the_import_check_sees_each_way_of_importing(source: str, module: str) -> None:
    assert _hub_imports(source) == [(1, module)]
    assert module not in ALLOWED_HUB_MODULES
    assert _hub_imports("from hub.families import FamilyPlugin\nfrom hub.errors import X") == [
        (1, "hub.families"),
        (2, "hub.errors"),
    ]


class DoublerModel:
    """The 'trained model' of the doubler family."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DoublerModel)


class Doubler(FamilyPlugin):
    """A family whose 'framework' doubles its input: enough to drive every hook."""

    info = FamilyInfo(name="doubler", framework="numpy", summary="x -> 2x", file_suffixes=(".dbl",))

    def claim(self, model):  # type: ignore[no-untyped-def]
        if isinstance(model, DoublerModel):
            return 10
        return super().claim(model)

    def load(self, path: Path):  # type: ignore[no-untyped-def]
        return DoublerModel()

    def export(self, model, sample, opset):  # type: ignore[no-untyped-def]
        from onnx import TensorProto, helper

        node = helper.make_node("Add", ["x", "x"], ["y"])
        graph = helper.make_graph(
            [node],
            "doubler",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        )
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset or 17)])
        proto.ir_version = 10
        return ExportedModel(proto, {"x": np.asarray(sample, np.float32)}, framework_version="1")

    def predict(self, model, sample, exported):  # type: ignore[no-untyped-def]
        return {"y": 2 * np.asarray(sample, np.float32)}

    def card_defaults(self, model):  # type: ignore[no-untyped-def]
        return {"library": "numpy", "task": "other"}


def registry_with(*plugins: tuple[str, object]):  # type: ignore[no-untyped-def]
    return get_plugin_manager(load_entry_points=False, extra_plugins=plugins)


@pytest.fixture
def hook():  # type: ignore[no-untyped-def]
    return registry_with(("doubler", Doubler()), ("rival", Rival())).pm.hook


class Rival(Doubler):
    """A second family, so that each hook is seen to answer only for its own family."""

    info = FamilyInfo(name="rival", framework="numpy", summary="x -> 2x, never claims")

    def claim(self, model):  # type: ignore[no-untyped-def]
        return None

    def card_defaults(self, model):  # type: ignore[no-untyped-def]
        return {"library": "rival"}


def test_hook_onnxhub_register_families(hook) -> None:  # type: ignore[no-untyped-def]
    names = [i.name for infos in hook.onnxhub_register_families() for i in infos]
    assert sorted(names) == ["doubler", "rival"]


def test_hook_onnxhub_claim(hook, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert hook.onnxhub_claim(model=DoublerModel()) == [Claim("doubler", 10)]
    assert hook.onnxhub_claim(model=tmp_path / "m.dbl") == [Claim("doubler", 100)]
    assert hook.onnxhub_claim(model=tmp_path / "m.txt") == []


def test_hook_onnxhub_load_model(hook, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert hook.onnxhub_load_model(family="doubler", path=tmp_path / "m.dbl") == DoublerModel()
    assert hook.onnxhub_load_model(family="other", path=tmp_path) is None


def test_hook_onnxhub_export(hook) -> None:  # type: ignore[no-untyped-def]
    exported = hook.onnxhub_export(family="doubler", model="m", sample=[[1, 2]], opset=None)
    assert exported.feeds["x"].dtype == np.float32
    assert exported.model.graph.name == "doubler"
    assert hook.onnxhub_export(family="other", model="m", sample=[[1, 2]], opset=None) is None


def test_hook_onnxhub_framework_predict(hook) -> None:  # type: ignore[no-untyped-def]
    exported = hook.onnxhub_export(family="doubler", model="m", sample=[[1, 2]], opset=None)
    out = hook.onnxhub_framework_predict(
        family="doubler", model="m", sample=[[1, 2]], exported=exported
    )
    np.testing.assert_array_equal(out["y"], [[2, 4]])


def test_hook_onnxhub_card_defaults(hook) -> None:  # type: ignore[no-untyped-def]
    assert hook.onnxhub_card_defaults(family="doubler", model="m")["task"] == "other"
    assert hook.onnxhub_card_defaults(family="rival", model="m") == {"library": "rival"}


def test_hook_onnxhub_conformance_cases(hook) -> None:  # type: ignore[no-untyped-def]
    assert hook.onnxhub_conformance_cases() == [[], []]


def test_a_custom_family_publishes_end_to_end(tmp_path: Path) -> None:
    from hub.api import Hub
    from hub.settings import Settings

    with Hub(Settings.for_home(tmp_path), registry=registry_with(("doubler", Doubler()))) as h:
        version = h.publish(DoublerModel(), name="twice", sample=[[1.5, -2.0], [3.0, 4.0]])
        assert version.family == "doubler" and version.task == "other"
        assert version.parity["passed"] and version.parity["outputs"][0]["max_abs_error"] == 0.0
        out = h.open("twice").predict(np.array([[0.25, 8.0]], np.float32))
        np.testing.assert_array_equal(out["y"], [[0.5, 16.0]])


def test_broken_and_incompatible_plugins_are_reported_not_fatal() -> None:
    class RaisesOnRegister(FamilyPlugin):
        info = FamilyInfo("exploding", "x", "raises")

        @hookimpl
        def onnxhub_register_families(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("cannot find my framework")

    class Misspelt:
        @hookimpl
        def onnxhub_exprot(self, family, model):  # type: ignore[no-untyped-def]
            return None

    reg = registry_with(
        ("doubler", Doubler()), ("exploding", RaisesOnRegister()), ("misspelt", Misspelt())
    )
    assert set(reg.families) == {"doubler"}
    broken = {b.name: b.error for b in reg.broken}
    assert "cannot find my framework" in broken["exploding"]
    assert "onnxhub_exprot" in broken["misspelt"]


def test_broken_entry_point_is_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.families.registry as pm_module

    class FakeEntryPoint:
        name = "halfbaked"
        dist = None

        def load(self):  # type: ignore[no-untyped-def]
            raise ImportError("No module named 'onnxhub_halfbaked'")

    monkeypatch.setattr(pm_module, "_entry_points", lambda: [FakeEntryPoint()])
    reg = get_plugin_manager()
    assert [(b.name, "onnxhub_halfbaked" in b.error) for b in reg.broken] == [("halfbaked", True)]


def test_duplicate_family_names_fail_at_start_up() -> None:
    with pytest.raises(PluginError, match="duplicate family name 'doubler'"):
        registry_with(("one", Doubler()), ("two", Doubler()))


def test_a_plugin_raising_inside_a_hook_is_named() -> None:
    class Faulty(Doubler):
        def export(self, model, sample, opset):  # type: ignore[no-untyped-def]
            raise ZeroDivisionError("bad maths")

    reg = registry_with(("faulty-plugin", Faulty()))
    with pytest.raises(
        PluginError,
        match=r"family 'doubler' \(plugin 'faulty-plugin'\) raised in onnxhub_export: ZeroDivisionError: bad maths",
    ):
        reg.export("doubler", DoublerModel(), [[1.0, 2.0]])


def test_unknown_family_unavailable_family_and_ties() -> None:
    class Missing(Doubler):
        info = FamilyInfo(
            "ghost",
            "ghostlib",
            "needs ghostlib",
            available=False,
            install_hint="pip install 'onnxhub[ghost]'",
        )

    class Rival(Doubler):
        info = FamilyInfo("rival", "numpy", "also doubles")

    reg = registry_with(("doubler", Doubler()), ("ghost", Missing()), ("rival", Rival()))
    with pytest.raises(NotFound, match="unknown family 'nope'"):
        reg.family("nope")
    with pytest.raises(Exception, match=r"pip install 'onnxhub\[ghost\]'"):
        reg.family("ghost")
    with pytest.raises(InvalidInput, match="doubler, rival all claim this model equally"):
        reg.choose_family(DoublerModel())
