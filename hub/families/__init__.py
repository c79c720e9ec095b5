"""The plugin API: everything a model family imports (with :mod:`hub.errors`), from one place.

A family is a pluggy plugin registered under the ``onnxhub`` entry-point group::

    from hub.families import ExportedModel, FamilyInfo, FamilyPlugin, SampleData

    class CatBoostFamily(FamilyPlugin):
        info = FamilyInfo(name="catboost", framework="CatBoost", summary="...")
        ...

    plugin = CatBoostFamily()

Contents:

- the hook contract (:mod:`hub.families.hookspecs`, :data:`hookimpl`) and :class:`FamilyPlugin`,
  which implements the hooks as plain methods;
- the values exchanged with the hub (:mod:`hub.families.types`): :class:`FamilyInfo`,
  :class:`Claim`, :class:`ExportedModel`, :class:`ConformanceCase`, :data:`SampleData`;
- :class:`TabularFamily` for scikit-learn-style estimators and its helpers
  (:mod:`hub.families.estimators`);
- :class:`Generator` and :func:`draw_latent` for generative models;
- ONNX helpers a family may need (:data:`DEFAULT_OPSET`, :func:`runtime_limits`,
  :func:`load_onnx_file`, :func:`validate_model`, ...), loaded on first use so that importing this
  package (done for every plugin at discovery) never loads onnx or onnxruntime;
- the host side: :func:`get_plugin_manager` and :class:`FamilyRegistry`, for tests and tools.
"""

from __future__ import annotations

import importlib
from typing import Any

from hub.families.generation import (
    GENERATION_TASK,
    LATENT_INPUT,
    PARITY_SEED,
    Generator,
    draw_latent,
    generator_card_defaults,
    latent_sample,
)
from hub.families.hookspecs import hookimpl, hookspec
from hub.families.plugin import FamilyPlugin
from hub.families.types import Claim, ConformanceCase, ExportedModel, FamilyInfo, SampleData
from hub.onnx.versions import DEFAULT_IR_VERSION, DEFAULT_OPSET

#: Names resolved on first use: they import onnx, onnxruntime or a framework helper.
_LAZY = {
    "TabularFamily": "hub.families.tabular",
    "convert_estimator": "hub.families.estimators",
    "final_estimator": "hub.families.estimators",
    "expected_features": "hub.families.estimators",
    "feature_matrix": "hub.families.estimators",
    "estimator_outputs": "hub.families.estimators",
    "missing_distributions": "hub.families.estimators",
    "FamilyRegistry": "hub.families.registry",
    "get_plugin_manager": "hub.families.registry",
    "ENTRY_POINT_GROUP": "hub.families.registry",
    "runtime_limits": "hub.onnx.sessions",
    "load_onnx_file": "hub.onnx.checks",
    "validate_model": "hub.onnx.checks",
    "ai_onnx_opset": "hub.onnx.checks",
    "numpy_dtype": "hub.onnx.datatypes",
    "ONNX_ELEM_TO_V2": "hub.onnx.datatypes",
    "convert_and_check": "hub.export.convert",
}

__all__ = [
    "Claim",
    "ConformanceCase",
    "DEFAULT_IR_VERSION",
    "DEFAULT_OPSET",
    "ENTRY_POINT_GROUP",
    "ExportedModel",
    "FamilyInfo",
    "FamilyPlugin",
    "FamilyRegistry",
    "GENERATION_TASK",
    "Generator",
    "LATENT_INPUT",
    "ONNX_ELEM_TO_V2",
    "PARITY_SEED",
    "SampleData",
    "TabularFamily",
    "ai_onnx_opset",
    "convert_and_check",
    "convert_estimator",
    "draw_latent",
    "estimator_outputs",
    "expected_features",
    "feature_matrix",
    "final_estimator",
    "generator_card_defaults",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "latent_sample",
    "load_onnx_file",
    "missing_distributions",
    "numpy_dtype",
    "runtime_limits",
    "validate_model",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hub.families' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
