"""``/models/{name}/contributions`` (the list) and ``/models/{name}/contributions/{id}`` (the
review page: checks, signature diff, parity figures, comments, approve/reject forms)."""

from __future__ import annotations

from aiohttp import web

from hub.catalog import page_queries
from hub.errors import InvalidInput
from hub.server.api.common import run
from hub.server.api.community import community, positive_int
from hub.server.keys import HUB
from hub.server.pages.common import caller, checked_form, page, render, see_other
from hub.server.pages.markdown import render_markdown


@page
async def contributions_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    status = request.query.get("status") or None
    principal = caller(request)
    rows = await run(request, community(request).list_contributions, principal, name, status)
    hub = request.app[HUB]

    def can_review() -> bool:
        with hub.db.session() as session:
            return page_queries.load_model(session, principal, name)[1]

    return render(
        request,
        "contributions.html",
        {
            "name": name,
            "contributions": rows,
            "status": status,
            "can_review": await run(request, can_review),
        },
    )


@page
async def contribution_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    number = positive_int(request.match_info["id"], "contribution id")
    principal = caller(request)
    svc = community(request)
    row = await run(request, svc.get_contribution, principal, name, number)
    hub = request.app[HUB]

    def extras() -> tuple[bool, list[dict]]:
        with hub.db.session() as session:
            model, can_review = page_queries.load_model(session, principal, name)
            return can_review, page_queries.contribution_comments(session, model, number)

    can_review, comments = await run(request, extras)
    return render(
        request,
        "contribution.html",
        {
            "name": name,
            "c": row,
            "description_html": render_markdown(row.get("description")),
            "can_review": can_review,
            "comments": [{**c, "html": render_markdown(c["body"])} for c in comments],
        },
    )


@page
async def decide(request: web.Request) -> web.Response:
    """``POST /models/{name}/contributions/{id}/approve`` or ``.../reject`` from the form."""
    name = request.match_info["name"]
    number = positive_int(request.match_info["id"], "contribution id")
    form = await checked_form(request)
    svc = community(request)
    principal = caller(request)
    comment = form.get("comment") or None
    if request.match_info["decision"] == "approve":
        alias = form.get("alias") or None
        await run(request, svc.approve, principal, name, number, alias, comment)
    elif request.match_info["decision"] == "reject":
        await run(request, svc.reject, principal, name, number, comment)
    else:
        raise InvalidInput("decision must be approve or reject")
    raise see_other(f"/models/{name}/contributions/{number}")
