"""The web pages of ``onnxhub serve``: server-rendered Jinja2 (aiohttp-jinja2), no build step.

Pages: ``/`` (catalog), ``/models/{name}``, ``/models/{name}/contributions[/{id}]``,
``/dashboard``, ``/login``, ``/logout``. Templates and static files (CSS, the few scripts) ship
inside this package; every response carries a strict Content-Security-Policy (no inline
script) and every state-changing form a CSRF token (see :mod:`hub.server.pages.security`).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from hub.server.pages import views_auth, views_contributions, views_dashboard, views_models

STATIC = Path(__file__).resolve().parent / "static"
_NAME = r"{name:[A-Za-z0-9][A-Za-z0-9._-]{0,199}}"
_ID = r"{id:[0-9]{1,18}}"


def _filesize(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _date(iso: str | None) -> str:
    return "" if not iso else iso[:16].replace("T", " ")


def install_pages(app: web.Application) -> None:
    """Add the pages and their static files to ``app`` (the session cookie and the security
    headers are :mod:`hub.server.front`'s)."""
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("hub.server.pages", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["filesize"] = _filesize
    environment.filters["date"] = _date
    router = app.router
    router.add_get("/", views_models.catalog)
    router.add_get("/login", views_auth.login_page)
    router.add_post("/login", views_auth.login)
    router.add_post("/logout", views_auth.logout)
    router.add_get("/dashboard", views_dashboard.dashboard)
    router.add_get("/dashboard.json", views_dashboard.dashboard_json)
    router.add_get(f"/models/{_NAME}", views_models.model_page)
    router.add_post(f"/models/{_NAME}/like", views_models.like_form)
    router.add_post(f"/models/{_NAME}/comments", views_models.comment_form)
    router.add_post(
        f"/models/{_NAME}/comments/{{comment:[0-9]{{1,18}}}}/delete",
        views_models.delete_comment_form,
    )
    router.add_get(f"/models/{_NAME}/contributions", views_contributions.contributions_page)
    router.add_get(f"/models/{_NAME}/contributions/{_ID}", views_contributions.contribution_page)
    router.add_post(
        f"/models/{_NAME}/contributions/{_ID}/{{decision:approve|reject}}",
        views_contributions.decide,
    )
    router.add_static("/static/", STATIC, name="static", append_version=False)
    router.add_get("/favicon.ico", _favicon)


async def _favicon(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "favicon.svg", headers={"Content-Type": "image/svg+xml"})
