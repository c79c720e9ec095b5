"""Sending a stored file of a version: ``ETag`` (the quoted sha256), ``If-None-Match`` (304),
a single ``Range`` (206, 416 when unsatisfiable; ignored when ``If-Range`` names another
ETag), ``HEAD``; the body streams from the artifact
store's local file in chunks, so a multi-GB weight file never sits in memory."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import BinaryIO, Callable

from aiohttp import web

from hub.catalog.sharing import Blob
from hub.server.api.common import run, service
from hub.server.headers import finish_headers

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: Bytes read from disk and written to the socket at a time (1 MiB).
CHUNK = 1024 * 1024


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (or ``*``); weak tags compare equal."""
    if not header:
        return False
    candidates = [c.strip() for c in header.split(",")]
    return "*" in candidates or any(c.removeprefix("W/") == etag for c in candidates)


class Unsatisfiable(Exception):
    """A ``Range`` that selects no byte of the file (416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single ``bytes=`` range; None to send everything.
    An unsatisfiable range raises :class:`Unsatisfiable` (416)."""
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
            raise Unsatisfiable()
        return max(0, size - length), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or start > end:
        raise Unsatisfiable()
    return start, end


def _header_safe(name: str) -> str:
    return "".join(c if c.isprintable() and c not in '"\\' else "_" for c in name)


async def send_blob(
    request: web.Request,
    blob: Blob,
    filename: str,
    count_download: Callable[[], None] | None = None,
) -> web.StreamResponse:
    """The response for ``blob``; ``count_download`` runs (off the loop) before a full GET."""
    etag = f'"{blob.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=0, must-revalidate",
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{_header_safe(Path(filename).name)}"',
    }
    if etag_matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers={"ETag": etag})
    ranged = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        ranged = None  # the client's partial copy is of other bytes: send them all (RFC 9110)
    try:
        span = byte_range(ranged, blob.size)
    except Unsatisfiable:
        return web.json_response(
            {"error": f"range not satisfiable: the file has {blob.size} bytes"},
            status=416,
            headers={"Content-Range": f"bytes */{blob.size}"},
        )
    if request.method == "HEAD":
        return web.Response(headers={**headers, "Content-Length": str(blob.size)})
    # a remote store fetches the blob into its verified local cache here
    path: Path = await run(request, service(request).hub.artifacts.path, blob.sha256)
    start, end = span if span is not None else (0, blob.size - 1)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    elif count_download is not None:
        await run(request, count_download)
    headers["Content-Length"] = str(end - start + 1)
    response = web.StreamResponse(status=status, headers=headers)
    finish_headers(response)
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    handle: BinaryIO = await loop.run_in_executor(None, open, path, "rb")
    try:
        await loop.run_in_executor(None, handle.seek, start)
        left = end - start + 1
        while left > 0:
            block = await loop.run_in_executor(None, handle.read, min(CHUNK, left))
            if not block:
                break  # the blob shrank under us: the client's sha256 check catches it
            await response.write(block)
            left -= len(block)
    finally:
        await loop.run_in_executor(None, handle.close)
    await response.write_eof()
    return response
