"""The built-in ``torch`` family: PyTorch modules, TorchScript and ``torch.export`` files to ONNX.

What it takes:

* an ``nn.Module`` object, with its example input as the sample (one array or tensor; a tuple
  for several positional inputs; a dict for keyword inputs);
* a TorchScript file (``.pt``, written by ``torch.jit.save``);
* a ``torch.export`` program (``.pt2``, written by ``torch.export.save``);
* a :class:`hub.families.generation.Generator` wrapping any of those (claimed ahead of a bare
  module): exported with one input ``latent`` and ``task == "generation"``.

Plain ``torch.save`` pickles are refused: unpickling runs arbitrary code. Input and output names
are described in :mod:`hub_plugins.torch.export`. ``torch`` is imported lazily, so listing
plugins stays fast.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import InvalidInput, InvalidModelFile, first_line
from hub.families import (
    DEFAULT_OPSET,
    LATENT_INPUT,
    ConformanceCase,
    ExportedModel,
    FamilyInfo,
    FamilyPlugin,
    Generator,
    SampleData,
    claim_generator,
    export_task,
    generator_card_defaults,
    latent_sample,
    task_from_head,
    unwrap_generator,
)
from hub_plugins.torch import export as torch_export

FAMILY = torch_export.FAMILY
SUFFIXES = (".pt", ".pt2")
_CLASSIFIER_HEADS = ("Softmax", "LogSoftmax", "Sigmoid")


def _is_torch_object(model: Any) -> bool:
    """An ``nn.Module`` or ``ExportedProgram``, recognised without importing torch."""
    if "torch" not in sys.modules:
        return False
    import torch

    return isinstance(model, (torch.nn.Module, torch.export.ExportedProgram))


def _archive_kind(path: Path) -> str:
    """What a PyTorch-style zip holds: ``torchscript``, ``program``, ``pickle`` or ``keras``."""
    if path.is_dir():
        raise InvalidModelFile(
            f"{path.name} is a folder; family {FAMILY!r} reads .pt (TorchScript) and .pt2 "
            "(torch.export) files"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidModelFile(
            f"{path.name} is not a PyTorch archive ({exc}); family {FAMILY!r} reads files written "
            "by torch.jit.save (.pt) or torch.export.save (.pt2)"
        ) from None
    leaves = {name.rsplit("/", 1)[-1] for name in names}
    if "archive_format" in leaves:
        return "program"
    if "constants.pkl" in leaves:
        return "torchscript"
    if "data.pkl" in leaves:
        return "pickle"
    if {"config.json", "model.weights.h5"} <= leaves:
        return "keras"
    raise InvalidModelFile(f"{path.name} is a zip file but not a PyTorch model archive")


def load_torch_file(path: Path) -> Any:
    """Load a TorchScript (``.pt``) or ``torch.export`` (``.pt2``) file, by its content."""
    kind = _archive_kind(path)
    if kind == "keras":
        raise InvalidModelFile(
            f"{path.name} is a Keras model, not a PyTorch one; use family 'keras'"
        )
    if kind == "pickle":
        raise InvalidModelFile(
            f"{path.name} is a torch.save pickle, which family {FAMILY!r} does not load "
            "(unpickling runs arbitrary code); save the model with torch.jit.save or "
            "torch.export.save"
        )
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "program":
                return torch.export.load(str(path))
            return torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        first = first_line(exc)
        raise InvalidModelFile(f"{path.name} could not be loaded by PyTorch: {first}") from None


def _head_task(module: Any, feeds: dict[str, np.ndarray]) -> str | None:
    """``*-classification`` for a module whose last child is a softmax/sigmoid head."""
    children = list(module.children()) if hasattr(module, "children") else []
    if not children or type(children[-1]).__name__ not in _CLASSIFIER_HEADS:
        return None
    return task_from_head("classification", [np.ndim(a) for a in feeds.values()])


class TorchFamily(FamilyPlugin):
    """PyTorch modules, TorchScript and torch.export programs, exported with torch.onnx."""

    info = FamilyInfo(
        name=FAMILY,
        framework="pytorch",
        summary="PyTorch nn.Module objects, TorchScript (.pt) and torch.export (.pt2) files",
        file_suffixes=SUFFIXES,
        available=importlib.util.find_spec("torch") is not None,
        install_hint="pip install 'onnxhub[torch]'",
    )

    def claim(self, model: Any) -> int | None:
        if isinstance(model, Generator):
            return claim_generator(self.claim, model)
        if isinstance(model, Path):
            return 100 if model.suffix.lower() in SUFFIXES and model.is_file() else None
        if _is_torch_object(model):
            return 50
        return None

    def load(self, path: Path) -> Any:
        if path.suffix.lower() not in SUFFIXES:
            raise InvalidModelFile(
                f"{path.name} is not a PyTorch model file; family {FAMILY!r} reads .pt "
                "(torch.jit.save) and .pt2 (torch.export.save) files"
            )
        return load_torch_file(path)

    def _resolve(self, model: Any) -> tuple[Any, Generator | None]:
        """(torch object, generator spec or None), loading a path a Generator wraps."""
        model, generator = unwrap_generator(model, self.load)
        if not _is_torch_object(model):
            raise InvalidInput(
                f"family {FAMILY!r} exports torch nn.Module and torch.export programs, "
                f"not {type(model).__module__}.{type(model).__qualname__}"
            )
        return model, generator

    def _sample(self, model: Any, generator: Generator | None, sample: SampleData) -> Any:
        if generator is None:
            if sample is None:
                raise InvalidInput("family 'torch' needs the example input as the sample")
            return torch_export.torch_sample(model, sample)
        latent = latent_sample(sample, generator.latent_dim)
        return torch_export.torch_sample(model, latent, latent_name=LATENT_INPUT)

    def export(self, model: Any, sample: SampleData, opset: int | None) -> ExportedModel:
        import torch

        module, generator = self._resolve(model)
        prepared = self._sample(module, generator, sample)
        is_program = isinstance(module, torch.export.ExportedProgram)
        if is_program:
            torch_export.check_program_inputs(module, prepared)
        output_names = list(torch_export.run_module(module, prepared))
        opset = opset or DEFAULT_OPSET
        if is_program:
            onnx_model = torch_export.export_program(module, prepared, output_names, opset)
        else:
            with torch_export.eval_mode(module):
                onnx_model = torch_export.export_module(module, prepared, output_names, opset)
        task, latent_input = export_task(generator, lambda: _head_task(module, prepared.feeds))
        return ExportedModel(
            model=onnx_model,
            feeds=dict(prepared.feeds),
            framework_version=torch.__version__,
            task=task,
            latent_input=latent_input,
            metadata={"torch": torch.__version__, "source": type(module).__qualname__},
        )

    def predict(
        self, model: Any, sample: SampleData, exported: ExportedModel
    ) -> dict[str, np.ndarray]:
        module, generator = self._resolve(model)
        return torch_export.run_module(module, self._sample(module, generator, sample))

    def card_defaults(self, model: Any) -> dict[str, Any]:
        if isinstance(model, Generator):
            return generator_card_defaults("pytorch")
        return {"library": "pytorch", "tags": ["pytorch"]}

    def conformance_cases(self) -> list[ConformanceCase]:
        return [
            ConformanceCase(FAMILY, "torch-mlp-regressor", _build_regressor),
            ConformanceCase(FAMILY, "torch-gan-generator", _build_generator),
        ]


def _build_regressor(tmp_path: Path) -> tuple[Any, SampleData]:
    """A two-layer MLP fitted to y = x0 - 2 x1 on 64 rows; 8 held-out rows as the sample."""
    import torch

    torch.manual_seed(0)
    x = torch.randn(72, 3)
    y = (x[:, 0] - 2 * x[:, 1]).unsqueeze(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x[:64]), y[:64]).backward()
        optimizer.step()
    return model, x[64:].numpy()


def _build_generator(tmp_path: Path) -> tuple[Any, SampleData]:
    """A small (untrained) generator saved as TorchScript, wrapped as a Generator."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    path = tmp_path / "generator.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.* says "use torch.export"
        torch.jit.save(torch.jit.script(net), str(path))
    return Generator(path, latent_dim=4), 16


plugin = TorchFamily()
