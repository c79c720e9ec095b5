"""Export catalogued models as a Triton Inference Server model repository.

Layout (what ``tritonserver --model-repository DIR`` reads)::

    DIR/<model>/config.pbtxt
    DIR/<model>/<version>/model.onnx

``config.pbtxt`` is protobuf text format of Triton's ``ModelConfig`` (``model_config.proto``):
``platform: "onnxruntime_onnx"``, every input and output with its ``TYPE_*`` and ``dims``,
and the model's effective serving options (settings < card ``serving:`` block <
``ONNXHUB_MODEL_OPTIONS``) turned into Triton's:

- ``max_batch_size``: our ``max_batch_size`` when every input and output has a dynamic first
  dimension (then ``dims`` leave that dimension out, and a 1-D tensor ``[batch]`` is written as
  ``dims: [1]`` with ``reshape { shape: [] }``, as Triton requires); otherwise 0 (no batching,
  full dims with -1 for dynamic sizes)
- ``dynamic_batching``: ``max_queue_delay_microseconds`` from ``max_batch_time`` (seconds) and
  ``default_queue_policy.max_queue_size`` from ``max_queue``
- ``instance_group``: ``count`` from ``run_concurrency``

Several references to one model (``iris:1``, ``iris@production``) export several version
folders, and ``version_policy { specific { versions: [...] } }`` serves all of them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from hub.catalog.records import VersionInfo
from hub.errors import Conflict, InvalidInput, StorageError
from hub.onnx.signature import TensorSpec
from hub.settings import ServingOptions

#: V2 datatype -> Triton ``DataType`` enum name.
TRITON_TYPES = {
    "BOOL": "TYPE_BOOL",
    "UINT8": "TYPE_UINT8",
    "UINT16": "TYPE_UINT16",
    "UINT32": "TYPE_UINT32",
    "UINT64": "TYPE_UINT64",
    "INT8": "TYPE_INT8",
    "INT16": "TYPE_INT16",
    "INT32": "TYPE_INT32",
    "INT64": "TYPE_INT64",
    "FP16": "TYPE_FP16",
    "FP32": "TYPE_FP32",
    "FP64": "TYPE_FP64",
    "BYTES": "TYPE_STRING",
}
PLATFORM = "onnxruntime_onnx"


@dataclass(frozen=True)
class TritonOptions:
    """The serving knobs that map onto Triton's configuration."""

    max_batch_size: int
    max_batch_time: float
    max_queue: int
    run_concurrency: int

    def override(self, options: ServingOptions | None) -> "TritonOptions":
        if options is None:
            return self
        known = {f.name for f in fields(self)}
        values = {k: v for k, v in options.as_dict().items() if k in known}
        return TritonOptions(**{**self.__dict__, **values})


@dataclass
class TritonModel:
    """One exported model folder: its versions and where it was written."""

    name: str
    versions: list[int]
    path: Path
    max_batch_size: int
    sha256: dict[int, str] = field(default_factory=dict)


def serving_options(settings: Any, info: VersionInfo) -> TritonOptions:
    """The effective options of ``info`` (settings < card ``serving:`` < model options)."""
    options = TritonOptions(
        max_batch_size=settings.max_batch_size,
        max_batch_time=settings.max_batch_time,
        max_queue=settings.max_queue,
        run_concurrency=settings.run_concurrency,
    )
    card = (info.metadata or {}).get("serving")
    if card is not None:
        options = options.override(ServingOptions.decode(card, f"{info.ref}: card 'serving'"))
    per_model = (getattr(settings, "model_options", None) or {}).get(info.model)
    return options.override(per_model)


def batchable(info: VersionInfo) -> bool:
    """Whether every input and output has a dynamic first (batch) dimension."""
    tensors = [*info.inputs, *info.outputs]
    return bool(tensors) and all(len(t.shape) >= 1 and t.shape[0] < 0 for t in tensors)


def triton_batch_size(info: VersionInfo, options: TritonOptions) -> int:
    """Triton's ``max_batch_size`` for ``info``: 0 when it cannot batch."""
    return options.max_batch_size if batchable(info) and options.max_batch_size > 0 else 0


def _tensor(spec: TensorSpec, batched: bool, where: str) -> str:
    datatype = TRITON_TYPES.get(spec.datatype)
    if datatype is None:
        raise InvalidInput(
            f"{where}: tensor {spec.name!r} has datatype {spec.datatype}, which Triton cannot carry"
        )
    dims = list(spec.shape[1:] if batched else spec.shape)
    lines = [f"    name: {json.dumps(spec.name)}", f"    data_type: {datatype}"]
    if batched and not dims:  # [batch] alone: Triton wants dims [1] reshaped to a scalar
        lines += ["    dims: [ 1 ]", "    reshape: { shape: [ ] }"]
    else:
        lines.append("    dims: [ " + ", ".join(str(d if d >= 0 else -1) for d in dims) + " ]")
    return "  {\n" + "\n".join(lines) + "\n  }"


def config_pbtxt(infos: list[VersionInfo], options: TritonOptions) -> str:
    """``config.pbtxt`` for the versions ``infos`` of one model (all with one signature)."""
    info = infos[-1]
    max_batch_size = triton_batch_size(info, options)
    batched = max_batch_size > 0
    where = info.ref
    versions = ", ".join(str(i.version) for i in infos)
    parts = [
        f"# Generated by onnxhub from {', '.join(i.ref for i in infos)}.",
        f"name: {json.dumps(info.model)}",
        f"platform: {json.dumps(PLATFORM)}",
        f"max_batch_size: {max_batch_size}",
        f"version_policy: {{ specific: {{ versions: [ {versions} ] }} }}",
        "input [\n" + ",\n".join(_tensor(t, batched, where) for t in info.inputs) + "\n]",
        "output [\n" + ",\n".join(_tensor(t, batched, where) for t in info.outputs) + "\n]",
    ]
    if batched:
        delay = round(options.max_batch_time * 1_000_000)
        parts.append(
            "dynamic_batching {\n"
            f"  max_queue_delay_microseconds: {delay}\n"
            f"  default_queue_policy: {{ max_queue_size: {options.max_queue} }}\n"
            "}"
        )
    parts.append(f"instance_group [ {{ count: {options.run_concurrency} kind: KIND_AUTO }} ]")
    return "\n".join(parts) + "\n"


def export_repository(
    hub: Any,
    directory: Path | str,
    refs: Iterable[tuple[str, int | str | None]] | None = None,
    *,
    overwrite: bool = False,
) -> list[TritonModel]:
    """Write a Triton model repository under ``directory`` for ``refs`` (model name and
    version number, alias or None for the served version; default: every catalogued model).

    Each model folder is built beside its final place and moved in whole, so a Triton server
    polling ``directory`` never sees half a model. Raises :class:`Conflict` when a model
    folder exists and ``overwrite`` is false, :class:`InvalidInput` for a model whose tensors
    Triton cannot carry or whose versions have different signatures.
    """
    root = Path(directory)
    if refs is None:
        refs = [(m.name, None) for m in hub.list_models()]
    wanted: dict[str, dict[int, VersionInfo]] = {}
    for name, ref in refs:
        info = hub.get_version(name, ref)
        wanted.setdefault(info.model, {})[info.version] = info
    if not wanted:
        raise InvalidInput("there is no model to export")
    for name in wanted:
        if (root / name).exists() and not overwrite:
            raise Conflict(f"{root / name} exists; pass --overwrite to replace it")
    exported = []
    for name, by_version in wanted.items():
        infos = [by_version[v] for v in sorted(by_version)]
        signatures = {(i.inputs, i.outputs) for i in infos}
        if len(signatures) > 1:
            raise InvalidInput(
                f"{name}: versions {', '.join(str(i.version) for i in infos)} have different "
                "inputs or outputs; one Triton model needs one signature (export them one by one)"
            )
        options = serving_options(hub.settings, infos[-1])
        text = config_pbtxt(infos, options)
        _write_model(root, name, text, {i.version: _model_writer(hub, i) for i in infos})
        exported.append(
            TritonModel(
                name=name,
                versions=[i.version for i in infos],
                path=root / name,
                max_batch_size=triton_batch_size(infos[-1], options),
                sha256={i.version: i.sha256 for i in infos},
            )
        )
    return exported


def _model_writer(hub: Any, info: VersionInfo) -> Callable[[Path], None]:
    """Writes ``info``'s files into a version folder: the graph as ``model.onnx`` (Triton's
    default name) and its external-data files beside it, streamed and sha256-verified."""
    from hub.catalog.manifest import Manifest
    from hub.catalog.model_files import download

    manifest = hub.manifest(info)
    as_triton = Manifest((replace(manifest.graph, path="model.onnx"), *manifest.data))

    def write(folder: Path) -> None:
        download(hub.artifacts, as_triton, folder, info.ref)

    return write


def _write_model(
    root: Path, name: str, config: str, writers: dict[int, Callable[[Path], None]]
) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
        try:
            (staging / "config.pbtxt").write_text(config, encoding="utf-8")
            for version, write in writers.items():
                (staging / str(version)).mkdir()
                write(staging / str(version))
            target = root / name
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=root))
                target.rename(old / name)
                staging.rename(target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    except OSError as exc:
        raise StorageError(f"cannot write the Triton repository at {root}: {exc}") from None
