"""Likes and comments under ``/api``: ``POST|DELETE /api/models/{name}/like``,
``GET|POST /api/models/{name}/comments`` and ``DELETE /api/models/{name}/comments/{id}``.

The service is :class:`hub.catalog.community.CommunityService`; it hangs off the app under
:data:`COMMUNITY`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.catalog.community import CommunityService
from hub.errors import InvalidInput
from hub.server.api.common import caller, created, json_object, model_name, run

COMMUNITY = web.AppKey("community_service", CommunityService)


def community(request: web.Request) -> CommunityService:
    """The app's community service (made by :func:`hub.server.api.community_routes.install`)."""
    return request.app[COMMUNITY]


def positive_int(raw: str, what: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise InvalidInput(f"{what} must be a positive integer, not {raw!r}")
    return int(raw)


def contribution_filter(request: web.Request) -> int | None:
    raw = request.query.get("contribution")
    return None if raw is None else positive_int(raw, "query parameter 'contribution'")


async def like(request: web.Request) -> web.Response:
    name = model_name(request)
    result = await run(request, community(request).set_like, caller(request), name, True)
    return web.json_response(result)


async def unlike(request: web.Request) -> web.Response:
    name = model_name(request)
    result = await run(request, community(request).set_like, caller(request), name, False)
    return web.json_response(result)


async def list_comments(request: web.Request) -> web.Response:
    name = model_name(request)
    unknown = sorted(set(request.query) - {"contribution"})
    if unknown:
        raise InvalidInput(f"unknown query parameter(s) {', '.join(unknown)}")
    svc = community(request)
    comments = await run(
        request, svc.list_comments, caller(request), name, contribution_filter(request)
    )
    return web.json_response({"comments": comments})


async def post_comment(request: web.Request) -> web.Response:
    name = model_name(request)
    body: dict[str, Any] = await json_object(request)
    unknown = sorted(set(body) - {"body", "contribution"})
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)} (fields: body, contribution)")
    contribution = body.get("contribution")
    if contribution is not None and (
        isinstance(contribution, bool) or not isinstance(contribution, int) or contribution < 1
    ):
        raise InvalidInput("field 'contribution' must be a positive integer")
    svc = community(request)
    result = await run(
        request, svc.add_comment, caller(request), name, body.get("body"), contribution
    )
    return created(result)


async def delete_comment(request: web.Request) -> web.Response:
    name = model_name(request)
    comment_id = positive_int(request.match_info["comment"], "comment id")
    await run(request, community(request).delete_comment, caller(request), name, comment_id)
    return web.Response(status=204)
