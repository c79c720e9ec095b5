"""Versions over HTTP: upload, read, delete, download (``ETag``, ``If-None-Match``, ``Range``;
``model.onnx``, ``test_data.npz`` and every file of the manifest under ``files/{path}``),
and aliases (``PUT``/``DELETE /api/models/{name}/aliases/{alias}``)."""

from __future__ import annotations

import asyncio
from functools import partial

from aiohttp import web

from hub.catalog.manifest import GRAPH
from hub.catalog.sharing import Blob
from hub.errors import InvalidInput
from hub.server.api.common import (
    alias_name,
    caller,
    created,
    json_object,
    model_name,
    run,
    service,
    version_number,
)
from hub.server.api.file_responses import send_blob
from hub.server.api.forms import discard, read_upload
from hub.server.keys import SETTINGS

FILES = {"model.onnx": "model", "test_data.npz": "test_data"}


def _ref(request: web.Request) -> str:
    ref = request.match_info["ref"]
    if "\x00" in ref or len(ref) > 100:
        raise InvalidInput(f"invalid version reference {ref!r}")
    return ref


async def publish_version(request: web.Request) -> web.Response:
    name = model_name(request)
    settings = request.app[SETTINGS]
    upload = await read_upload(request, settings.max_request_bytes, settings.home / "uploads")
    try:
        result = await run(
            request,
            service(request).publish_received,
            caller(request),
            name,
            upload.source,
            upload.test_data,
            upload.card,
            upload.metadata,
        )
    finally:
        await asyncio.get_running_loop().run_in_executor(None, discard, upload)
    return created(result)


async def get_version(request: web.Request) -> web.Response:
    name = model_name(request)
    result = await run(request, service(request).get_version, caller(request), name, _ref(request))
    return web.json_response(result)


async def delete_version(request: web.Request) -> web.Response:
    name = model_name(request)
    number = version_number(request)
    result = await run(request, service(request).delete_version, caller(request), name, number)
    return web.json_response(result)


async def download(request: web.Request) -> web.StreamResponse:
    """``model.onnx`` (the graph) or ``test_data.npz``; a full GET of the graph counts one
    download."""
    name = model_name(request)
    file = request.match_info["file"]
    svc = service(request)
    blob: Blob = await run(request, svc.blob, caller(request), name, _ref(request), FILES[file])
    counted = None
    if FILES[file] == "model":
        counted = partial(svc.count_download, name, blob.version)
    return await send_blob(request, blob, file, counted)


async def download_file(request: web.Request) -> web.StreamResponse:
    """``files/{path}``: one file of the version's manifest (graph or external data), by the
    path the manifest gives it; a full GET of the graph counts one download."""
    name = model_name(request)
    path = request.match_info["path"]
    if "\x00" in path or len(path) > 1000:
        raise InvalidInput(f"invalid file path {path!r}")
    svc = service(request)
    blob: Blob = await run(request, svc.version_file, caller(request), name, _ref(request), path)
    counted = None
    if blob.role == GRAPH:
        counted = partial(svc.count_download, name, blob.version)
    return await send_blob(request, blob, path, counted)


async def put_alias(request: web.Request) -> web.Response:
    name, alias = model_name(request), alias_name(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"version"})
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)} (fields: version)")
    if "version" not in body:
        raise InvalidInput("field 'version' is required")
    result = await run(
        request, service(request).set_alias, caller(request), name, alias, body["version"]
    )
    return web.json_response(result)


async def delete_alias(request: web.Request) -> web.Response:
    name, alias = model_name(request), alias_name(request)
    await run(request, service(request).delete_alias, caller(request), name, alias)
    return web.Response(status=204)
