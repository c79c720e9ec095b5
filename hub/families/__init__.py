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
- the task vocabulary (:mod:`hub.families.tasks`): :data:`TASKS`, :data:`TASK_ALIASES`,
  :func:`canonical_task`, :func:`task_from_head`;
- :func:`normalize_onnx` (:mod:`hub.families.normalize`): a framework's own ONNX export brought to
  the hub's conventions (renamed inputs/outputs, ZipMap dropped into a probability tensor, the
  default opset imported, an old IR version raised);
- ONNX helpers a family may need (:data:`DEFAULT_OPSET`, :func:`runtime_limits`,
  :func:`load_onnx_file`, :func:`validate_model`, :func:`signature`, :func:`graph_inputs`,
  :func:`to_feeds` for a sample as the graph's feeds, ...), loaded on first use so that
  importing this package (done for every plugin at discovery) never loads onnx or onnxruntime;
- :mod:`hub.families.testing`: the conformance suite, runnable on one family from any
  repository (``pytest --pyargs hub.families.conformance --onnxhub-family NAME``);
- the host side: :func:`get_plugin_manager` and :class:`FamilyRegistry`, for tests and tools.
"""

from __future__ import annotations

import importlib
from typing import Any

from hub.families.generation import (
    GENERATION_TASK,
    GENERATOR_CLAIM,
    LATENT_INPUT,
    PARITY_SEED,
    Generator,
    claim_generator,
    draw_latent,
    export_task,
    generator_card_defaults,
    latent_sample,
    unwrap_generator,
)
from hub.families.hookspecs import hookimpl, hookspec
from hub.families.plugin import FamilyPlugin
from hub.families.saving import PICKLE_SUFFIXES, SAVE_FORMATS, is_pickle_file, load_pickle
from hub.families.tasks import (
    TABULAR_CLASSIFICATION,
    TABULAR_REGRESSION,
    TASK_ALIASES,
    TASKS,
    canonical_task,
    task_from_head,
)
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
    "INPUT_NAME": "hub.families.estimators",
    "MIN_OPSET": "hub.families.normalize",
    "normalize_onnx": "hub.families.normalize",
    "TensorSpec": "hub.onnx.signature",
    "graph_inputs": "hub.onnx.signature",
    "signature": "hub.onnx.signature",
    "check_feeds": "hub.onnx.feeds",
    "to_feeds": "hub.onnx.feeds",
    "convert_and_check": "hub.export.convert",
    "synthetic_sample": "hub.export.samples",
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
    "GENERATOR_CLAIM",
    "Generator",
    "INPUT_NAME",
    "LATENT_INPUT",
    "MIN_OPSET",
    "ONNX_ELEM_TO_V2",
    "PARITY_SEED",
    "PICKLE_SUFFIXES",
    "SAVE_FORMATS",
    "SampleData",
    "TABULAR_CLASSIFICATION",
    "TABULAR_REGRESSION",
    "TASKS",
    "TASK_ALIASES",
    "TabularFamily",
    "TensorSpec",
    "ai_onnx_opset",
    "check_feeds",
    "canonical_task",
    "claim_generator",
    "convert_and_check",
    "convert_estimator",
    "draw_latent",
    "estimator_outputs",
    "export_task",
    "expected_features",
    "feature_matrix",
    "final_estimator",
    "generator_card_defaults",
    "get_plugin_manager",
    "graph_inputs",
    "hookimpl",
    "hookspec",
    "is_pickle_file",
    "latent_sample",
    "load_onnx_file",
    "load_pickle",
    "missing_distributions",
    "normalize_onnx",
    "numpy_dtype",
    "runtime_limits",
    "signature",
    "to_feeds",
    "unwrap_generator",
    "synthetic_sample",
    "task_from_head",
    "validate_model",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hub.families' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
