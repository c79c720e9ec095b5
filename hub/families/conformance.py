"""The conformance tests: every installed family (or those named) proven on its own cases.

Run them from anywhere onnxhub and the family are installed::

    pytest --pyargs hub.families.conformance --onnxhub-family xgboost

For each :class:`~hub.families.ConformanceCase`: the family claims its own model, the export
passes parity on the held-out rows, its names follow the conventions and its IR version and
opsets are ones onnxruntime runs (:mod:`hub.families.testing`), every input has a dynamic batch
dimension, onnxruntime on batches of 1 and 5 rows agrees with the framework on the same rows,
a model the case also saves (joblib, pickle: :attr:`ConformanceCase.saved_as`) loads back
from each file, the card names the library, and a sample with a feature too many or too few is refused as
``InvalidInput`` rather than surfacing a converter's exception. Families whose framework is
missing offer no cases; they must still say how to install it.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any, cast

import pytest

from hub.errors import InvalidInput
from hub.export.convert import CheckedExport, convert_and_check, resolve_model
from hub.families.registry import FamilyRegistry, get_plugin_manager
from hub.families.saving import SAVE_FORMATS
from hub.families.testing import (
    batch_parity,
    check_naming,
    check_versions,
    missing_families,
    row_count,
    sample_rows,
    selected_families,
    with_features,
)
from hub.families.types import ConformanceCase, SampleData

BATCH_SIZES = (1, 5)


@dataclasses.dataclass(frozen=True)
class _BrokenCases:
    """A plugin whose ``onnxhub_conformance_cases`` raised, or a family named with
    ``--onnxhub-family`` that cannot be tested: reported as a failing case."""

    plugin: str
    error: str


@functools.cache
def _registry() -> FamilyRegistry:
    return get_plugin_manager()


@functools.cache
def collect_cases(families: tuple[str, ...] = ()) -> tuple[ConformanceCase | _BrokenCases, ...]:
    """Every case of every installed plugin (of ``families`` when given), asked one plugin at
    a time so that one plugin's bug stays its own failure."""
    found: list[ConformanceCase | _BrokenCases] = []
    for impl in _registry().pm.hook.onnxhub_conformance_cases.get_hookimpls():
        try:
            found.extend(cast("list[ConformanceCase]", impl.function() or []))
        except Exception as exc:  # collection must go on for the other families
            found.append(_BrokenCases(impl.plugin_name, f"{type(exc).__name__}: {exc}"))
    if not families:
        return tuple(found)
    offering = {c.family for c in found if isinstance(c, ConformanceCase)}
    chosen: list[ConformanceCase | _BrokenCases] = [
        c for c in found if isinstance(c, ConformanceCase) and c.family in families
    ]
    for problem in missing_families(families, list(_registry().families), offering):
        chosen.append(_BrokenCases("--onnxhub-family", problem))
    return tuple(chosen)


def _case_id(case: ConformanceCase | _BrokenCases) -> str:
    if isinstance(case, _BrokenCases):
        return f"{case.plugin.lstrip('-')}-cases-raised"
    return f"{case.family}-{case.name}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        cases = collect_cases(selected_families(metafunc.config))
        metafunc.parametrize("case", cases, ids=[_case_id(c) for c in cases], scope="module")


@dataclasses.dataclass
class Built:
    """A case's model (loaded when it is a file), its sample, and the checked export."""

    case: ConformanceCase
    original: Any
    model: Any
    sample: SampleData
    checked: CheckedExport
    #: The IR version the family stamped, before the hub lowered it (if it had to).
    family_ir_version: int


@pytest.fixture(scope="module")
def built(case: ConformanceCase | _BrokenCases, tmp_path_factory: pytest.TempPathFactory) -> Built:
    if isinstance(case, _BrokenCases):
        pytest.fail(f"{case.plugin}: {case.error}")
    registry = _registry()
    original, sample = case.build(tmp_path_factory.mktemp(f"{case.family}-{case.name}"))
    _, model = resolve_model(registry, original, case.family)
    stamped: list[int] = []
    export = registry.export

    def recording_export(*args: Any, **kwargs: Any) -> Any:
        exported = export(*args, **kwargs)
        stamped.append(int(exported.model.ir_version))  # before the hub may lower it
        return exported

    registry.export = recording_export  # type: ignore[method-assign]
    try:
        checked = convert_and_check(registry, original, sample, family=case.family)
    finally:
        del registry.export  # back to the class's method
    return Built(case, original, model, sample, checked, stamped[0])


def test_family_claims_its_own_case(built: Built) -> None:
    family, _ = resolve_model(_registry(), built.original, None)
    assert family == built.case.family


def test_export_passes_parity(built: Built) -> None:
    report = built.checked.report
    assert report.outputs, "parity compared no outputs"
    assert report.passed, report.summary()
    assert report.rows == row_count(built.checked)


def test_names_follow_the_conventions(built: Built) -> None:
    check_naming(built.checked)


def test_ir_version_and_opsets_are_runnable(built: Built) -> None:
    check_versions(built.checked, built.family_ir_version)


def test_every_input_has_a_dynamic_batch_dimension(built: Built) -> None:
    for spec in built.checked.inputs:
        assert spec.shape and spec.shape[0] == -1, f"input {spec.name} has shape {spec.shape}"


@pytest.mark.parametrize("batch", BATCH_SIZES)
def test_onnxruntime_matches_the_framework_on_batches(built: Built, batch: int) -> None:
    report = batch_parity(_registry(), built.checked, built.model, built.sample, batch)
    assert report.passed, report.summary()


def test_saved_files_load_back(built: Built, tmp_path: Path) -> None:
    """Every format the case lists (joblib, pickle...): named with ``--family`` and found by
    claims, the family loads the file and its export passes parity."""
    for format_name in built.case.saved_as:
        path = SAVE_FORMATS[format_name](built.model, tmp_path)
        for family in (built.case.family, None):
            checked = convert_and_check(_registry(), path, built.sample, family=family)
            assert checked.family == built.case.family, (format_name, family)
            assert checked.report.passed, f"{format_name}: {checked.report.summary()}"
        path.unlink()


def test_card_defaults_name_the_library(built: Built) -> None:
    library = built.checked.card_defaults.get("library")
    assert isinstance(library, str) and library


def test_family_is_registered_with_a_framework(built: Built) -> None:
    info = _registry().families[built.case.family].info
    assert info.framework and info.available
    assert built.checked.framework == info.framework


@pytest.mark.parametrize("change", [-1, +1], ids=["one-feature-fewer", "one-feature-more"])
def test_wrong_feature_count_is_invalid_input(built: Built, change: int) -> None:
    bad = with_features(sample_rows(built.checked, built.sample), change)
    if bad is None:
        pytest.skip("the sample has no feature axis to change")
    with pytest.raises(InvalidInput):
        convert_and_check(_registry(), built.original, bad, family=built.case.family)


def test_every_family_is_available_or_says_how_to_install_it(
    request: pytest.FixtureRequest,
) -> None:
    registry = get_plugin_manager()
    assert registry.families, "no family is registered"
    chosen = selected_families(request.config) or tuple(registry.families)
    for name, family in registry.families.items():
        if name not in chosen:
            continue
        info = family.info
        assert info.framework, f"family {name!r} declares no framework"
        assert info.available or info.install_hint, f"family {name!r} is unavailable, no hint"
