"""Slow clients, too many connections, event-stream ids, cross-site requests and DNS rebinding."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

import pytest
from aiohttp import web
from hostile import GOOD, GuardedTestServer, Probe

from hub.api import Hub
from hub.server.app import create_app


@pytest.fixture
async def tight(aiohttp_client, serve_settings, logreg):  # type: ignore[no-untyped-def]
    """A server with a 0.5 s header timeout and a cap of 8 connections."""
    settings = replace(serve_settings, header_timeout=0.5, max_connections=8)
    with Hub(settings) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        yield await aiohttp_client(GuardedTestServer(create_app(hub)))


async def _open(client, data: bytes = b""):  # type: ignore[no-untyped-def]
    reader, writer = await asyncio.open_connection(client.host, client.port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        await asyncio.wait_for(reader.read(), seconds)  # EOF (b"" or a response, then EOF)
        return True
    except asyncio.TimeoutError:
        return False


# -- 8. slow clients and the connection cap -----------------------------------------------


async def test_a_client_that_never_finishes_its_headers_is_disconnected(tight) -> None:
    reader, writer = await _open(
        tight, b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: "
    )
    started = time.monotonic()
    assert await _closed_within(reader, 5.0)
    waited = time.monotonic() - started
    writer.close()
    print(f"\nslow headers: disconnected after {waited:.2f} s (header timeout 0.5 s)")


async def test_a_silent_connection_is_disconnected(tight) -> None:
    reader, writer = await _open(tight)
    assert await _closed_within(reader, 5.0)
    writer.close()


async def test_half_open_connections_cannot_lock_out_real_clients(tight, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="hub.server.connections")
    sockets = [await _open(tight, b"GET /v2 HTTP/1.1\r\nHo") for _ in range(40)]  # 5x the cap
    probe = Probe(tight)

    async def attack() -> None:
        await asyncio.sleep(0.3)

    await probe.during(attack())
    assert probe.statuses and all(s == 200 for s in probe.statuses)
    assert any("connection cap of 8 reached" in r.getMessage() for r in caplog.records)
    for _reader, writer in sockets:
        writer.close()
    print(f"\n40 half-open connections, cap 8: probe worst {probe.worst * 1000:.0f} ms")


async def test_when_every_connection_is_busy_a_new_one_gets_503(tight) -> None:
    """Sibling: bodies that trickle hold their connections busy; the next one is refused."""
    busy = []
    for _ in range(8):
        reader, writer = await _open(
            tight,
            b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        busy.append((reader, writer))
    await asyncio.sleep(0.2)
    reader, writer = await _open(tight, b"GET /v2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)
    assert answer.startswith(b"HTTP/1.1 503") and b"too many open connections" in answer
    for _r, w in busy + [(reader, writer)]:
        w.close()


# -- 10. event stream ids -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["18446744073709551616", "99999999999999999999999", "-1", "1e3", "٣", " 12x"]
)
async def test_a_bad_last_event_id_is_400_before_the_stream_starts(client, value) -> None:
    resp = await client.get("/v2/events", headers={"Last-Event-ID": value})
    assert resp.status == 400
    assert resp.headers["Content-Type"] == "application/json"
    assert "Last-Event-ID" in (await resp.json())["error"]
    resp = await client.get(f"/v2/events?last_event_id={value}")
    assert resp.status == 400


async def test_a_valid_last_event_id_replays_then_streams(client) -> None:
    resp = await client.get("/v2/events", headers={"Last-Event-ID": "0"})
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
    first = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
    assert first == b": connected\n\n"
    replayed = await asyncio.wait_for(resp.content.readuntil(b"\n\n"), 5)
    assert replayed.startswith(b"id: 1\nevent: model.created") or b"id: " in replayed
    resp.close()


# -- 11. cross-site requests and DNS rebinding ----------------------------------------------


async def test_a_text_plain_post_from_a_web_page_cannot_unload(client) -> None:
    resp = await client.post(
        "/v2/repository/models/iris/unload",
        data=b"x",
        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://evil.example"},
    )
    assert resp.status == 403 and "cross-site" in (await resp.json())["error"]
    resp = await client.post(
        "/v2/repository/models/iris/unload", data=b"x", headers={"Content-Type": "text/plain"}
    )
    assert resp.status == 415
    assert (await client.get("/v2/models/iris/ready")).status == 200  # still loaded


@pytest.mark.parametrize("origin", ["null", "http://localhost.evil.example", "file://"])
async def test_foreign_origins_are_refused_on_state_changing_routes(client, origin) -> None:
    resp = await client.post("/v2/models/iris/infer", json=GOOD, headers={"Origin": origin})
    assert resp.status == 403


async def test_the_servers_own_origin_and_allowed_origins_pass(
    aiohttp_client, serve_settings, logreg
) -> None:
    settings = replace(serve_settings, allowed_origins=("https://hub.example.com",))
    with Hub(settings) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        client = await aiohttp_client(GuardedTestServer(create_app(hub)))
        own = f"http://{client.host}:{client.port}"
        for origin in (own, "https://hub.example.com"):
            resp = await client.post("/v2/models/iris/infer", json=GOOD, headers={"Origin": origin})
            assert resp.status == 200, origin
        resp = await client.post("/v2/models/iris/infer", json=GOOD)  # no Origin: not a browser
        assert resp.status == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.nip.io"])
async def test_a_foreign_host_on_a_loopback_server_is_refused(client, host) -> None:
    for method, path in (
        ("GET", "/v2/models/iris"),
        ("GET", "/metrics"),
        ("POST", "/v2/models/iris/infer"),
    ):
        resp = await client.request(
            method, path, json=GOOD if method == "POST" else None, headers={"Host": host}
        )
        assert resp.status == 403, (method, path)
        assert "ONNXHUB_ALLOWED_HOSTS" in (await resp.json())["error"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:9", "[::1]:8080", "LOCALHOST."])
async def test_loopback_names_are_answered(client, host) -> None:
    assert (await client.get("/v2/models/iris", headers={"Host": host})).status == 200


async def test_allowed_hosts_serve_a_deployment_behind_a_proxy(
    aiohttp_client, serve_settings, logreg
) -> None:
    settings = replace(serve_settings, allowed_hosts=("hub.example.com",))
    with Hub(settings) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        client = await aiohttp_client(GuardedTestServer(create_app(hub)))
        assert (await client.get("/v2", headers={"Host": "hub.example.com"})).status == 200
        assert (await client.get("/v2", headers={"Host": "evil.example"})).status == 403
        # Health probes come by address (kubelet: the pod IP) and reveal nothing: answered.
        probe = await client.get("/v2/health/live", headers={"Host": "10.1.2.3:8080"})
        assert probe.status == 200


async def test_the_servers_own_pages_may_post_forms(client) -> None:
    """Sibling: a same-origin form (the pages' login, likes, comments) is not a cross-site one."""
    own = f"http://{client.host}:{client.port}"
    resp = await client.post(
        "/v2/repository/models/iris/unload",
        data=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": own},
    )
    assert resp.status != 415  # past the guard (the auth layer answers next)
    resp = await client.post(
        "/v2/repository/models/iris/unload",
        data=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 415


@pytest.mark.parametrize("closing", [True, False])
async def test_a_client_gone_before_its_body_is_read_is_no_server_error(closing) -> None:
    """A request whose client has closed the connection by the time its handler reads the body
    (load generators do this at the end of every run) is no server error: not logged or
    counted as a 500 (its answer goes nowhere); the same error on a live connection is."""
    from unittest import mock

    from aiohttp.test_utils import make_mocked_request

    from hub.server.front import front
    from hub.server.keys import METRICS, SETTINGS
    from hub.server.metrics import ServerMetrics
    from hub.settings import Settings

    app = web.Application()
    app[SETTINGS] = replace(Settings.from_env({}), allowed_hosts=("*",))
    app[METRICS] = ServerMetrics()
    transport = mock.Mock()
    transport.is_closing.return_value = closing
    request = make_mocked_request("GET", "/v2/health/live", app=app, transport=transport)

    async def handler(_request):  # type: ignore[no-untyped-def]
        raise ConnectionResetError("Connection lost")

    response = await front(request, handler)
    assert response.status == (499 if closing else 500)
    errors = app[METRICS].errors.labels("500")._value.get()
    assert errors == (0 if closing else 1)
