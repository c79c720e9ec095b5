"""Tokens and access control over HTTP: 401, 403, and private models as 404 on every route."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import numpy as np
import pytest
from api_helpers import bearer, iris_form

from hub.catalog import accounts
from hub.server.app import create_app

ROW = {
    "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]
}


@pytest.fixture
async def client(aiohttp_client, api_hub):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(api_hub))


async def _publish(client, export, token: str, name: str = "iris", **metadata):  # type: ignore[no-untyped-def]
    resp = await client.post(
        f"/api/models/{name}/versions", data=iris_form(export, **metadata), headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_whoami_names_the_token_owner_and_scopes(client, api_hub, tokens) -> None:
    assert await (await client.get("/api/whoami")).json() == {"user": None, "scopes": []}
    resp = await client.get("/api/whoami", headers=bearer(tokens["alice"]))
    assert await resp.json() == {"user": "alice", "scopes": ["write"]}
    with api_hub.db.session() as session:
        used = {t.name: t.last_used_at for t in accounts.list_tokens(session, "alice")}
    assert used["default"] is not None and used["ro"] is None  # only the token used is touched
    stored = {t.token_hash for t in _all_tokens(api_hub)}
    assert tokens["alice"] not in stored  # only hashes are kept
    assert accounts.hash_token(tokens["alice"]) in stored


def _all_tokens(hub):  # type: ignore[no-untyped-def]
    with hub.db.session() as session:
        return accounts.list_tokens(session)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer onh_" + "x" * 43,  # well-formed, unknown
        "Bearer not-a-token",  # malformed token
        "Basic YWxpY2U6c2VjcmV0",  # another scheme
        "Bearer",  # no token at all
    ],
    ids=["unknown", "malformed-token", "basic", "empty"],
)
async def test_a_bad_token_is_401_with_www_authenticate(
    client, tokens, iris_export, header
) -> None:
    for method, path, kwargs in (
        ("GET", "/api/whoami", {}),
        ("POST", "/api/models/iris/versions", {"data": iris_form(iris_export)}),
        ("POST", "/v2/models/iris/infer", {"json": ROW}),
    ):
        resp = await client.request(method, path, headers={"Authorization": header}, **kwargs)
        assert resp.status == 401, (path, await resp.text())
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        body = await resp.json()
        assert "error" in body and "x" * 20 not in body["error"]  # the token is never echoed


async def test_revoked_and_expired_tokens_are_401(client, api_hub, tokens, iris_export) -> None:
    def setup(session):  # type: ignore[no-untyped-def]
        expired, row = accounts.create_token(
            session, "alice", name="old", scope="write", expires_in=timedelta(seconds=1)
        )
        row.expires_at = row.created_at - timedelta(days=1)
        revoked, row2 = accounts.create_token(session, "alice", name="gone", scope="write")
        accounts.revoke_token(session, row2.id)
        return expired, revoked

    expired, revoked = api_hub.db.transaction(setup)
    for token, word in ((expired, "expired"), (revoked, "revoked")):
        resp = await client.post(
            "/api/models/iris/versions", data=iris_form(iris_export), headers=bearer(token)
        )
        assert resp.status == 401
        assert word in (await resp.json())["error"]
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.get("/api/models/iris")).status == 404  # nothing was created


async def test_anonymous_write_is_401_and_read_scope_write_is_403(
    client, tokens, iris_export
) -> None:
    resp = await client.post("/api/models/iris/versions", data=iris_form(iris_export))
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await client.post(
        "/api/models/iris/versions",
        data=iris_form(iris_export),
        headers=bearer(tokens["alice-read"]),
    )
    assert resp.status == 403
    assert "'write' scope" in (await resp.json())["error"]
    await _publish(client, iris_export, tokens["alice"])
    resp = await client.put(
        "/api/models/iris/aliases/production",
        json={"version": 1},
        headers=bearer(tokens["alice-read"]),
    )
    assert resp.status == 403


async def test_only_owner_and_collaborators_move_aliases_and_publish(
    client, api_hub, tokens, iris_export
) -> None:
    await _publish(client, iris_export, tokens["alice"])
    put = {"json": {"version": 1}}
    resp = await client.put(
        "/api/models/iris/aliases/production", headers=bearer(tokens["bob"]), **put
    )
    assert resp.status == 403 and "owner and collaborators" in (await resp.json())["error"]
    resp = await client.post(
        "/api/models/iris/versions", data=iris_form(iris_export), headers=bearer(tokens["bob"])
    )
    assert resp.status == 403

    from hub.catalog import access

    api_hub.db.transaction(lambda s: access.add_collaborator(s, "iris", "carol"))
    resp = await client.put(
        "/api/models/iris/aliases/production", headers=bearer(tokens["carol"]), **put
    )
    assert resp.status == 200
    # a collaborator may write but not change the model's card or flags
    resp = await client.patch(
        "/api/models/iris", json={"private": True}, headers=bearer(tokens["carol"])
    )
    assert resp.status == 403
    detail = await (await client.get("/api/models/iris")).json()
    assert detail["aliases"] == {"production": 1} and detail["owner"] == "alice"


async def test_private_model_is_404_to_strangers_on_every_route(
    client, api_hub, tokens, iris_export
) -> None:
    await _publish(client, iris_export, tokens["alice"], name="secret")
    await _publish(client, iris_export, tokens["alice"], name="public")
    resp = await client.patch(
        "/api/models/secret", json={"private": True}, headers=bearer(tokens["alice"])
    )
    assert resp.status == 200 and (await resp.json())["private"] is True
    events = await client.get(
        "/v2/events", params={"last_event_id": "0"}, headers=bearer(tokens["bob"])
    )
    assert events.status == 200

    strangers = [{}, bearer(tokens["bob"])]
    routes = [
        ("GET", "/api/models/secret", {}),
        ("GET", "/api/models/secret/versions/1", {}),
        ("GET", "/api/models/secret/versions/1/model.onnx", {}),
        ("GET", "/api/models/secret/versions/1/test_data.npz", {}),
        ("PATCH", "/api/models/secret", {"json": {"description": "x"}}),
        ("DELETE", "/api/models/secret/versions/1", {}),
        ("PUT", "/api/models/secret/aliases/prod", {"json": {"version": 1}}),
        ("DELETE", "/api/models/secret/aliases/prod", {}),
        ("POST", "/api/models/secret/versions", {"data": iris_form(iris_export)}),
        ("GET", "/v2/models/secret", {}),
        ("GET", "/v2/models/secret/ready", {}),
        ("GET", "/v2/models/secret/versions/1", {}),
        ("POST", "/v2/models/secret/infer", {"json": ROW}),
        ("POST", "/v2/models/secret/versions/1/infer", {"json": ROW}),
        ("POST", "/v2/repository/models/secret/load", {}),
        ("POST", "/v2/repository/models/secret/unload", {}),
    ]
    for headers in strangers:
        for method, path, kwargs in routes:
            if "data" in kwargs:
                kwargs = {"data": iris_form(iris_export)}
            resp = await client.request(method, path, headers=headers, **kwargs)
            assert resp.status == 404, (method, path, headers, await resp.text())
            body = await resp.json()
            if "data" in kwargs:
                continue  # publishing to an unknown name creates it: no twin to compare
            twin = await client.request(
                method, path.replace("secret", "nosuchmodel"), headers=headers, **kwargs
            )
            assert twin.status == 404, (method, path)
            unknown = (await twin.json())["error"].replace("nosuchmodel", "secret")
            assert body == {"error": unknown}

        listing = await (await client.get("/api/models", headers=headers)).json()
        assert [m["name"] for m in listing["models"]] == ["public"]
        index = await (await client.post("/v2/repository/index", headers=headers)).json()
        assert [e["name"] for e in index] == ["public"]
        await client.post("/v2/models/public/infer", json=ROW, headers=headers)
        metrics = await (await client.get("/metrics", headers=headers)).text()
        assert 'model="secret"' not in metrics

    # the owner, an admin and a collaborator see it
    for who in ("alice", "root"):
        assert (await client.get("/api/models/secret", headers=bearer(tokens[who]))).status == 200
        resp = await client.post("/v2/models/secret/infer", json=ROW, headers=bearer(tokens[who]))
        assert resp.status == 200
    metrics = await (await client.get("/metrics", headers=bearer(tokens["alice"]))).text()
    assert 'model="secret"' in metrics
    listing = await (await client.get("/api/models", headers=bearer(tokens["root"]))).json()
    assert sorted(m["name"] for m in listing["models"]) == ["public", "secret"]

    # the event stream a stranger opened never carried the private model's events
    await client.patch(
        "/api/models/public", json={"description": "d"}, headers=bearer(tokens["alice"])
    )
    await client.patch(
        "/api/models/secret", json={"description": "d"}, headers=bearer(tokens["alice"])
    )
    seen = await _read_events(
        events, until=lambda e: e.get("model") == "public" and e["kind"] == "model.updated"
    )
    assert all(e.get("model") != "secret" for e in seen), seen
    assert any(e.get("model") == "public" for e in seen)
    events.close()


async def _read_events(resp, until, timeout: float = 10.0) -> list[dict]:  # type: ignore[no-untyped-def]
    seen: list[dict] = []

    async def read() -> None:
        while True:
            line = (await resp.content.readline()).decode()
            if line.startswith("data: "):
                event = json.loads(line[6:])
                seen.append(event)
                if until(event):
                    return

    await asyncio.wait_for(read(), timeout)
    return seen


async def test_required_mode_needs_a_token_everywhere_but_health(
    aiohttp_client, api_hub, tokens
) -> None:
    from dataclasses import replace

    from hub.server.app import create_app as make

    app = make(api_hub, replace(api_hub.settings))
    from hub.server.auth import AUTH_MODE

    app[AUTH_MODE] = "required"
    client = await aiohttp_client(app)
    assert (await client.get("/v2/health/live")).status == 200
    for path in ("/api/models", "/api/whoami", "/v2", "/metrics", "/api/openapi.json"):
        resp = await client.get(path)
        assert resp.status == 401, path
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await client.get(path, headers=bearer(tokens["bob"]))).status == 200
    assert np.isfinite(1.0)


async def test_load_and_unload_need_write_on_the_model(client, api_hub, tokens, iris_export):
    await _publish(client, iris_export, tokens["alice"])
    unload = "/v2/repository/models/iris/unload"
    assert (await client.post(unload)).status == 401
    resp = await client.post(unload, headers=bearer(tokens["alice-read"]))
    assert resp.status == 403 and "'write' scope" in (await resp.json())["error"]
    resp = await client.post(unload, headers=bearer(tokens["bob"]))
    assert resp.status == 403 and "owner and collaborators" in (await resp.json())["error"]
    assert (await client.post("/v2/models/iris/infer", json=ROW)).status == 200  # still served
    from hub.catalog import access

    api_hub.db.transaction(lambda s: access.add_collaborator(s, "iris", "carol"))
    assert (await client.post(unload, headers=bearer(tokens["carol"]))).status == 200
    assert (await client.post("/v2/models/iris/infer", json=ROW)).status == 503
    load = "/v2/repository/models/iris/load"
    assert (await client.post(load, headers=bearer(tokens["root"]))).status == 200  # admin
    assert (await client.post("/v2/models/iris/infer", json=ROW)).status == 200
