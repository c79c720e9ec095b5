"""Health, server metadata and ``/metrics``."""

from __future__ import annotations

from aiohttp import web

import hub
from hub.catalog.db import display_url
from hub.server.auth import filter_metrics
from hub.server.catalog_follower import FOLLOWER, catalog_health
from hub.server.keys import HUB, RUNTIME, SERVER_STATE
from hub.server.responses import json_response
from hub.server.worker_metrics import render_metrics

EXTENSIONS = ["binary_tensor_data", "model_repository"]


async def live(request: web.Request) -> web.Response:
    return json_response({"live": True})


async def ready(request: web.Request) -> web.Response:
    state = request.app[SERVER_STATE]
    if not state.ready:
        return json_response({"ready": False, "error": "server is not ready"}, status=503)
    where = display_url(request.app[HUB].db.engine)
    catalog_ready, detail = catalog_health(request.app.get(FOLLOWER), where)
    if not catalog_ready:
        return json_response({"ready": False, **detail}, status=503)
    return json_response({"ready": True, **detail})


async def server_metadata(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return json_response(
        {
            "name": "onnxhub",
            "version": hub.__version__,
            "extensions": EXTENSIONS,
            "parameters": {"providers": runtime.providers},
        }
    )


async def metrics(request: web.Request) -> web.Response:
    body = await filter_metrics(request, render_metrics(request.app))
    return web.Response(
        body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2/health/live", live)
    app.router.add_get("/v2/health/ready", ready)
    app.router.add_get("/v2", server_metadata)
    app.router.add_get("/v2/", server_metadata)  # as the protocol's OpenAPI document writes it
    app.router.add_get("/metrics", metrics)
