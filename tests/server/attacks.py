"""The hostile requests of the security probe, as async functions against a server's base URL.

Used by ``test_attack_mix.py`` (a loose functional run) and by ``bench/hostile.py`` (figures).
Each attack returns a short description of what the server answered. Bodies are built once,
before any attack starts, so the attacker's own work does not pollute the measurements.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import struct
import time
from dataclasses import dataclass, field

import aiohttp
import numpy as np

ROW = [5.1, 3.5, 1.4, 0.2]
GOOD = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": ROW}]}
MiB = 1024 * 1024


def _binary_request(inputs: list[dict], blob: bytes) -> tuple[bytes, dict[str, str]]:
    header = json.dumps({"inputs": inputs}).encode()
    return header + blob, {
        "Inference-Header-Content-Length": str(len(header)),
        "Content-Type": "application/octet-stream",
    }


@dataclass
class Payloads:
    """Every attack body, built once. ``scale`` shrinks the large legal bodies (1.0: the
    probe's sizes, 60 MB JSON and 30 MB BYTES)."""

    scale: float = 1.0
    bodies: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)

    def build(self) -> "Payloads":
        shape_bomb = [
            {
                "name": "text",
                "datatype": "BYTES",
                "shape": [400_000_000],
                "parameters": {"binary_data_size": 0},
            }
        ]
        self.bodies["shape"] = _binary_request(shape_bomb, b"")
        rows = [{"name": "input", "datatype": "FP32", "shape": [200, 4], "data": ROW * 200}]
        # ~130 KB asking for one output 4,000 times: ~50 MB of response
        amplify = {"inputs": rows, "outputs": [{"name": "probabilities"}] * 4000}
        self.bodies["amplify"] = (
            json.dumps(amplify).encode(),
            {"Content-Type": "application/json"},
        )
        self.bodies["gzip"] = (
            gzip.compress(b" " * int(512 * MiB * max(self.scale, 0.05)), compresslevel=9),
            {"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        self.bodies["brotli"] = (
            b"\x1b\xff\xff\xff" * 1600,
            {"Content-Encoding": "br", "Content-Type": "application/json"},
        )
        rows = max(1, int(750_000 * self.scale))  # ~60 MB of JSON at scale 1
        data = np.random.default_rng(0).random((rows, 4)).astype(np.float32)
        big_json = {
            "inputs": [
                {
                    "name": "input",
                    "datatype": "FP32",
                    "shape": [rows, 4],
                    "data": data.ravel().tolist(),
                }
            ],
            "outputs": [{"name": "label"}],
        }
        self.bodies["big_json"] = (
            json.dumps(big_json).encode(),
            {"Content-Type": "application/json"},
        )
        count = max(1, int(3_000_000 * self.scale))
        blob = (struct.pack("<I", 6) + b"abcdef") * count
        self.bodies["big_bytes"] = _binary_request(
            [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": [count],
                    "parameters": {"binary_data_size": len(blob)},
                }
            ],
            blob,
        )
        return self


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float = 60,
) -> str:
    try:
        async with session.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as resp:
            await resp.read()
            return str(resp.status)
    except asyncio.TimeoutError:
        return "timeout"
    except aiohttp.ClientError as exc:
        return type(exc).__name__


async def attack_body(
    session: aiohttp.ClientSession, base: str, payloads: Payloads, kind: str, model: str = "iris"
) -> str:
    body, headers = payloads.bodies[kind]
    return await _post(session, f"{base}/v2/models/{model}/infer", body, headers)


async def attack_loop(session: aiohttp.ClientSession, base: str) -> str:
    body = json.dumps(
        {"inputs": [{"name": "n", "datatype": "INT64", "shape": [1], "data": [10**12]}]}
    )
    return await _post(
        session,
        f"{base}/v2/models/loop/infer",
        body.encode(),
        {"Content-Type": "application/json"},
        120,
    )


async def attack_chunked(session: aiohttp.ClientSession, base: str, limit: int) -> str:
    async def chunks():  # type: ignore[no-untyped-def]
        sent = 0
        while sent <= limit:
            yield b" " * MiB
            sent += MiB

    return await _post(
        session, f"{base}/v2/models/iris/infer", chunks(), {"Content-Type": "application/json"}
    )  # type: ignore[arg-type]


async def attack_half_open(host: str, port: int, count: int, hold: float) -> str:
    writers = []
    for _ in range(count):
        try:
            _reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            writers.append(writer)
        except OSError:
            break
    await asyncio.sleep(hold)
    for writer in writers:
        writer.close()
    return f"{len(writers)} opened"


async def attack_event_id(session: aiohttp.ClientSession, base: str) -> str:
    async with session.get(f"{base}/v2/events", headers={"Last-Event-ID": str(2**64)}) as resp:
        await resp.read()
        return str(resp.status)


async def attack_cross_site(session: aiohttp.ClientSession, base: str) -> str:
    headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://evil.example"}
    async with session.post(
        f"{base}/v2/repository/models/iris/unload", data=b"x", headers=headers
    ) as resp:
        first = resp.status
    async with session.get(f"{base}/v2/models/iris", headers={"Host": "evil.example"}) as resp:
        return f"{first}/{resp.status}"


async def attack_spellings(session: aiohttp.ClientSession, base: str, count: int) -> str:
    statuses: dict[str, int] = {}
    for i in range(count):
        spelling = "%20" * (1 + i % 7) + "1" + "%09" * (i // 7 % 5)
        url = f"{base}/v2/models/iris/versions/{spelling}/infer"
        status = await _post(
            session, url, json.dumps(GOOD).encode(), {"Content-Type": "application/json"}
        )
        statuses[status] = statuses.get(status, 0) + 1
    return ",".join(f"{k}x{v}" for k, v in sorted(statuses.items()))


@dataclass
class Probe:
    """A well-behaved client: 1-row requests one after another on its own connection."""

    base: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        body = json.dumps(GOOD).encode()
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    async with session.post(
                        f"{self.base}/v2/models/iris/infer",
                        data=body,
                        headers={"Content-Type": "application/json"},
                        timeout=aiohttp.ClientTimeout(total=30),
                    ) as resp:
                        await resp.read()
                        if resp.status != 200:
                            self.failures.append(str(resp.status))
                except Exception as exc:  # a refused or dropped connection is a failure too
                    self.failures.append(type(exc).__name__)
                self.latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)

    def summary(self) -> dict[str, float]:
        values = np.asarray(self.latencies or [0.0])
        return {
            "requests": len(self.latencies),
            "failures": len(self.failures),
            "p50_ms": float(np.percentile(values, 50) * 1000),
            "p99_ms": float(np.percentile(values, 99) * 1000),
            "max_ms": float(values.max() * 1000),
        }
