"""The request front: the one middleware every request passes, and the headers every response gets.

In order, for each request:

1. **Errors**: every failure becomes ``{"error": ...}`` with the status its exception carries
   (:func:`render_error`); an unexpected exception is a 500 that names only an ``error_id``,
   logged with its traceback. A client that went away before its body was read is no error
   (debug log only, nothing counted).
2. **Cross-site guard**: foreign ``Host``, foreign ``Origin`` and form-type bodies
   (:mod:`hub.server.guards`).
3. **Session**: a browser's session cookie stands for ``Authorization: Bearer``
   (:func:`hub.server.pages.security.session_to_bearer`), only when the request carries one.
4. **Authentication and model access** (:func:`hub.server.auth.check_access`), decided
   without a coroutine in the common case (anonymous caller, cached access).

One middleware instead of one per stage: aiohttp wraps the handler in a coroutine layer per
middleware (plus one of its own per middleware list), and on a one-row inference request those
layers were a measurable share of the server's CPU (bench/RESULTS.md, issue 15).

Then every response gets the headers of :mod:`hub.server.headers`
(:func:`~hub.server.headers.finish_headers`). Not an ``on_response_prepare`` hook: aiohttp
runs a signal's receivers as coroutines on every response.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from aiohttp import web

from hub.errors import HubError, RequestTooLarge, Unauthorized, Unavailable
from hub.server.auth import CHALLENGE, check_access
from hub.server.guards import guard
from hub.server.headers import finish_headers
from hub.server.keys import METRICS, SETTINGS
from hub.server.pages.security import SESSION_COOKIE, session_to_bearer
from hub.server.responses import error_response

log = logging.getLogger(__name__)
CLIENT_CLOSED_REQUEST = 499


def render_error(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The JSON error response for ``exc`` (re-raised when it is an HTTP redirect)."""
    headers = None
    if isinstance(exc, HubError):
        status, message = exc.status, exc.message
        if isinstance(exc, Unavailable):
            headers = {"Retry-After": str(max(1, round(exc.retry_after or 1)))}
        elif isinstance(exc, Unauthorized):
            headers = CHALLENGE
    elif isinstance(exc, web.HTTPRequestEntityTooLarge):
        limit = request.app[SETTINGS].max_request_bytes
        status = 413
        message = RequestTooLarge(f"request body exceeds the limit of {limit} bytes").message
    elif isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        status, message = exc.status, exc.reason
    else:
        error_id = uuid.uuid4().hex[:12]
        log.error(
            "unhandled error %s on %s %s",
            error_id,
            request.method,
            request.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        request.app[METRICS].observe_error(500)
        return error_response(
            500, f"internal error (id {error_id}, in the server log)", error_id=error_id
        )
    request.app[METRICS].observe_error(status)
    return error_response(status, message, headers)


def _has_session(request: web.Request) -> bool:
    return "Cookie" in request.headers and SESSION_COOKIE in request.cookies


@web.middleware
async def front(request: web.Request, handler: Any) -> web.StreamResponse:
    """Stages 1-4 of the module docstring around ``handler``, then the response's headers."""
    try:
        settings = request.app[SETTINGS]
        guard(request, settings.allowed_hosts, settings.allowed_origins)
        if _has_session(request):

            async def authorized(request: web.Request) -> web.StreamResponse:
                return await _authorized(request, handler)

            response = await session_to_bearer(request, authorized)
        else:
            pending = check_access(request)
            if pending is not None:
                await pending
            response = await handler(request)
    except Exception as exc:  # noqa: BLE001 - every failure is rendered, see render_error
        if isinstance(exc, ConnectionError) and _client_gone(request):
            # Nobody to answer (aiohttp drops what is written to a closed connection); no
            # error logged or counted. 499 is nginx's "client closed request".
            log.debug("client gone during %s %s: %s", request.method, request.path, exc)
            return web.Response(status=CLIENT_CLOSED_REQUEST)
        if isinstance(exc, web.HTTPException) and exc.status < 400:
            finish_headers(exc)  # a redirect: aiohttp answers with the exception's headers
            raise
        response = render_error(request, exc)
    if not response.prepared:  # streams (events, downloads) call finish_headers themselves
        finish_headers(response)
    return response


async def _authorized(request: web.Request, handler: Any) -> web.StreamResponse:
    """:func:`check_access`, then ``handler``; a refused token is a 401 *response* here, which
    :func:`session_to_bearer` reads to serve a page anonymously instead."""
    try:
        pending = check_access(request)
        if pending is not None:
            await pending
        return await handler(request)
    except Unauthorized as exc:
        return render_error(request, exc)


def _client_gone(request: web.Request) -> bool:
    """Whether the client closed its connection (its body cannot be read, no answer sent)."""
    transport = request.transport
    return transport is None or transport.is_closing()


def install_front(app: web.Application) -> None:
    """Add :func:`front` to ``app`` (before it starts)."""
    app.middlewares.append(front)
