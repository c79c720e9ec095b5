"""JSON responses: one content type (``application/json``) for every JSON body, errors included.

Some clients compare the content type exactly (kserve's ``InferenceRESTClient`` reads the
``error`` field only for ``application/json``), so no ``charset`` parameter is added: JSON is
UTF-8 by definition (RFC 8259).
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

JSON = "application/json"
_ENCODER = msgspec.json.Encoder()


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """``data`` encoded by msgspec, with ``Content-Type: application/json``."""
    response = web.Response(body=_ENCODER.encode(data), status=status, headers=headers)
    response.content_type = JSON
    return response


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    """``{"error": message, ...extra}`` with ``status``."""
    return json_response({"error": message, **extra}, status=status, headers=headers)
