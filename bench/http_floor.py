#!/usr/bin/env python3
"""HTTP floor: the cheapest possible Open Inference Protocol V2 REST endpoint.

A bare aiohttp server (same aiohttp and event loop as ``onnxhub serve``) whose
``POST /v2/models/{name}/infer`` handler does only what every V2 server must do
before and after inference, and nothing else:

* read the body and parse it: ``json.loads`` of the JSON body, or, for the
  binary tensor extension (header ``Inference-Header-Content-Length``), parse the
  JSON header and slice each input's raw bytes by its ``binary_data_size``;
* check the request's shape against its data (length of ``data`` or byte count),
  and read the batch size from ``shape[0]``;
* answer a canned, precomputed V2 response for that batch size: ``label``
  (INT64 [B]) and ``probabilities`` (FP32 [B, 2]), as JSON, or in the binary
  format when the request asks for binary outputs (``binary_data_output`` or
  ``outputs[].parameters.binary_data``).

No model runs and no numpy array is built. Whatever a real server costs above
this, per request, is its own overhead plus its inference.

    taskset -c 1 python bench/http_floor.py --port 18200 [--max-seconds 1800]

Health routes (``/v2/health/ready``, ``/v2/models/{name}/ready``) answer 200 so
the same readiness probe works as for a real server. Binds loopback only and
exits by itself after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct

from aiohttp import web

HEADER_LEN = "Inference-Header-Content-Length"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class BadRequest(Exception):
    pass


def _input_rows(tensor: dict, data_len: int) -> int:
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and d >= 0 for d in shape)
    ):
        raise BadRequest("shape must be a non-empty list of non-negative integers")
    n = 1
    for d in shape:
        n *= d
    if n != data_len:
        raise BadRequest(f"shape {shape} needs {n} elements, got {data_len}")
    return shape[0]


def parse_json_request(body: bytes) -> tuple[int, bool]:
    """Parse a JSON V2 request; return (batch size, binary outputs wanted)."""
    req = json.loads(body)
    inputs = req.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("inputs must be a non-empty list")
    rows = None
    for t in inputs:
        data = t.get("data")
        if not isinstance(data, list):
            raise BadRequest("data must be a list")
        rows = _input_rows(t, len(data))
    return rows, _wants_binary(req)


_ITEM = {"FP32": 4, "FP64": 8, "INT64": 8, "INT32": 4, "FP16": 2, "UINT8": 1, "INT8": 1, "BOOL": 1}


def parse_binary_request(body: bytes, header_len: int) -> tuple[int, bool]:
    """Parse a binary-extension V2 request: JSON header, then each input's raw bytes."""
    if header_len <= 0 or header_len > len(body):
        raise BadRequest("bad Inference-Header-Content-Length")
    req = json.loads(body[:header_len])
    view = memoryview(body)
    offset = header_len
    rows = None
    for t in req.get("inputs") or ():
        params = t.get("parameters") or {}
        size = params.get("binary_data_size")
        if size is None:
            data = t.get("data")
            if not isinstance(data, list):
                raise BadRequest("input has neither data nor binary_data_size")
            rows = _input_rows(t, len(data))
            continue
        item = _ITEM.get(t.get("datatype"))
        if item is None or size % item:
            raise BadRequest("bad datatype or binary_data_size")
        chunk = view[offset : offset + size]
        if len(chunk) != size:
            raise BadRequest("body shorter than binary_data_size")
        offset += size
        rows = _input_rows(t, size // item)
    if rows is None:
        raise BadRequest("inputs must be a non-empty list")
    if offset != len(body):
        raise BadRequest("trailing bytes after the last binary input")
    return rows, _wants_binary(req)


def _wants_binary(req: dict) -> bool:
    if (req.get("parameters") or {}).get("binary_data_output"):
        return True
    return any((o.get("parameters") or {}).get("binary_data") for o in req.get("outputs") or ())


class Canned:
    """Precomputed responses, one per (model, batch size, binary) seen."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, bool], tuple[bytes, dict[str, str]]] = {}

    def get(self, model: str, rows: int, binary: bool) -> tuple[bytes, dict[str, str]]:
        key = (model, rows, binary)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._build(model, rows, binary)
        return hit

    @staticmethod
    def _build(model: str, rows: int, binary: bool) -> tuple[bytes, dict[str, str]]:
        labels = [i % 2 for i in range(rows)]
        probs = []
        for lab in labels:
            probs += [0.25, 0.75] if lab else [0.75, 0.25]
        if not binary:
            body = json.dumps(
                {
                    "model_name": model,
                    "model_version": "1",
                    "outputs": [
                        {"name": "label", "datatype": "INT64", "shape": [rows], "data": labels},
                        {
                            "name": "probabilities",
                            "datatype": "FP32",
                            "shape": [rows, 2],
                            "data": probs,
                        },
                    ],
                },
                separators=(",", ":"),
            ).encode()
            return body, {"Content-Type": "application/json"}
        raw_l = struct.pack(f"<{rows}q", *labels)
        raw_p = struct.pack(f"<{2 * rows}f", *probs)
        header = json.dumps(
            {
                "model_name": model,
                "model_version": "1",
                "outputs": [
                    {
                        "name": "label",
                        "datatype": "INT64",
                        "shape": [rows],
                        "parameters": {"binary_data_size": len(raw_l)},
                    },
                    {
                        "name": "probabilities",
                        "datatype": "FP32",
                        "shape": [rows, 2],
                        "parameters": {"binary_data_size": len(raw_p)},
                    },
                ],
            },
            separators=(",", ":"),
        ).encode()
        return header + raw_l + raw_p, {
            "Content-Type": "application/octet-stream",
            HEADER_LEN: str(len(header)),
        }


def make_app() -> web.Application:
    canned = Canned()

    async def infer(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            hlen = request.headers.get(HEADER_LEN)
            if hlen is not None:
                rows, binary = parse_binary_request(body, int(hlen))
            else:
                rows, binary = parse_json_request(body)
        except (BadRequest, ValueError, TypeError, AttributeError) as e:
            return web.json_response({"error": str(e)}, status=400)
        payload, headers = canned.get(request.match_info["name"], rows, binary)
        return web.Response(body=payload, headers=headers)

    async def ok(request: web.Request) -> web.Response:
        return web.Response(status=200)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v2/models/{name}/infer", infer)
    app.router.add_post("/v2/models/{name}/versions/{version}/infer", infer)
    app.router.add_get("/v2/health/ready", ok)
    app.router.add_get("/v2/health/live", ok)
    app.router.add_get("/v2/models/{name}/ready", ok)
    return app


async def serve(host: str, port: int, max_seconds: float) -> None:
    runner = web.AppRunner(make_app(), access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(
        f"http floor on http://{host}:{port} (pid {os.getpid()}, exits after {max_seconds:.0f} s)",
        flush=True,
    )
    try:
        await asyncio.sleep(max_seconds)
    finally:
        await runner.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18200)
    ap.add_argument(
        "--max-seconds", type=float, default=1800.0, help="exit after this long (safety bound)"
    )
    ap.add_argument(
        "--loop",
        default=os.environ.get("ONNXHUB_EVENT_LOOP") or "auto",
        choices=["auto", "uvloop", "asyncio"],
        help="event loop, resolved as onnxhub serve resolves ONNXHUB_EVENT_LOOP (the default)",
    )
    args = ap.parse_args()
    if args.host not in LOOPBACK:
        raise SystemExit(f"refusing to bind non-loopback host {args.host!r}")
    from hub.server import event_loop

    print(f"http floor event loop: {event_loop.resolve(args.loop)}", flush=True)
    try:
        event_loop.run(serve(args.host, args.port, args.max_seconds), args.loop)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
