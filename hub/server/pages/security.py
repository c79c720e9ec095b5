"""Browser sessions, CSRF tokens and security headers for the pages.

- Session: ``POST /login`` checks an API token and stores it in the ``onnxhub_session`` cookie
  (HttpOnly, SameSite=Strict, Path=/, Secure when the request came over TLS). The cookie is the
  token, so revoking the token ends the session at once; nothing else is kept on the server.
  :func:`session_to_bearer` turns the cookie into ``Authorization: Bearer`` before the auth
  middleware runs, so pages, ``/api`` and ``/v2`` see one principal.
- CSRF: a random ``onnxhub_csrf`` cookie (double submit). Every state-changing form carries it
  as ``csrf_token`` and page handlers compare it (constant time); a script's ``fetch`` to
  ``/api`` or ``/v2`` with the session cookie must send it as ``X-CSRF-Token``, or the request
  runs anonymously. SameSite=Strict already keeps both cookies off cross-site requests.
- Headers on every response: :mod:`hub.server.headers` (a strict Content-Security-Policy
  among them).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

SESSION_COOKIE = "onnxhub_session"
CSRF_COOKIE = "onnxhub_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class PageState:
    """Per-request state shared by a request and its clone (``request.clone`` copies the state
    dict shallowly, so both hold this one object)."""

    csrf: str | None = None
    new_csrf: bool = False
    session_dropped: bool = False


PAGE_STATE = web.RequestKey("onnxhub_page_state", PageState)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: Paths whose unsafe requests need the X-CSRF-Token header to act with the session cookie.
SCRIPT_PREFIXES = ("/api/", "/v2/")


def csrf_token(request: web.Request) -> str:
    """This browser's CSRF token (made on its first page; the cookie is set on the response)."""
    state = page_state(request)
    if state.csrf is None:
        token = request.cookies.get(CSRF_COOKIE, "")
        if len(token) < 32:
            token = secrets.token_urlsafe(32)
            state.new_csrf = True
        state.csrf = token
    return state.csrf


def page_state(request: web.Request) -> PageState:
    if PAGE_STATE not in request:
        request[PAGE_STATE] = PageState()
    return request[PAGE_STATE]


def csrf_matches(request: web.Request, submitted: Any) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return (
        isinstance(submitted, str)
        and len(cookie) >= 32
        and hmac.compare_digest(cookie.encode(), submitted.encode())
    )


def set_session(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
    )


def clear_session(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


def _with_bearer(request: web.Request, token: str) -> web.Request:
    headers = request.headers.copy()
    headers["Authorization"] = f"Bearer {token}"
    return request.clone(headers=headers)


async def session_to_bearer(request: web.Request, handler: Any) -> web.StreamResponse:
    """Act with the session cookie's token where a browser may (see the module docstring).

    A page whose cookie holds a token the server refuses (revoked, expired) is served
    anonymously and the cookie is dropped, instead of a JSON 401.
    """
    state = page_state(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token or "Authorization" in request.headers:
        return await handler(request)
    scripted = request.path.startswith(SCRIPT_PREFIXES)
    if scripted and request.method not in SAFE_METHODS:
        if not csrf_matches(request, request.headers.get(CSRF_HEADER)):
            return await handler(request)
    response = await handler(_with_bearer(request, token))
    if response.status == 401 and not scripted:
        state.session_dropped = True
        response = await handler(request)
        clear_session(response)
    return response


def set_csrf_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Give this browser the CSRF cookie if :func:`csrf_token` just made its token."""
    state = request.get(PAGE_STATE)
    if state is not None and state.new_csrf and state.csrf:
        response.set_cookie(
            CSRF_COOKIE,
            state.csrf,
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            path="/",
        )
