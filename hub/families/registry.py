"""Discovering family plugins and calling their hooks safely.

One discovery path: the ``onnxhub`` entry-point group, where the built-in families are listed
too. A plugin that fails to import or register is recorded as broken (name and error) and the
others keep working; a duplicate family name is a start-up error; an exception raised inside a
hook is re-raised as :class:`PluginError` naming the family and its plugin.
"""

from __future__ import annotations

import importlib.metadata as metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pluggy

from hub.errors import (
    ExportFailed,
    FamilyUnavailable,
    HubError,
    InvalidInput,
    NotFound,
    PluginError,
)
from hub.families import hookspecs
from hub.families.types import Claim, ExportedModel, FamilyInfo, SampleData

ENTRY_POINT_GROUP = "onnxhub"


@dataclass(frozen=True)
class RegisteredFamily:
    """A family as the hub knows it: what it declared and where it came from."""

    info: FamilyInfo
    plugin: str
    distribution: str | None
    version: str | None


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be loaded or registered, with the reason."""

    name: str
    distribution: str | None
    error: str


class FamilyRegistry:
    """The families of one plugin manager, and safe calls into their hooks."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.families: dict[str, RegisteredFamily] = {}
        self.broken: list[BrokenPlugin] = []
        self._dists: dict[str, tuple[str | None, str | None]] = {}

    # -- start-up ------------------------------------------------------------------------
    def add_plugin(
        self, plugin: object, name: str, dist: str | None = None, version: str | None = None
    ) -> None:
        """Register one plugin object (module or instance) under ``name``."""
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # a broken plugin must not take the hub down
            self.broken.append(BrokenPlugin(name, dist, f"{type(exc).__name__}: {exc}"))
            return
        self._dists[name] = (dist, version)

    def drop_incompatible(self) -> None:
        """Unregister, as broken, every plugin implementing a hook the contract lacks."""
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
                dist = self._dists.get(name, (None, None))[0]
                self.broken.append(BrokenPlugin(name, dist, f"incompatible: {exc}"))
                self.pm.unregister(exc.plugin)

    def collect_families(self) -> None:
        """Ask every plugin for its families; fail loudly on a duplicate name."""
        for impl in self.pm.hook.onnxhub_register_families.get_hookimpls():
            dist, version = self._dists.get(impl.plugin_name, (None, None))
            try:
                returned: Any = impl.function()
                infos = list(returned or [])
                if not all(isinstance(i, FamilyInfo) for i in infos):
                    raise TypeError("onnxhub_register_families must return FamilyInfo objects")
            except Exception as exc:
                self.broken.append(
                    BrokenPlugin(impl.plugin_name, dist, f"{type(exc).__name__}: {exc}")
                )
                self.pm.unregister(name=impl.plugin_name)
                continue
            for info in infos:
                if info.name in self.families:
                    other = self.families[info.name]
                    raise PluginError(
                        f"duplicate family name {info.name!r}: provided by plugin "
                        f"{other.plugin!r} and by plugin {impl.plugin_name!r}; "
                        "uninstall one of them"
                    )
                self.families[info.name] = RegisteredFamily(info, impl.plugin_name, dist, version)

    # -- lookups -------------------------------------------------------------------------
    def family(self, name: str) -> RegisteredFamily:
        """The registered family ``name``, or NotFound listing the known ones."""
        try:
            family = self.families[name]
        except KeyError:
            known = ", ".join(sorted(self.families)) or "none"
            raise NotFound(f"unknown family {name!r} (installed families: {known})") from None
        if not family.info.available:
            raise FamilyUnavailable(
                f"family {name!r} is installed but its framework {family.info.framework!r} "
                f"is missing: {family.info.install_hint or 'install the framework'}"
            )
        return family

    def choose_family(self, model: Any) -> str:
        """The family that claims ``model`` with the highest score."""
        claims: list[Claim] = []
        for impl in self.pm.hook.onnxhub_claim.get_hookimpls():
            try:
                claim: Any = impl.function(model=model)
            except Exception as exc:
                raise PluginError(
                    f"plugin {impl.plugin_name!r} raised in onnxhub_claim: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if claim is not None:
                claims.append(claim)
        if not claims:
            what = model.name if isinstance(model, Path) else type(model).__qualname__
            unavailable = [f.info for f in self.families.values() if not f.info.available]
            hint = "".join(
                f"; family {i.name!r} is unavailable ({i.install_hint})" for i in unavailable
            )
            raise InvalidInput(
                f"no installed family can handle {what}; pass --family / family= "
                f"(installed: {', '.join(sorted(self.families))}){hint}"
            )
        claims.sort(key=lambda c: c.score, reverse=True)
        if len(claims) > 1 and claims[0].score == claims[1].score:
            tied = sorted(c.family for c in claims if c.score == claims[0].score)
            raise InvalidInput(
                f"families {', '.join(tied)} all claim this model equally; choose one with "
                "--family / family="
            )
        return claims[0].family

    # -- hook calls ----------------------------------------------------------------------
    def _call(self, hook_name: str, family: str, **kwargs: Any) -> Any:
        registered = self.family(family)
        hook = getattr(self.pm.hook, hook_name)
        try:
            result = hook(family=family, **kwargs)
        except HubError:
            raise
        except NotImplementedError as exc:
            raise PluginError(f"family {family!r}: {exc}") from exc
        except Exception as exc:
            raise PluginError(
                f"family {family!r} (plugin {registered.plugin!r}) raised in {hook_name}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return result

    def load_model(self, family: str, path: Path) -> Any:
        """Load ``path`` with ``family``'s framework."""
        model = self._call("onnxhub_load_model", family, path=path)
        if model is None:
            raise InvalidInput(f"family {family!r} cannot load {path.name}")
        return model

    def export(
        self, family: str, model: Any, sample: SampleData, opset: int | None = None
    ) -> ExportedModel:
        """Export ``model`` with ``family``; the result always has a model and feeds."""
        exported = self._call("onnxhub_export", family, model=model, sample=sample, opset=opset)
        if exported is None:
            raise ExportFailed(f"family {family!r} returned no export for {type(model).__name__}")
        return exported

    def framework_predict(
        self, family: str, model: Any, sample: SampleData, exported: ExportedModel
    ) -> dict[str, np.ndarray]:
        """The framework's own outputs for parity, keyed by ONNX output name."""
        outputs = self._call(
            "onnxhub_framework_predict", family, model=model, sample=sample, exported=exported
        )
        return {k: np.asarray(v) for k, v in (outputs or {}).items()}

    def card_defaults(self, family: str, model: Any) -> dict[str, Any]:
        """Default card metadata for ``model``."""
        return dict(self._call("onnxhub_card_defaults", family, model=model) or {})


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def get_plugin_manager(
    *,
    load_entry_points: bool = True,
    extra_plugins: Iterable[tuple[str, object]] = (),
    blocked: Iterable[str] = (),
) -> FamilyRegistry:
    """Build a fresh plugin manager and its family registry.

    ``blocked`` names entry points not to load (like pytest's ``-p no:NAME``);
    ``extra_plugins`` registers plugin objects directly (tests, embedding applications).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    registry = FamilyRegistry(pm)
    blocked = set(blocked)
    if load_entry_points:
        seen: set[str] = set()
        for ep in _entry_points():
            if ep.name in blocked or ep.name in seen:
                continue
            seen.add(ep.name)
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            try:
                plugin = ep.load()
            except Exception as exc:
                registry.broken.append(BrokenPlugin(ep.name, dist, f"{type(exc).__name__}: {exc}"))
                continue
            registry.add_plugin(plugin, ep.name, dist, version)
    for name, plugin in extra_plugins:
        registry.add_plugin(plugin, name)
    registry.drop_incompatible()
    registry.collect_families()
    return registry
