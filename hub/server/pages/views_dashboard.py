"""``/dashboard``: what this server has loaded, on which execution provider, the memory budget,
batch sizes and queue depths; ``/dashboard.json`` is the same as JSON, which the page's script
re-reads whenever ``/v2/events`` reports a load, an unload or a swap."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.server.auth import AUTH_GATE
from hub.server.keys import METRICS, RUNTIME, SETTINGS
from hub.server.pages.common import caller, page, render


async def snapshot(request: web.Request) -> dict[str, Any]:
    """Loaded versions the caller may see, with provider, queue depth, runs in flight and the
    mean rows per onnxruntime run; the providers asked for; the memory budget and its use."""
    runtime = request.app[RUNTIME]
    settings = request.app[SETTINGS]
    registry = request.app[METRICS].registry
    gate, principal = request.app[AUTH_GATE], caller(request)
    loaded = []
    for item in runtime.snapshot():
        if not await gate.may_read(principal, item["model"]):
            continue
        labels = {"model": item["model"]}
        runs = registry.get_sample_value("onnxhub_batch_size_count", labels) or 0.0
        rows = registry.get_sample_value("onnxhub_batch_size_sum", labels) or 0.0
        requests = registry.get_sample_value("onnxhub_inference_requests_total", labels) or 0.0
        loaded.append(
            {
                **item,
                "providers": list(item["providers"]),
                "runs": int(runs),
                "mean_batch_rows": round(rows / runs, 2) if runs else None,
                "requests": int(requests),
            }
        )
    used = runtime.residency.loaded_bytes
    return {
        "providers": list(runtime.providers),
        "loaded": loaded,
        "memory": {
            "used_bytes": used,
            "budget_bytes": settings.max_loaded_bytes,
            "max_models": settings.max_loaded_models,
        },
        "batching": {
            "max_batch_size": settings.max_batch_size,
            "max_batch_time_s": settings.max_batch_time,
        },
    }


@page
async def dashboard(request: web.Request) -> web.Response:
    return render(request, "dashboard.html", {"data": await snapshot(request)})


async def dashboard_json(request: web.Request) -> web.Response:
    response = web.json_response(await snapshot(request))
    response.headers["Cache-Control"] = "no-store"
    return response
