"""The plugin contract: discovery, isolation of broken plugins, dispatch, and the meta-tests."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from hub.families import hookspecs
from hub.errors import InvalidInput, NotFound, PluginError
from hub.families.hookspecs import hookimpl
from hub.families.plugin import FamilyPlugin
from hub.families.registry import get_plugin_manager
from hub.families.types import Claim, ExportedModel, FamilyInfo

TESTS = Path(__file__).resolve().parent
HOOKS = [
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("onnxhub_")
]


def test_every_hookspec_is_documented() -> None:
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__
        assert doc and len(doc.strip()) > 20, f"hookspec {name} has no docstring"


def test_every_hookspec_is_exercised_by_a_test() -> None:
    # Hook names are never spelt out above, so a mention below or elsewhere is a real call.
    sources = "".join(p.read_text() for p in TESTS.rglob("test_*.py"))
    untested = [name for name in HOOKS if name not in sources]
    assert not untested, f"hookspecs without a test: {untested}"


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
        return {"library": "numpy", "task": "doubling"}


def registry_with(*plugins: tuple[str, object]):  # type: ignore[no-untyped-def]
    return get_plugin_manager(load_entry_points=False, extra_plugins=plugins)


def test_each_hook_dispatches_to_the_owning_family(tmp_path: Path) -> None:
    reg = registry_with(("doubler", Doubler()))
    hook = reg.pm.hook
    assert [i.name for infos in hook.onnxhub_register_families() for i in infos] == ["doubler"]
    assert hook.onnxhub_claim(model=DoublerModel()) == [Claim("doubler", 10)]
    assert hook.onnxhub_claim(model=tmp_path / "m.dbl") == [Claim("doubler", 100)]
    assert hook.onnxhub_load_model(family="doubler", path=tmp_path / "m.dbl") == DoublerModel()
    assert hook.onnxhub_load_model(family="other", path=tmp_path) is None
    exported = hook.onnxhub_export(family="doubler", model="m", sample=[[1, 2]], opset=None)
    assert exported.feeds["x"].dtype == np.float32
    out = hook.onnxhub_framework_predict(
        family="doubler", model="m", sample=[[1, 2]], exported=exported
    )
    np.testing.assert_array_equal(out["y"], [[2, 4]])
    assert hook.onnxhub_card_defaults(family="doubler", model="m")["task"] == "doubling"
    assert hook.onnxhub_conformance_cases() == [[]]


def test_a_custom_family_publishes_end_to_end(tmp_path: Path) -> None:
    from hub.api import Hub
    from hub.settings import Settings

    with Hub(Settings.for_home(tmp_path), registry=registry_with(("doubler", Doubler()))) as h:
        version = h.publish(DoublerModel(), name="twice", sample=[[1.5, -2.0], [3.0, 4.0]])
        assert version.family == "doubler" and version.task == "doubling"
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
