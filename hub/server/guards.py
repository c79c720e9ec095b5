"""Refusing cross-site requests and DNS rebinding before any handler runs.

- ``Host``: a connection that arrived on a loopback address is answered only for the loopback
  names (``localhost``, ``127.0.0.1``, ``::1``), so a web page whose name was re-pointed at
  127.0.0.1 (DNS rebinding) cannot read or drive a local server. ``ONNXHUB_ALLOWED_HOSTS``
  replaces that list for every connection (the names a reverse proxy sends; ``*``: any).
- State-changing methods (POST, PUT, PATCH, DELETE): a browser's ``Origin`` must be the
  server's own or one of ``ONNXHUB_ALLOWED_ORIGINS`` (403 otherwise; ``Origin: null`` too),
  and a body must be ``application/json`` or ``application/octet-stream`` (415 otherwise;
  ``multipart/form-data`` too under ``/api/`` for uploads), unless it comes with an allowed
  ``Origin`` (the server's own pages post forms, guarded by their CSRF tokens). A page can send
  ``text/plain`` or form bodies anywhere without a CORS preflight; from another site they
  carry its ``Origin`` and are refused, and without one they are not from a browser form.
  Clients that are not browsers send no ``Origin`` and are unaffected.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from hub.errors import Forbidden, UnsupportedMediaType

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_TYPES = frozenset({"application/json", "application/octet-stream"})
UPLOAD_TYPES = frozenset({"multipart/form-data"})
HEALTH_PREFIX = "/v2/health/"
#: The web pages' own forms (hub.server.pages): each carries a CSRF token its handler checks.
PAGE_FORM_TYPES = frozenset({"application/x-www-form-urlencoded"})


@functools.lru_cache(maxsize=256)
def host_name(host: str) -> str:
    """``"[::1]:8080"`` -> ``"::1"``, ``"Example.com.:80"`` -> ``"example.com"`` (cached: a
    server sees few distinct Host values, and a flood of new ones only cycles the cache)."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple) or not address:
        return False  # a Unix socket: only local processes reach it
    return _loopback_host(str(address[0]))


@functools.lru_cache(maxsize=64)
def _loopback_host(host: str) -> bool:
    """Cached: the addresses are the server's own listening ones, parsed once, not per request."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=8)
def _names(allowed: tuple[str, ...]) -> frozenset[str]:
    return frozenset(host_name(h) for h in allowed)


def check_host(request: web.Request, allowed: tuple[str, ...]) -> None:
    """Forbidden (403) when ``request``'s Host is not one this server answers for."""
    name = host_name(request.headers.get("Host", ""))
    if allowed:
        if "*" in allowed or name in _names(allowed):
            return
    else:
        transport = request.transport
        local = transport.get_extra_info("sockname") if transport is not None else None
        if not _is_loopback(local) or name in LOOPBACK_NAMES:
            return
    raise Forbidden(
        f"Host {name!r} is not served here; set ONNXHUB_ALLOWED_HOSTS to the names this "
        "server is reached by"
    )


def check_origin(request: web.Request, allowed: tuple[str, ...]) -> None:
    """Forbidden (403) for a state-changing request from a foreign browser origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    origin = origin.strip()
    if origin.rstrip("/") in {o.rstrip("/") for o in allowed}:
        return
    parts = urlsplit(origin)
    own = request.headers.get("Host", "").strip().lower()
    if parts.scheme in ("http", "https") and parts.netloc.lower() == own and own:
        return
    raise Forbidden(
        f"{request.method} from origin {origin!r} is refused (cross-site); allow it with "
        "ONNXHUB_ALLOWED_ORIGINS"
    )


def check_body_type(request: web.Request) -> None:
    """UnsupportedMediaType (415) for a state-changing body of a type a web form can send."""
    if not request.body_exists:
        return
    raw = request.headers.get("Content-Type")
    if raw is None:
        return  # not something a browser sends with a body; non-browser clients may omit it
    if raw in BODY_TYPES:
        return  # the usual exact value, without parsing it
    kind = request.content_type
    if kind in BODY_TYPES or (kind in UPLOAD_TYPES and request.path.startswith("/api/")):
        return
    if "Origin" in request.headers:
        return  # a browser form from this server's own pages: check_origin has passed it
    if kind in PAGE_FORM_TYPES and not request.path.startswith(("/api/", "/v2/")):
        return
    raise UnsupportedMediaType(
        f"a {request.method} body of type {kind!r} is refused; send application/json or "
        "application/octet-stream"
    )


def guard(
    request: web.Request, allowed_hosts: tuple[str, ...], allowed_origins: tuple[str, ...]
) -> None:
    """All of the checks above, in order (Host first: it applies to every method, except on
    the health routes, which orchestrators probe by address and which reveal nothing)."""
    if not request.path.startswith(HEALTH_PREFIX):
        check_host(request, allowed_hosts)
    if request.method in STATE_CHANGING:
        check_origin(request, allowed_origins)
        check_body_type(request)
