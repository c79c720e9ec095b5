"""Contributions under ``/api``: ``GET|POST /api/models/{name}/contributions``,
``GET .../contributions/{id}``, ``POST .../contributions/{id}/approve`` and ``.../reject``.

``POST`` takes the multipart body of ``POST .../versions`` (parts ``model``, ``test_data``,
``card``, ``metadata``) plus an optional ``contribution`` part: a JSON object with ``title``,
``description`` and ``signature_change`` (the reason, when the signature changes on purpose).
The answer is 201 with the stored contribution, its status ``open`` and its ``checks``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.catalog.community import ContributionUpload
from hub.errors import InvalidInput
from hub.server.api.common import caller, created, json_object, model_name, run
from hub.server.api.community import community, positive_int
from hub.server.api.forms import json_object_part, model_and_card, parse_metadata, read_form
from hub.server.keys import SETTINGS

PARTS = ("model", "test_data", "card", "metadata", "contribution")
CONTRIBUTION_FIELDS = ("title", "description", "signature_change")


def _contribution_part(raw: bytes) -> dict[str, Any]:
    data = json_object_part(raw, "contribution", CONTRIBUTION_FIELDS)
    for key, value in data.items():
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"contribution field {key!r} must be a string")
    return data


async def read_contribution(request: web.Request, limit: int) -> ContributionUpload:
    """The multipart body, checked for shape; 400 naming the part, 413 over ``limit``, 415 for
    a pickle (never loaded)."""
    form = await read_form(request, limit, PARTS)
    model, card = model_and_card(form)
    parts = form.parts
    meta = parse_metadata(parts["metadata"]) if "metadata" in parts else None
    text = _contribution_part(parts["contribution"]) if "contribution" in parts else {}
    return ContributionUpload(
        model=model,
        test_data=parts.get("test_data"),
        card=card,
        title=text.get("title"),
        description=text.get("description") or (meta.description if meta else None),
        signature_change=text.get("signature_change"),
        family=meta.family if meta else "onnx",
        framework=meta.framework if meta else "onnx",
        framework_version=meta.framework_version if meta else "",
        library=meta.library if meta else None,
        task=meta.task if meta else None,
        label_outputs=meta.label_outputs if meta else (),
    )


async def open_contribution(request: web.Request) -> web.Response:
    name = model_name(request)
    upload = await read_contribution(request, request.app[SETTINGS].max_request_bytes)
    svc = community(request)
    return created(await run(request, svc.open_contribution, caller(request), name, upload))


async def list_contributions(request: web.Request) -> web.Response:
    name = model_name(request)
    unknown = sorted(set(request.query) - {"status"})
    if unknown:
        raise InvalidInput(f"unknown query parameter(s) {', '.join(unknown)}")
    svc = community(request)
    rows = await run(
        request, svc.list_contributions, caller(request), name, request.query.get("status")
    )
    return web.json_response({"contributions": rows})


def _number(request: web.Request) -> int:
    return positive_int(request.match_info["id"], "contribution id")


async def get_contribution(request: web.Request) -> web.Response:
    name = model_name(request)
    svc = community(request)
    return web.json_response(
        await run(request, svc.get_contribution, caller(request), name, _number(request))
    )


async def _optional_json(request: web.Request, fields: tuple[str, ...]) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    body = await json_object(request)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)} (fields: {', '.join(fields)})")
    return body


async def approve(request: web.Request) -> web.Response:
    name = model_name(request)
    number = _number(request)
    body = await _optional_json(request, ("alias", "comment"))
    svc = community(request)
    result = await run(
        request,
        svc.approve,
        caller(request),
        name,
        number,
        body.get("alias"),
        body.get("comment"),
    )
    return web.json_response(result)


async def reject(request: web.Request) -> web.Response:
    name = model_name(request)
    number = _number(request)
    body = await _optional_json(request, ("comment",))
    svc = community(request)
    result = await run(request, svc.reject, caller(request), name, number, body.get("comment"))
    return web.json_response(result)
