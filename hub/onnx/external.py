"""ONNX models whose weights live in external-data files beside the graph.

A model on disk is a graph file plus the data files its tensors name, all inside one folder
(subfolders allowed). Nothing here reads a weight into memory: graphs are parsed with
``load_external_data=False``, data files are checked with ``stat`` against each tensor's
declared extent, and the ONNX checker is given the graph's *path*.

Errors are :class:`hub.errors.InvalidModelFile`, one line naming the file and the tensor.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import onnx
from onnx import ModelProto, TensorProto

from hub.errors import InvalidModelFile, first_line

#: A model whose serialized protobuf would exceed this is written with external data
#: (protobuf refuses messages of 2 GiB and more; the margin covers the graph itself).
EXTERNAL_DATA_THRESHOLD = 2**31 - 64 * 2**20
#: Name of the single data file written beside an export that needed external data.
EXPORT_DATA_FILE = "model.onnx.data"


def check_member_path(location: str, what: str = "file") -> str:
    """``location`` as a clean relative POSIX path inside a model's folder, or InvalidModelFile.

    Refused: empty, absolute, backslashes, ``.``/``..`` components, hidden components
    (starting with ``.``), NUL. Returns the normalised path (``a/b.bin``). ``what`` names the
    owner in the message (``tensor 'W'``).
    """
    if not location or "\x00" in location or "\\" in location:
        raise InvalidModelFile(
            f"{what} names the location {location!r}, not a relative path; refused"
        )
    if PurePosixPath(location).is_absolute():
        raise InvalidModelFile(
            f"{what} points outside the model's folder ({location!r}: absolute); refused"
        )
    for part in location.split("/"):
        if part in ("", ".", ".."):
            raise InvalidModelFile(
                f"{what} points outside the model's folder ({location!r}); refused"
            )
        if part.startswith("."):
            raise InvalidModelFile(
                f"{what} points at a hidden file or folder ({location!r}); refused"
            )
    return str(PurePosixPath(location))


@dataclass(frozen=True)
class ExternalTensor:
    """Where one tensor's bytes live: ``location`` (relative), ``offset``, ``length`` in bytes."""

    name: str
    location: str
    offset: int
    length: int | None
    declared: int | None  # bytes the dims and element type call for (None: variable-size type)


def _declared_bytes(tensor: TensorProto) -> int | None:
    try:
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
    except Exception:
        return None
    if dtype.kind in "OUS":
        return None
    count = int(np.prod(tensor.dims, dtype=np.int64)) if tensor.dims else 1
    if tensor.data_type in (TensorProto.INT4, TensorProto.UINT4):
        return (count + 1) // 2
    return count * dtype.itemsize


def _all_tensors(model: ModelProto):
    return onnx.external_data_helper._get_all_tensors(model)


def uses_external_data(model: ModelProto) -> bool:
    """Whether any tensor of ``model`` keeps its bytes in an external file."""
    return any(t.data_location == TensorProto.EXTERNAL for t in _all_tensors(model))


def external_tensors(model: ModelProto) -> list[ExternalTensor]:
    """Every externally stored tensor of ``model``, with its location checked as a member path."""
    found = []
    for tensor in _all_tensors(model):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        entries = {e.key: e.value for e in tensor.external_data}
        if "location" not in entries:
            raise InvalidModelFile(f"tensor {tensor.name!r} has external data without a location")
        location = check_member_path(entries["location"], f"tensor {tensor.name!r}")
        try:
            offset = int(entries.get("offset") or 0)
            length = int(entries["length"]) if entries.get("length") else None
        except ValueError:
            raise InvalidModelFile(
                f"tensor {tensor.name!r} has a non-numeric external-data offset or length"
            ) from None
        if offset < 0 or (length is not None and length < 0):
            raise InvalidModelFile(f"tensor {tensor.name!r} has a negative external-data extent")
        found.append(ExternalTensor(tensor.name, location, offset, length, _declared_bytes(tensor)))
    return found


@dataclass(frozen=True)
class ModelFiles:
    """An ONNX model on disk: ``root/graph`` plus the data files it names (relative paths).

    ``graph_bytes``: the graph to store instead of the file's bytes, when the hub changed it
    (a family's normalisation); its tensors name the same data files. ``owned`` means ``root``
    is a temporary folder this process made (see :meth:`cleanup`).
    """

    root: Path
    graph: str
    data: tuple[str, ...] = ()
    owned: bool = field(default=False, compare=False)
    graph_bytes: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def graph_path(self) -> Path:
        return self.root / self.graph

    def paths(self) -> list[tuple[str, Path]]:
        """(relative name, path on disk) of the graph, then of each data file."""
        return [(name, self.root / name) for name in (self.graph, *self.data)]

    def cleanup(self) -> None:
        """Remove ``root`` if this process created it for an export."""
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)


def check_data_files(model: ModelProto, root: Path, label: str) -> tuple[str, ...]:
    """The data files ``model`` needs inside ``root``, each checked without being read.

    A file must be a regular file inside ``root`` (symbolic links that leave it are refused)
    and long enough for every tensor stored in it (``offset + length``, and ``length`` must be
    what the tensor's dims and type declare). Raises InvalidModelFile naming file and tensor.
    """
    base = root.resolve()
    sizes: dict[str, int] = {}
    for ref in external_tensors(model):
        if ref.location not in sizes:
            path = root / ref.location
            if not path.resolve().is_relative_to(base):
                raise InvalidModelFile(
                    f"{label}: data file {ref.location} leads outside the model's folder; refused"
                )
            try:
                stat = path.stat()
            except FileNotFoundError:
                raise InvalidModelFile(
                    f"{label}: data file {ref.location} (tensor {ref.name!r}) is missing"
                ) from None
            except OSError as exc:
                raise InvalidModelFile(
                    f"{label}: cannot read data file {ref.location}: {exc.strerror}"
                ) from None
            if not path.is_file():
                raise InvalidModelFile(f"{label}: data file {ref.location} is not a regular file")
            sizes[ref.location] = stat.st_size
        length = ref.length if ref.length is not None else ref.declared
        if ref.declared is not None and length != ref.declared:
            raise InvalidModelFile(
                f"{label}: tensor {ref.name!r} declares {ref.declared} bytes but its external "
                f"data in {ref.location} is {length} bytes long"
            )
        end = ref.offset + (length or 0)
        if end > sizes[ref.location]:
            raise InvalidModelFile(
                f"{label}: data file {ref.location} is {sizes[ref.location]} bytes, shorter than "
                f"tensor {ref.name!r} needs ({end} bytes: offset {ref.offset} + {length})"
            )
    return tuple(sorted(sizes))


def read_graph(path: Path) -> ModelProto:
    """The graph of the ONNX file ``path``, external tensors left on disk."""
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise InvalidModelFile(
            f"{path.name} is not a readable ONNX model: {first_line(exc)}"
        ) from None


def model_files(graph_path: Path) -> ModelFiles:
    """The files of the ONNX model at ``graph_path``: its folder, graph name and data files."""
    model = read_graph(graph_path)
    data = check_data_files(model, graph_path.parent, graph_path.name)
    return ModelFiles(root=graph_path.parent, graph=graph_path.name, data=data)


def check_model_file(path: Path, label: str) -> None:
    """``onnx.checker`` on the *path* (so data files are located, never loaded)."""
    try:
        onnx.checker.check_model(str(path), full_check=False)
    except Exception as exc:
        raise InvalidModelFile(f"{label} fails the ONNX checker: {first_line(exc)}") from None


def structure_only(model: ModelProto) -> ModelProto:
    """A copy of ``model`` whose external initializers are graph inputs instead.

    The checker resolves external data against the current directory when given a proto, so an
    in-memory check of a model with external data checks this copy (structure, types, opsets);
    the files themselves are checked by :func:`check_data_files` and :func:`check_model_file`.
    """
    copy = ModelProto()
    copy.CopyFrom(model)
    graph = copy.graph
    external = [t for t in graph.initializer if t.data_location == TensorProto.EXTERNAL]
    declared = {v.name for v in graph.input}
    for tensor in external:
        if tensor.name not in declared:
            graph.input.append(
                onnx.helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims))
            )
        graph.initializer.remove(tensor)
    return copy


def needs_external_data(model: ModelProto, threshold: int | None = None) -> bool:
    """Whether ``model`` (all in memory) is too large to serialize as one protobuf."""
    limit = EXTERNAL_DATA_THRESHOLD if threshold is None else threshold
    return not uses_external_data(model) and model.ByteSize() > limit


def save_with_external_data(model: ModelProto, graph_name: str = "model.onnx") -> ModelFiles:
    """Write ``model`` into a new temporary folder as ``graph_name`` + one data file.

    Tensors of 1 KiB and more go to :data:`EXPORT_DATA_FILE` (``model`` itself is changed: its
    tensors now point there and hold no bytes). The folder belongs to the returned
    :class:`ModelFiles` (``owned``); call ``cleanup()`` when done.
    """
    root = Path(tempfile.mkdtemp(prefix="onnxhub-export-"))
    try:
        onnx.save_model(
            model,
            str(root / graph_name),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=EXPORT_DATA_FILE,
            size_threshold=1024,
        )
        files = model_files(root / graph_name)
    except Exception as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise InvalidModelFile(
            f"cannot write the export with external data: {first_line(exc)}"
        ) from None
    return ModelFiles(root=root, graph=files.graph, data=files.data, owned=True)
