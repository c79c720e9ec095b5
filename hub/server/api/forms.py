"""The ``multipart/form-data`` body of ``POST /api/models/{name}/versions``.

Parts: ``model`` (ONNX bytes, required), ``test_data`` (``.npz`` as onnxhub writes it),
``card`` (Markdown with YAML front matter), ``metadata`` (a JSON object, fields below), and,
for a model whose weights are external data, one ``data`` part per data file, its file name
the path the graph gives it (``weights/w0.bin``). The body is read part by part with a running
byte count, so an upload over the limit is refused (413) as soon as it passes it. Data parts
stream to a private staging folder (the graph is written beside them as ``model.onnx``), which
the caller removes (:func:`discard`); nothing else is written until every part has been read
and checked.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from hub.catalog.sharing import UploadMetadata
from hub.errors import HubError, InvalidInput, RequestTooLarge, UnsupportedMediaType
from hub.export.received import looks_like_pickle
from hub.onnx.external import check_member_path

PARTS = ("model", "test_data", "card", "metadata", "data")
#: The graph's name in the staging folder of an upload with data files.
GRAPH_NAME = "model.onnx"
METADATA_FIELDS = {
    "tags": "list",
    "task": "str",
    "license": "str",
    "description": "str",
    "alias": "str",
    "family": "str",
    "framework": "str",
    "framework_version": "str",
    "library": "str",
    "label_outputs": "list",
    "parity": "dict",
    "provenance": "dict",
    "private": "bool",
    "latent_input": "str",
}
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Upload:
    model: bytes
    test_data: bytes | None
    card: str | None
    metadata: UploadMetadata
    #: The staging folder (graph and data files) when the upload had ``data`` parts.
    folder: Path | None = None

    @property
    def source(self) -> bytes | Path:
        """What the catalog checks: the bytes, or the staged graph's path."""
        return self.model if self.folder is None else self.folder / GRAPH_NAME


def discard(upload: Upload | None) -> None:
    """Remove an upload's staging folder (its files were stored or refused)."""
    if upload is not None and upload.folder is not None:
        shutil.rmtree(upload.folder, ignore_errors=True)


def json_object_part(raw: bytes, name: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """Part ``name`` as a JSON object whose keys are all among ``fields``; 400 otherwise."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"part {name!r} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"part {name!r} must be a JSON object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InvalidInput(
            f"part {name!r} has unknown field(s) {', '.join(unknown)} (fields: {', '.join(fields)})"
        )
    return data


def parse_metadata(raw: bytes) -> UploadMetadata:
    """The ``metadata`` part: a JSON object of known fields, each of the right type."""
    data = json_object_part(raw, "metadata", tuple(METADATA_FIELDS))
    for key, kind in METADATA_FIELDS.items():
        value = data.get(key)
        if value is None:
            continue
        if kind == "str" and not (isinstance(value, str) and 0 < len(value) <= 10_000):
            raise InvalidInput(f"metadata field {key!r} must be a non-empty string")
        if kind == "str" and "\x00" in value:
            raise InvalidInput(f"metadata field {key!r} must not contain NUL characters")
        if kind == "list" and not (
            isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        ):
            raise InvalidInput(f"metadata field {key!r} must be a list of strings")
        if kind == "dict" and not isinstance(value, dict):
            raise InvalidInput(f"metadata field {key!r} must be a JSON object")
        if kind == "bool" and not isinstance(value, bool):
            raise InvalidInput(f"metadata field {key!r} must be true or false")
    return UploadMetadata(
        tags=tuple(data.get("tags") or ()),
        task=data.get("task"),
        license=data.get("license"),
        description=data.get("description"),
        alias=data.get("alias"),
        family=data.get("family") or "onnx",
        framework=data.get("framework") or "onnx",
        framework_version=data.get("framework_version") or "",
        library=data.get("library"),
        label_outputs=tuple(data.get("label_outputs") or ()),
        client_parity=data.get("parity"),
        provenance=data.get("provenance"),
        private=data.get("private"),
        latent_input=data.get("latent_input"),
    )


async def _read_part(part: Any, budget: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await part.read_chunk(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > budget:
            raise RequestTooLarge(f"upload exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _stream_part(part: Any, target: Path, budget: int, limit: int) -> int:
    """Write a part to ``target`` (a new file) chunk by chunk; the bytes written."""
    size = 0
    with open(target, "xb") as handle:
        while True:
            chunk = await part.read_chunk(CHUNK)
            if not chunk:
                return size
            size += len(chunk)
            if size > budget:
                raise RequestTooLarge(f"upload exceeds the limit of {limit} bytes")
            await asyncio.get_running_loop().run_in_executor(None, handle.write, chunk)


def _data_target(folder: Path, filename: str | None, seen: set[str]) -> Path:
    if not filename:
        raise InvalidInput("part 'data' needs a file name: the path the graph gives the file")
    try:
        member = check_member_path(filename, "part 'data'")
    except HubError as exc:
        raise InvalidInput(exc.message) from None
    if member in seen or member == GRAPH_NAME:
        raise InvalidInput(f"part 'data' names the file {member!r} more than once")
    seen.add(member)
    target = folder / member
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


@dataclass
class Form:
    """The parts of a multipart body as read: bytes, file names and media types by part name,
    and the staging folder holding the ``data`` parts (None when there were none)."""

    parts: dict[str, bytes]
    filenames: dict[str, str | None]
    media: dict[str, str | None]
    folder: Path | None = None


def check_request(request: web.Request, limit: int) -> None:
    """415 unless the body is ``multipart/form-data``; 413 when its declared length passes
    ``limit``."""
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType(
            f"expected Content-Type multipart/form-data, got {request.content_type or 'none'}"
        )
    if request.content_length is not None and request.content_length > limit:
        raise RequestTooLarge(
            f"upload of {request.content_length} bytes exceeds the limit of {limit} bytes"
        )


async def read_form(
    request: web.Request, limit: int, names: tuple[str, ...], staging: Path | None = None
) -> Form:
    """Every part of the body, each named in ``names`` and given once (400 otherwise), all
    together at most ``limit`` bytes (413). ``data`` parts (when ``names`` has it) go to a new
    folder under ``staging`` (400 when None: not accepted); the caller removes that folder,
    which is removed here when reading fails."""
    check_request(request, limit)
    form = Form(parts={}, filenames={}, media={})
    budget = limit
    data_files: set[str] = set()
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise InvalidInput("nested multipart bodies are not accepted")
            name = part.name
            if name not in names:
                raise InvalidInput(f"unknown part {name!r} (parts: {', '.join(names)})")
            if name == "data":
                if staging is None:
                    raise InvalidInput("part 'data' is not accepted on this route")
                if form.folder is None:
                    staging.mkdir(parents=True, exist_ok=True)
                    form.folder = Path(tempfile.mkdtemp(prefix="upload-", dir=staging))
                target = _data_target(form.folder, part.filename, data_files)
                budget -= await _stream_part(part, target, budget, limit)
                continue
            if name in form.parts:
                raise InvalidInput(f"part {name!r} is given more than once")
            data = await _read_part(part, budget, limit)
            budget -= len(data)
            form.parts[name] = data
            form.filenames[name] = part.filename
            form.media[name] = part.headers.get("Content-Type")
    except BaseException as exc:
        if form.folder is not None:
            shutil.rmtree(form.folder, ignore_errors=True)
        malformed = (ValueError, AssertionError, KeyError, RuntimeError, HttpProcessingError)
        if isinstance(exc, malformed) and not isinstance(exc, HubError):
            raise InvalidInput(f"malformed multipart body: {exc}") from None
        raise
    return form


def model_and_card(form: Form) -> tuple[bytes, str | None]:
    """The required ``model`` part (415 for a pickle, never loaded) and the optional ``card``
    part decoded as UTF-8; 400 naming the part otherwise."""
    parts = form.parts
    if "model" not in parts:
        raise InvalidInput("part 'model' (the ONNX file) is required")
    model = parts["model"]
    if looks_like_pickle(model, form.filenames.get("model"), form.media.get("model")):
        raise UnsupportedMediaType(
            "part 'model' is a pickle/joblib file: over HTTP only ONNX is accepted, "
            "and the upload was not loaded"
        )
    card = None
    if "card" in parts:
        try:
            card = parts["card"].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("part 'card' must be UTF-8 Markdown") from None
    return model, card


async def read_upload(request: web.Request, limit: int, staging: Path | None = None) -> Upload:
    """Every part of the upload, checked for shape (not content): 400 naming the part.
    ``data`` parts go to a new folder under ``staging`` (400 when None: not accepted); the
    folder is removed here when reading fails, else by :func:`discard`."""
    form = await read_form(request, limit, PARTS, staging)
    try:
        return _checked(form)
    except BaseException:
        if form.folder is not None:
            shutil.rmtree(form.folder, ignore_errors=True)
        raise


def _checked(form: Form) -> Upload:
    model, card = model_and_card(form)
    parts = form.parts
    metadata = parse_metadata(parts["metadata"]) if "metadata" in parts else UploadMetadata()
    if form.folder is not None:
        (form.folder / GRAPH_NAME).write_bytes(model)
    return Upload(
        model=model,
        test_data=parts.get("test_data"),
        card=card,
        metadata=metadata,
        folder=form.folder,
    )
