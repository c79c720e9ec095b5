"""PyTorch to ONNX: samples, names, export and the framework's own outputs.

Names in every export: one input is ``input`` (``latent`` for a generator), a tuple sample gives
``input_0``, ``input_1``... and a dict sample (keyword arguments) keeps its keys. Outputs are
``output_0``, ``output_1``... in the order the module returns them (a dict output keeps its keys).
The batch dimension (axis 0) of every input and output is dynamic.

``torch`` is imported inside functions only: importing this module costs nothing.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from hub.errors import ExportFailed, InvalidInput, first_line

FAMILY = "torch"
#: Modules with more parameter bytes than this are exported through a file (see export_module).
LARGE_EXPORT_BYTES = 1 << 30
# the TorchScript exporter's and the torch.export-based exporter's ways of naming a missing op
_UNSUPPORTED_OP = re.compile(
    r"Exporting the operator '([^']+)'|No ONNX function found for <OpOverload\(op='([^']+)'"
)


@dataclass
class TorchSample:
    """A sample as torch sees it (positional or keyword tensors) and as ONNX feeds."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    feeds: dict[str, np.ndarray]

    @property
    def input_names(self) -> list[str]:
        return list(self.feeds)


def _float_dtype(model: Any) -> Any:
    import torch

    params = model.parameters() if isinstance(model, torch.nn.Module) else iter(())
    for param in params:
        if param.is_floating_point():
            return param.dtype
    return torch.float32


def _to_tensor(value: Any, label: str, float_dtype: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{label} is not an array: {exc}") from None
        if array.dtype == object or array.dtype.kind in "USV":
            raise InvalidInput(f"{label} must be numeric, got dtype {array.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_floating_point():
        tensor = tensor.to(float_dtype)
    if tensor.ndim == 0:
        raise InvalidInput(f"{label} must have a batch dimension, got a scalar")
    return tensor


def torch_sample(model: Any, sample: Any, latent_name: str | None = None) -> TorchSample:
    """Turn ``sample`` (array, tensor, tuple/list, or dict of them) into tensors and feeds."""
    dtype = _float_dtype(model)
    if latent_name is not None:
        tensor = _to_tensor(sample, "the latent sample", dtype)
        return TorchSample((tensor,), {}, {latent_name: tensor.numpy()})
    if isinstance(sample, Mapping):
        if not sample:
            raise InvalidInput("the sample is an empty mapping")
        kwargs = {str(k): _to_tensor(v, f"sample input {k!r}", dtype) for k, v in sample.items()}
        return TorchSample((), kwargs, {k: t.numpy() for k, t in kwargs.items()})
    if isinstance(sample, (tuple, list)):
        if not sample:
            raise InvalidInput("the sample is an empty sequence")
        args = tuple(_to_tensor(v, f"sample input {i}", dtype) for i, v in enumerate(sample))
        names = ["input"] if len(args) == 1 else [f"input_{i}" for i in range(len(args))]
        return TorchSample(args, {}, {n: t.numpy() for n, t in zip(names, args)})
    tensor = _to_tensor(sample, "the sample", dtype)
    return TorchSample((tensor,), {}, {"input": tensor.numpy()})


def _shape(dims: Any) -> str:
    return "(" + ", ".join("batch" if d is None else str(d) for d in dims) + ")"


def check_program_inputs(program: Any, sample: TorchSample) -> None:
    """Compare a torch.export program's declared input shapes with the sample's."""
    import torch

    placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    specs = []
    for name in program.graph_signature.user_inputs:
        value = placeholders[name].meta.get("val") if name in placeholders else None
        if isinstance(value, torch.Tensor):
            specs.append(tuple(d if isinstance(d, int) else None for d in value.shape))
    tensors = list(sample.args) + list(sample.kwargs.values())
    if len(specs) != len(tensors):
        raise InvalidInput(
            f"the program takes {len(specs)} input(s), the sample has {len(tensors)}"
        )
    for name, spec, tensor in zip(sample.input_names, specs, tensors):
        got = tuple(tensor.shape)
        if len(got) != len(spec) or any(s is not None and s != g for s, g in zip(spec, got)):
            raise InvalidInput(
                f"input {name!r} expects shape {_shape(spec)}, got {_shape(got)} "
                "(the program was exported with these shapes)"
            )


@contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Run ``model`` in eval mode (dropout off, batch-norm frozen), then restore its mode."""
    import torch

    if not isinstance(model, torch.nn.Module):
        yield
        return
    was_training = model.training
    try:
        model.eval()
    except NotImplementedError:  # a torch.export program's module has no train/eval switch
        yield
        return
    try:
        yield
    finally:
        model.train(was_training)


def flatten_outputs(outputs: Any) -> dict[str, np.ndarray]:
    """Name a module's return value: ``output_0``... in order, or a dict's own keys."""
    import torch

    if isinstance(outputs, Mapping):
        items = [(str(k), v) for k, v in outputs.items()]
    elif isinstance(outputs, (tuple, list)):
        items = [(f"output_{i}", v) for i, v in enumerate(outputs)]
    else:
        items = [("output_0", outputs)]
    named: dict[str, np.ndarray] = {}
    for name, value in items:
        if not isinstance(value, torch.Tensor):
            raise ExportFailed(
                f"family {FAMILY!r} exports modules that return tensors; output {name!r} is "
                f"a {type(value).__name__}"
            )
        named[name] = value.detach().cpu().numpy()
    return named


def run_module(model: Any, sample: TorchSample) -> dict[str, np.ndarray]:
    """The module's (or program's) outputs on the sample, named as in the export."""
    import torch

    module = model.module() if isinstance(model, torch.export.ExportedProgram) else model
    with eval_mode(module), torch.no_grad():
        try:
            outputs = module(*sample.args, **sample.kwargs)
        except (RuntimeError, TypeError, ValueError, IndexError, AssertionError) as exc:
            shapes = ", ".join(f"{n} {tuple(a.shape)}" for n, a in sample.feeds.items())
            first = first_line(exc)
            raise InvalidInput(
                f"the sample ({shapes}) does not fit the torch model: {first}"
            ) from None
    return flatten_outputs(outputs)


def _unsupported(exc: Exception, opset: int) -> ExportFailed:
    match = _UNSUPPORTED_OP.search(str(exc))
    what = f"op {(match.group(1) or match.group(2))!r}" if match else "an op"
    return ExportFailed(
        f"family {FAMILY!r} cannot export {what}: it has no ONNX conversion at opset {opset}"
    )


def export_module(model: Any, sample: TorchSample, output_names: list[str], opset: int) -> Any:
    """Export an ``nn.Module`` or TorchScript module (TorchScript exporter, dynamic batch)."""
    import onnx
    import torch

    names = sample.input_names
    dynamic = {name: {0: "batch"} for name in [*names, *output_names]}
    args: Any = sample.args
    if sample.kwargs:
        args = (*sample.args, dict(sample.kwargs))
    # Protobuf cannot serialize 2 GiB: a large module is exported to a file (the exporter then
    # writes its weights as external data beside it) and read back; the hub stores such an
    # export with external data again.
    large = _state_bytes(model) > LARGE_EXPORT_BYTES
    folder = tempfile.TemporaryDirectory(prefix="onnxhub-torch-") if large else None
    buffer: Any = os.path.join(folder.name, "model.onnx") if folder else io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                model,
                args,
                buffer,
                dynamo=False,
                opset_version=opset,
                input_names=names,
                output_names=output_names,
                dynamic_axes=dynamic,
                do_constant_folding=True,
            )
        except torch.onnx.errors.UnsupportedOperatorError as exc:
            raise _unsupported(exc, opset) from None
        except Exception as exc:
            first = first_line(exc)
            raise ExportFailed(f"family {FAMILY!r} could not export the module: {first}") from None
    if folder is None:
        return onnx.load_from_string(buffer.getvalue())
    with folder:
        return onnx.load(buffer)  # external data read in: the folder goes away


def _state_bytes(model: Any) -> int:
    """Bytes of a module's parameters and buffers (0 when it has none to count)."""
    try:
        tensors = [*model.parameters(), *model.buffers()]
    except Exception:
        return 0
    return sum(t.numel() * t.element_size() for t in tensors)


def export_program(program: Any, sample: TorchSample, output_names: list[str], opset: int) -> Any:
    """Export a ``torch.export`` program; its dynamic dimensions are the ones it was saved with."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            onnx_program = torch.onnx.export(
                program,
                sample.args,
                kwargs=sample.kwargs or None,
                dynamo=True,
                opset_version=opset,
                input_names=sample.input_names,
                output_names=output_names,
                verbose=False,
            )
        except Exception as exc:
            if _UNSUPPORTED_OP.search(str(exc)):
                raise _unsupported(exc, opset) from None
            raise ExportFailed(
                f"family {FAMILY!r} could not export the program: {first_line(exc)}"
            ) from None
    return onnx_program.model_proto
