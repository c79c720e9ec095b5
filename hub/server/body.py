"""Reading a request body under the server's limits, whatever its transfer or content encoding.

aiohttp is told not to decompress bodies (``auto_decompress=False``, see
:func:`hub.server.app.create_app`): it would do it on the event loop, without a limit on what
comes out. Here a body is read in chunks with a deadline; ``Content-Encoding: gzip``,
``x-gzip`` and ``deflate`` are inflated chunk by chunk on a worker thread, never producing more
than the limit allows; any other coding is 415. The limit (``ONNXHUB_MAX_REQUEST_BYTES``) is on
the decompressed bytes, and also on the bytes received. Over it: 413, counted in ``/metrics``
by the error middleware like any other error.
"""

from __future__ import annotations

import asyncio
import sys
import zlib
from concurrent.futures import Executor

from aiohttp import web

from hub.errors import HubError, RequestTooLarge, UnsupportedMediaType

if sys.version_info >= (3, 11):
    from asyncio import timeout as deadline
else:  # Python 3.10: the backport aiohttp itself depends on there
    from async_timeout import timeout as deadline

#: Content codings that are inflated (with the limit enforced while streaming).
INFLATED = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
CHUNK = 64 * 1024


class RequestTimeout(HubError):
    """The client did not send its body within ``ONNXHUB_BODY_TIMEOUT`` (408)."""

    status = 408


def _too_large(limit: int, what: str) -> RequestTooLarge:
    what = f" {what}" if what else ""
    return RequestTooLarge(
        f"request body{what} exceeds the limit of {limit} bytes (ONNXHUB_MAX_REQUEST_BYTES)"
    )


class _Inflater:
    """zlib decompression that never returns more than ``limit`` bytes in all."""

    def __init__(self, wbits: int, limit: int) -> None:
        self._zlib = zlib.decompressobj(wbits)
        self._limit = limit
        self._body = bytearray()  # grown in place: no second copy of the body at the end
        self.size = 0

    def feed(self, data: bytes) -> None:
        """Inflate ``data`` (blocking; run it off the event loop)."""
        zobj = self._zlib
        try:
            while data:
                # At most a chunk at a time: no second full-size copy on the way in.
                out = zobj.decompress(data, min(self._limit - self.size + 1, CHUNK * 16))
                self._take(out)
                data = zobj.unconsumed_tail
        except zlib.error as exc:
            raise UnsupportedMediaType(f"the compressed request body is corrupt: {exc}") from None

    def finish(self) -> bytearray:
        try:
            self._take(self._zlib.flush())
        except zlib.error as exc:
            raise UnsupportedMediaType(f"the compressed request body is corrupt: {exc}") from None
        if not self._zlib.eof:
            raise UnsupportedMediaType("the compressed request body is truncated")
        return self._body

    def _take(self, out: bytes) -> None:
        self.size += len(out)
        if self.size > self._limit:
            raise _too_large(self._limit, "once decompressed")
        self._body += out


async def read_body(
    request: web.Request, *, limit: int, timeout: float, executor: Executor | None
) -> bytes | bytearray:
    """The decompressed body of ``request`` (the bytes as received when the whole body came
    with the headers, else a bytearray grown in place, never copied).

    Raises RequestTooLarge (413) beyond ``limit`` bytes, received or decompressed;
    UnsupportedMediaType (415) for a content coding other than identity/gzip/deflate or a
    corrupt compressed body; RequestTimeout (408) when the body takes over ``timeout`` seconds
    (0: no limit).
    """
    coding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if coding not in INFLATED and coding not in ("", "identity"):
        raise UnsupportedMediaType(
            f"Content-Encoding {coding!r} is not accepted (use gzip, deflate or none)"
        )
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit, f"of {length} bytes")
    if coding not in INFLATED and request.content.is_eof():
        # The whole body came with the headers (every small request): take it as it is,
        # without the deadline and the chunk loop, which cost more than the read.
        body = request.content.read_nowait(-1)
        if len(body) > limit:
            raise _too_large(limit, "")
        return body
    try:
        async with deadline(timeout or None):
            if coding in INFLATED:
                return await _inflate(request, INFLATED[coding], limit, executor)
            return await _read_plain(request, limit)
    except (TimeoutError, asyncio.TimeoutError):  # distinct types before Python 3.11
        raise RequestTimeout(
            f"the request body did not arrive within {timeout:g} s (ONNXHUB_BODY_TIMEOUT)"
        ) from None


async def _read_plain(request: web.Request, limit: int) -> bytearray:
    body = bytearray()
    async for chunk in request.content.iter_chunked(CHUNK):
        if len(body) + len(chunk) > limit:
            raise _too_large(limit, "")
        body += chunk
    return body


async def _inflate(
    request: web.Request, wbits: int, limit: int, executor: Executor | None
) -> bytearray:
    loop = asyncio.get_running_loop()
    inflater = _Inflater(wbits, limit)
    received = 0
    async for chunk in request.content.iter_chunked(CHUNK):
        received += len(chunk)
        if received > limit:
            raise _too_large(limit, "")
        await loop.run_in_executor(executor, inflater.feed, chunk)
    return await loop.run_in_executor(executor, inflater.finish)
