"""``/api/whoami``, ``/api/models`` (search, filters, sort, cursor), ``/api/models/{name}``."""

from __future__ import annotations

from aiohttp import web

from hub.catalog.browse import MAX_LIMIT, ModelQuery
from hub.errors import InvalidInput
from hub.server.api.common import caller, forget_access, json_object, model_name, run, service

QUERY_PARAMETERS = (
    "search",
    "task",
    "tag",
    "library",
    "owner",
    "sort",
    "direction",
    "limit",
    "cursor",
)


async def whoami(request: web.Request) -> web.Response:
    return web.json_response(caller(request).to_json())


def parse_model_query(query: dict[str, str]) -> ModelQuery:
    """The query string of ``GET /api/models`` as a :class:`ModelQuery` (400 when malformed)."""
    unknown = sorted(set(query) - set(QUERY_PARAMETERS))
    if unknown:
        raise InvalidInput(f"unknown query parameter(s) {', '.join(unknown)}")
    for key, value in query.items():
        if "\x00" in value:
            raise InvalidInput(f"query parameter {key!r} must not contain NUL characters")
        if len(value) > 1000:
            raise InvalidInput(f"query parameter {key!r} is longer than 1000 characters")
    raw_limit = query.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer between 1 and {MAX_LIMIT}")
    return ModelQuery(
        search=query.get("search") or None,
        task=query.get("task") or None,
        tag=query.get("tag") or None,
        library=query.get("library") or None,
        owner=query.get("owner") or None,
        sort=query.get("sort") or None,
        direction=query.get("direction") or None,
        limit=int(raw_limit),
        cursor=query.get("cursor") or None,
    )


async def list_models(request: web.Request) -> web.Response:
    if len(request.query.getall("limit", [])) > 1:
        raise InvalidInput("query parameter 'limit' given more than once")
    query = parse_model_query({k: request.query[k] for k in request.query})
    return web.json_response(
        await run(request, service(request).list_models, caller(request), query)
    )


async def get_model(request: web.Request) -> web.Response:
    name = model_name(request)
    return web.json_response(await run(request, service(request).get_model, caller(request), name))


async def patch_model(request: web.Request) -> web.Response:
    name = model_name(request)
    changes = await json_object(request)
    result = await run(request, service(request).patch_model, caller(request), name, changes)
    forget_access(request, name)
    return web.json_response(result)
