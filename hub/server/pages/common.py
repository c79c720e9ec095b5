"""What every page handler shares: rendering with the caller and CSRF token, HTML error pages,
CSRF checks on forms, redirects that stay on this server."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from hub.catalog.accounts import Principal
from hub.errors import Forbidden, HubError
from hub.server.auth import principal_of
from hub.server.pages.security import (
    CSRF_FIELD,
    csrf_matches,
    csrf_token,
    page_state,
    set_csrf_cookie,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def caller(request: web.Request) -> Principal:
    return principal_of(request)


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """Render ``template`` with the caller, the CSRF token and the current path added."""
    principal = caller(request)
    full = {
        "user": principal.user,
        "can_write": principal.user is not None and principal.has_scope("write"),
        "is_admin": principal.admin,
        "csrf_token": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "path": request.path_qs,
        "session_dropped": page_state(request).session_dropped,
        **context,
    }
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers["Cache-Control"] = "no-store"
    set_csrf_cookie(request, response)
    return response


def page(handler: Handler) -> Handler:
    """Render a HubError as an HTML error page with its status (a private model is the same
    404 page as an unknown one)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except HubError as exc:
            return render(
                request, "error.html", {"status": exc.status, "message": exc.message}, exc.status
            )

    return wrapped


async def checked_form(request: web.Request) -> dict[str, str]:
    """The posted form, after its CSRF token matched this browser's (403 otherwise)."""
    data = await request.post()
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    if not csrf_matches(request, form.get(CSRF_FIELD)):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page and retry")
    return form


def local_target(raw: str | None, default: str = "/") -> str:
    """``raw`` if it is a path on this server (no scheme, no host, no ``//``), else ``default``."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return default
    return raw


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location=local_target(location))
