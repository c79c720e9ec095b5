"""Versions over HTTP: upload, read, delete, download (``ETag``, ``If-None-Match``, ``Range``),
and aliases (``PUT``/``DELETE /api/models/{name}/aliases/{alias}``)."""

from __future__ import annotations

import re

from aiohttp import web

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
from hub.server.api.forms import read_upload
from hub.server.keys import SETTINGS

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
FILES = {"model.onnx": "model", "test_data.npz": "test_data"}


def _ref(request: web.Request) -> str:
    ref = request.match_info["ref"]
    if "\x00" in ref or len(ref) > 100:
        raise InvalidInput(f"invalid version reference {ref!r}")
    return ref


async def publish_version(request: web.Request) -> web.Response:
    name = model_name(request)
    upload = await read_upload(request, request.app[SETTINGS].max_request_bytes)
    result = await run(
        request,
        service(request).publish_received,
        caller(request),
        name,
        upload.model,
        upload.test_data,
        upload.card,
        upload.metadata,
    )
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


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [c.strip() for c in header.split(",")]
    return "*" in candidates or any(c.removeprefix("W/") == etag for c in candidates)


class _Unsatisfiable(Exception):
    pass


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single ``bytes=`` range; None to send everything.
    An unsatisfiable range raises :class:`_Unsatisfiable` (416)."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: RFC 9110 lets us send the whole body
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0:
            raise _Unsatisfiable()
        return max(0, size - length), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or start > end:
        raise _Unsatisfiable()
    return start, end


async def download(request: web.Request) -> web.StreamResponse:
    name = model_name(request)
    kind = FILES[request.match_info["file"]]
    svc = service(request)
    blob: Blob = await run(request, svc.blob, caller(request), name, _ref(request), kind)
    etag = f'"{blob.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=0, must-revalidate",
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{request.match_info["file"]}"',
    }
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers={"ETag": etag})
    try:
        span = _byte_range(request.headers.get("Range"), blob.size)
    except _Unsatisfiable:
        return web.json_response(
            {"error": f"range not satisfiable: the file has {blob.size} bytes"},
            status=416,
            headers={"Content-Range": f"bytes */{blob.size}"},
        )
    if request.method == "HEAD":
        return web.Response(headers={**headers, "Content-Length": str(blob.size)})
    data: bytes = await run(request, svc.hub.artifacts.read, blob.sha256)
    if span is not None:
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
        return web.Response(status=206, body=data[start : end + 1], headers=headers)
    if kind == "model":
        await run(request, svc.count_download, name, blob.version)
    return web.Response(body=data, headers=headers)


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
