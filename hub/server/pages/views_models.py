"""``/`` (the catalog: search, filters, sort, pages) and ``/models/{name}`` (card, versions,
aliases, signature, parity, downloads, likes, comments, snippets, try-it), with the forms that
like a model and comment on it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.catalog import page_queries
from hub.catalog.browse import SORTS
from hub.server.api.common import run, service
from hub.server.api.community import community
from hub.server.api.models import parse_model_query
from hub.server.keys import HUB
from hub.server.pages.common import caller, checked_form, page, render, see_other
from hub.server.pages.markdown import render_card, render_markdown
from hub.server.pages.snippets import snippets

PAGE_SIZE = 20
FILTERS = ("search", "task", "tag", "library", "owner", "sort", "direction")


def _query_args(request: web.Request) -> dict[str, str]:
    args = {k: request.query[k] for k in FILTERS if request.query.get(k)}
    if request.query.get("cursor"):
        args["cursor"] = request.query["cursor"]
    args["limit"] = str(PAGE_SIZE)
    return args


@page
async def catalog(request: web.Request) -> web.Response:
    args = _query_args(request)
    query = parse_model_query(args)
    principal = caller(request)
    hub = request.app[HUB]
    result = await run(request, service(request).list_models, principal, query)

    def read_facets() -> page_queries.Facets:
        with hub.db.session() as session:
            return page_queries.facets(session, principal)

    facets = await run(request, read_facets)
    kept = {k: v for k, v in args.items() if k in FILTERS}
    next_url = None
    if result["next_cursor"]:
        next_url = "/?" + urlencode({**kept, "cursor": result["next_cursor"]})
    return render(
        request,
        "catalog.html",
        {
            "models": result["models"],
            "facets": facets,
            "filters": kept,
            "sorts": [s for s in SORTS if s != "relevance" or kept.get("search")],
            "next_url": next_url,
            "first_url": "/?" + urlencode(kept) if args.get("cursor") else None,
        },
    )


@page
async def model_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    ref = request.query.get("version") or None
    principal = caller(request)
    hub = request.app[HUB]

    def read() -> page_queries.ModelPage:
        with hub.db.session() as session:
            return page_queries.model_page(session, hub.artifacts, principal, name, ref)

    data = await run(request, read)
    version = data.version
    base = f"{request.scheme}://{request.host}"
    comments = [{**c, "html": render_markdown(c["body"])} for c in data.comments]
    context: dict[str, Any] = {
        "model": data.model,
        "version": version,
        "card_html": render_card((version or {}).get("card") or data.model.get("card")),
        "likes": data.likes,
        "liked": data.liked,
        "comments": comments,
        "open_contributions": data.open_contributions,
        "can_review": data.can_review,
        "latent_input": data.latent_input,
        "try_row": None
        if data.try_row is None
        else {k: json.dumps(v) for k, v in data.try_row.items()},
        "snippets": snippets(base, data.model["name"], version, data.try_row, data.latent_input)
        if version
        else [],
    }
    return render(request, "model.html", context)


@page
async def like_form(request: web.Request) -> web.Response:
    """``POST /models/{name}/like`` with ``action`` ``like`` or ``unlike``; back to the page."""
    name = request.match_info["name"]
    form = await checked_form(request)
    liked = form.get("action", "like") != "unlike"
    await run(request, community(request).set_like, caller(request), name, liked)
    raise see_other(f"/models/{name}#likes")


@page
async def comment_form(request: web.Request) -> web.Response:
    """``POST /models/{name}/comments``: a comment on the model, or on a contribution."""
    name = request.match_info["name"]
    form = await checked_form(request)
    raw = form.get("contribution") or ""
    contribution = int(raw) if raw.isdigit() else None
    await run(
        request,
        community(request).add_comment,
        caller(request),
        name,
        form.get("body", ""),
        contribution,
    )
    if contribution is not None:
        raise see_other(f"/models/{name}/contributions/{contribution}#comments")
    raise see_other(f"/models/{name}#comments")


@page
async def delete_comment_form(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    form = await checked_form(request)
    raw = request.match_info["comment"]
    await run(request, community(request).delete_comment, caller(request), name, int(raw))
    raise see_other(form.get("next") or f"/models/{name}#comments")
