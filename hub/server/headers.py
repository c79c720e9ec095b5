"""The headers every response carries, whichever route or library wrote it.

A strict ``Content-Security-Policy`` (scripts and styles only from this server's ``/static/``,
no inline script, no framing), ``X-Content-Type-Options``, ``Referrer-Policy`` and
``X-Frame-Options``; and a bare ``application/json`` content type for JSON (aiohttp's
``json_response`` adds ``; charset=utf-8``, which kserve's client does not accept).
:func:`hub.server.front.front` calls :func:`finish_headers` on every response a handler
returns or an error becomes; a handler that prepares its own stream calls it first.
"""

from __future__ import annotations

from typing import Mapping

from aiohttp import web
from multidict import CIMultiDict

from hub.server.responses import JSON

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
#: The security header whose presence says a handler has set them all (nothing else sets it).
_MARKER = "X-Content-Type-Options"
_SECURITY = CIMultiDict(SECURITY_HEADERS)
#: A JSON response's headers with the security headers already in (aiohttp copies them).
SECURED_JSON: CIMultiDict[str] = CIMultiDict({**SECURITY_HEADERS, "Content-Type": JSON})


def secured(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """``headers`` plus the security headers, for a hot path's ``web.Response``: building them
    in one multidict costs less than :func:`finish_headers` adding them one by one."""
    out = _SECURITY.copy()
    out.update(headers)
    return out


def finish_headers(response: web.StreamResponse) -> None:
    """The security headers and a bare JSON content type on ``response`` (not yet prepared)."""
    headers = response.headers
    if _MARKER not in headers:  # else they came with the response (see secured)
        for key, value in SECURITY_HEADERS.items():
            headers.setdefault(key, value)
    if headers.get("Content-Type", "").startswith("application/json;"):
        headers["Content-Type"] = JSON
