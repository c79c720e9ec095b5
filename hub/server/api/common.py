"""Helpers shared by the ``/api`` handlers: the caller, the service, names, JSON bodies."""

from __future__ import annotations

import json
from typing import Any, Callable

from aiohttp import web

from hub.catalog.accounts import Principal
from hub.catalog.queries import check_alias_name, check_model_name
from hub.catalog.refs import parse_version_number
from hub.catalog.sharing import CatalogService
from hub.errors import InvalidInput, UnsupportedMediaType
from hub.server.auth import AUTH_GATE, principal_of

#: Largest JSON body a PATCH or PUT may send.
MAX_JSON_BYTES = 2 * 1024 * 1024


def caller(request: web.Request) -> Principal:
    return principal_of(request)


def service(request: web.Request) -> CatalogService:
    return request.app[AUTH_GATE].service


async def run(request: web.Request, fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking service call off the event loop."""
    return await request.app[AUTH_GATE].call(fn, *args)


def forget_access(request: web.Request, name: str) -> None:
    """Drop this server's cached access record of ``name`` after a change to it."""
    request.app[AUTH_GATE].forget(name)


def model_name(request: web.Request) -> str:
    """The ``{name}`` of the path, checked (400 for ``..``, NUL, anything but the name rule)."""
    return check_model_name(request.match_info["name"])


def alias_name(request: web.Request) -> str:
    return check_alias_name(request.match_info["alias"])


def version_number(request: web.Request) -> int:
    return parse_version_number(request.match_info["ref"])  # the one reference parser


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object (415 for another media type, 400 when malformed)."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType(
            f"expected Content-Type application/json, got {request.content_type or 'none'}"
        )
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise InvalidInput(f"JSON body over {MAX_JSON_BYTES} bytes")
    raw = await request.content.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidInput(f"JSON body over {MAX_JSON_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


def created(data: dict[str, Any]) -> web.Response:
    return web.json_response(data, status=201)
