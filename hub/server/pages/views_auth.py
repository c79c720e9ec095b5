"""``/login`` (an API token becomes the session cookie) and ``/logout``."""

from __future__ import annotations

from aiohttp import web

from hub.errors import HubError, Unauthorized
from hub.server.api.common import run, service
from hub.server.pages.common import checked_form, local_target, page, render
from hub.server.pages.security import clear_session, set_session


@page
async def login_page(request: web.Request) -> web.Response:
    return render(
        request, "login.html", {"next": local_target(request.query.get("next")), "error": None}
    )


@page
async def login(request: web.Request) -> web.Response:
    form = await checked_form(request)
    target = local_target(form.get("next"))
    token = (form.get("token") or "").strip()
    try:
        if not token:
            raise Unauthorized("paste an API token (onnxhub tokens create USER)")
        principal = await run(request, service(request).authenticate, token)
    except HubError as exc:
        context = {"next": target, "error": exc.message}
        return render(request, "login.html", context, status=exc.status)
    response = web.HTTPSeeOther(location=target)
    set_session(response, request, token)
    response.headers["X-Onnxhub-User"] = principal.user or ""
    raise response


@page
async def logout(request: web.Request) -> web.Response:
    await checked_form(request)
    response = web.HTTPSeeOther(location="/")
    clear_session(response)
    raise response
