"""The model repository extension: index, explicit load and unload."""

from __future__ import annotations

from aiohttp import web

from hub.server.auth import filter_index
from hub.server.keys import RUNTIME
from hub.server.responses import json_response


async def index(request: web.Request) -> web.Response:
    return json_response(await filter_index(request, await request.app[RUNTIME].index()))


async def load(request: web.Request) -> web.Response:
    info = await request.app[RUNTIME].load(request.match_info["model"])
    return json_response({"name": info.model, "version": str(info.version), "state": "READY"})


async def unload(request: web.Request) -> web.Response:
    name = request.match_info["model"]
    await request.app[RUNTIME].unload(name)
    return json_response({"name": name, "state": "UNAVAILABLE"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v2/repository/index", index)
    app.router.add_post("/v2/repository/models/{model}/load", load)
    app.router.add_post("/v2/repository/models/{model}/unload", unload)
