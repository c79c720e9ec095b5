"""Model metadata, readiness and inference: parse, call the runtime, render."""

from __future__ import annotations

import asyncio
import functools
import time

from aiohttp import web

from hub.errors import Unavailable
from hub.server.binary import HEADER
from hub.server.body import read_body
from hub.server.headers import SECURED_JSON, secured
from hub.server.keys import CODEC, METRICS, RUNTIME, SETTINGS
from hub.server.responses import json_response
from hub.server.v2_codec import JSON_HEADERS, decode_request, encode_response
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
    return json_response(
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
    return json_response({"name": name, "ready": True})


async def infer(request: web.Request) -> web.Response:
    started = time.perf_counter()
    app = request.app
    name, ref = request.match_info["model"], _ref(request)
    runtime = app[RUNTIME]
    runtime.admit(name, ref)  # a full queue refuses before the body is read or decoded
    settings = app[SETTINGS]
    codec = app[CODEC]
    body = await read_body(
        request,
        limit=settings.max_request_bytes,
        timeout=settings.body_timeout,
        executor=codec,
    )
    decode = functools.partial(
        decode_request, body, request.headers.get(HEADER), settings.max_request_elements
    )
    big = len(body) >= settings.offload_bytes
    loop = asyncio.get_running_loop()
    decoded = await loop.run_in_executor(codec, decode) if big else decode()
    result = await runtime.infer(name, ref, decoded.feeds, decoded.outputs, decoded.parameters)
    encode = functools.partial(encode_response, result, decoded, settings.max_response_bytes)
    if big or sum(a.nbytes for a in result.arrays) >= settings.offload_bytes:
        payload, headers = await loop.run_in_executor(codec, encode)
    else:
        payload, headers = encode()
    app[METRICS].observe_request(name, time.perf_counter() - started)
    return web.Response(
        body=payload, headers=SECURED_JSON if headers is JSON_HEADERS else secured(headers)
    )


def add_routes(app: web.Application) -> None:
    prefixes = ("/v2/models/{model}", "/v2/models/{model}/versions/{version}")
    # aiohttp tries the routes under one static prefix in the order they were added, each
    # with a coroutine and a regex: the hot route first.
    for prefix in prefixes:
        app.router.add_post(prefix + "/infer", infer)
    for prefix in prefixes:
        app.router.add_get(prefix, model_metadata)
        app.router.add_get(prefix + "/ready", model_ready)
