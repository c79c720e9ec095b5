"""Model metadata, readiness and inference: parse, call the runtime, render."""

from __future__ import annotations

import time

from aiohttp import web

from hub.errors import RequestTooLarge, Unavailable
from hub.server.binary import HEADER
from hub.server.keys import METRICS, RUNTIME, SETTINGS
from hub.server.v2_codec import decode_request, encode_response
from hub.serving.runtime import normalize_ref

PLATFORM = "onnxruntime_onnx"


def _ref(request: web.Request):
    return normalize_ref(request.match_info.get("version"))


async def model_metadata(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    name = request.match_info["model"]
    meta = await runtime.metadata(name, _ref(request))
    info = meta.info
    parameters = {
        "version": str(info.version),
        "aliases": list(info.aliases),
        "task": info.task,
        "sha256": info.sha256,
        "ready": meta.ready,
    }
    if meta.providers is not None:
        parameters["providers"] = meta.providers
    if info.latent_input:
        parameters["latent_input"] = info.latent_input
    return web.json_response(
        {
            "name": name,
            "versions": [str(v) for v in meta.versions],
            "platform": PLATFORM,
            "inputs": [t.to_json() for t in info.inputs],
            "outputs": [t.to_json() for t in info.outputs],
            "parameters": parameters,
        }
    )


async def model_ready(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    name = request.match_info["model"]
    if not await runtime.is_ready(name, _ref(request)):
        raise Unavailable(f"model {name!r} is not ready (unloaded)")
    return web.json_response({"name": name, "ready": True})


async def infer(request: web.Request) -> web.Response:
    started = time.perf_counter()
    app = request.app
    limit = app[SETTINGS].max_request_bytes
    length = request.content_length
    if length is not None and length > limit:
        raise RequestTooLarge(f"request body of {length} bytes exceeds the limit of {limit} bytes")
    body = await request.read()
    decoded = decode_request(body, request.headers.get(HEADER))
    name = request.match_info["model"]
    result = await app[RUNTIME].infer(
        name, _ref(request), decoded.feeds, decoded.outputs, decoded.parameters
    )
    payload, headers = encode_response(result, decoded)
    app[METRICS].observe_request(name, time.perf_counter() - started)
    return web.Response(body=payload, headers=headers)


def add_routes(app: web.Application) -> None:
    for prefix in ("/v2/models/{model}", "/v2/models/{model}/versions/{version}"):
        app.router.add_get(prefix, model_metadata)
        app.router.add_get(prefix + "/ready", model_ready)
        app.router.add_post(prefix + "/infer", infer)
