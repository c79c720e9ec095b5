"""Browsing, downloading, aliases and deletion over ``/api``, and concurrent uploads."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from api_helpers import bearer, iris_form

from hub.server.app import create_app

ROW = {
    "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}]
}


@pytest.fixture
async def client(aiohttp_client, api_hub):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(api_hub))


async def _publish(client, export, token, name, **metadata):  # type: ignore[no-untyped-def]
    resp = await client.post(
        f"/api/models/{name}/versions", data=iris_form(export, **metadata), headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _names(client, **params) -> list[str]:  # type: ignore[no-untyped-def]
    resp = await client.get("/api/models", params=params)
    assert resp.status == 200, await resp.text()
    return [m["name"] for m in (await resp.json())["models"]]


async def test_search_filters_and_sorts(client, tokens, iris_export) -> None:
    await _publish(client, iris_export, tokens["alice"], "iris-flowers", tags=["flowers"])
    await _publish(
        client,
        iris_export,
        tokens["bob"],
        "penguins",
        tags=["birds"],
        description="Says which flowers a penguin likes",
    )
    await _publish(
        client,
        iris_export,
        tokens["alice"],
        "sure",
        task="tabular-regression",
        description="100%_sure",
    )
    await _publish(client, iris_export, tokens["bob"], "o-brien", description="O'Brien's model")

    assert await _names(client, search="flowers") == [
        "iris-flowers",
        "penguins",
    ]  # name ranks first
    assert await _names(client, search="flowers penguin") == ["penguins"]  # every term must occur
    assert await _names(client, search="FLOWERS", owner="bob") == ["penguins"]
    assert await _names(client, tag="birds") == ["penguins"]
    assert await _names(client, task="tabular-regression") == ["sure"]
    assert await _names(client, task="regression") == ["sure"]  # an alias of the task
    assert await _names(client, library="sklearn", owner="alice", sort="name") == [
        "iris-flowers",
        "sure",
    ]
    assert await _names(client, library="keras") == []
    # wildcards and quotes are literal text, not SQL
    assert await _names(client, search="%") == ["sure"]
    assert await _names(client, search="_") == ["sure"]
    assert await _names(client, search="O'Brien") == ["o-brien"]
    assert await _names(client, search="'; DROP TABLE models; --") == []
    assert await _names(client, sort="name") == ["iris-flowers", "o-brien", "penguins", "sure"]
    assert await _names(client, sort="name", direction="desc") == [
        "sure",
        "penguins",
        "o-brien",
        "iris-flowers",
    ]
    assert await _names(client, sort="created") == [
        "o-brien",
        "sure",
        "penguins",
        "iris-flowers",
    ]
    for params, message in (
        ({"sort": "likes-ish"}, "unknown sort"),
        ({"direction": "up"}, "direction"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"cursor": "!!!"}, "invalid cursor"),
        ({"colour": "red"}, "unknown query parameter"),
        ({"search": "a\x00b"}, "NUL"),
    ):
        resp = await client.get("/api/models", params=params)
        assert resp.status == 400, params
        assert message in (await resp.json())["error"]


async def test_cursor_pages_are_stable_under_concurrent_inserts(client, tokens, iris_export):
    for i in range(5):
        await _publish(client, iris_export, tokens["alice"], f"m{i}")
    seen: list[str] = []
    params = {"sort": "created", "limit": "2"}
    page = await (await client.get("/api/models", params=params)).json()
    seen += [m["name"] for m in page["models"]]
    # new models arrive between pages: they sort before the cursor and never shift a page
    await _publish(client, iris_export, tokens["bob"], "late-1")
    while page["next_cursor"]:
        page = await (
            await client.get("/api/models", params={**params, "cursor": page["next_cursor"]})
        ).json()
        seen += [m["name"] for m in page["models"]]
        await _publish(client, iris_export, tokens["bob"], f"late-{len(seen)}")
    assert seen == ["m4", "m3", "m2", "m1", "m0"]
    resp = await client.get(
        "/api/models", params={"sort": "name", "cursor": page["next_cursor"] or _cursor_of(seen)}
    )
    assert resp.status == 400


@pytest.mark.parametrize(
    "forged",
    [
        {"s": "created", "d": "desc", "k": "2020-01-01T00:00:00", "i": 10**30},
        {"s": "downloads", "d": "desc", "k": 10**30, "i": 1},
        {"s": "name", "d": "asc", "k": "a\x00b", "i": 1},
        {"s": "created", "d": "desc", "k": "yesterday", "i": 1},
        {"s": "created", "d": "desc", "k": "2020-01-01T00:00:00", "i": "one"},
    ],
)
async def test_forged_cursors_are_400(client, tokens, iris_export, forged) -> None:
    import base64
    import json

    await _publish(client, iris_export, tokens["alice"], "m")
    cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
    resp = await client.get(
        "/api/models", params={"sort": forged["s"], "direction": forged["d"], "cursor": cursor}
    )
    assert resp.status == 400 and "invalid cursor" in (await resp.json())["error"]


def _cursor_of(_: list[str]) -> str:
    import base64
    import json

    raw = json.dumps({"s": "created", "d": "desc", "k": "2020-01-01T00:00:00", "i": 1})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def test_downloads_carry_etag_range_and_count(client, tokens, iris_export) -> None:
    version = await _publish(client, iris_export, tokens["alice"], "iris")
    url = "/api/models/iris/versions/1/model.onnx"
    resp = await client.get(url)
    body = await resp.read()
    assert resp.status == 200 and body == iris_export.model_bytes
    assert hashlib.sha256(body).hexdigest() == version["sha256"]
    assert resp.headers["ETag"] == f'"{version["sha256"]}"'
    assert int(resp.headers["Content-Length"]) == len(body)
    assert resp.headers["Accept-Ranges"] == "bytes"

    resp = await client.get(url, headers={"If-None-Match": f'"{version["sha256"]}"'})
    assert resp.status == 304 and await resp.read() == b""
    resp = await client.get(url, headers={"Range": "bytes=0-9"})
    assert resp.status == 206 and await resp.read() == body[:10]
    assert resp.headers["Content-Range"] == f"bytes 0-9/{len(body)}"
    resp = await client.get(url, headers={"Range": "bytes=-5"})
    assert resp.status == 206 and await resp.read() == body[-5:]
    resp = await client.get(url, headers={"Range": f"bytes={len(body)}-"})
    assert resp.status == 416 and resp.headers["Content-Range"] == f"bytes */{len(body)}"
    resp = await client.head(url)
    assert resp.status == 200 and int(resp.headers["Content-Length"]) == len(body)
    resp = await client.get("/api/models/iris/versions/latest-ish/model.onnx")
    assert resp.status == 404

    data = await (await client.get("/api/models/iris/versions/1/test_data.npz")).read()
    assert hashlib.sha256(data).hexdigest() == version["test_data_sha256"]
    detail = await (await client.get("/api/models/iris")).json()
    assert detail["downloads"] == 1  # the one full GET of model.onnx; not 304, 206, HEAD
    assert (await (await client.get("/api/models/iris/versions/1")).json())["downloads"] == 1
    assert await _names(client, sort="downloads") == ["iris"]


async def test_aliases_and_version_deletion(client, tokens, iris_export) -> None:
    await _publish(client, iris_export, tokens["alice"], "iris")
    await _publish(client, iris_export, tokens["alice"], "iris")
    owner = bearer(tokens["alice"])
    resp = await client.put(
        "/api/models/iris/aliases/production", json={"version": 1}, headers=owner
    )
    assert resp.status == 200 and await resp.json() == {
        "model": "iris",
        "alias": "production",
        "version": 1,
    }
    by_alias = await (await client.get("/api/models/iris/versions/production")).json()
    assert by_alias["version"] == 1 and by_alias["aliases"] == ["production"]
    for body, message in (
        ({"version": "1"}, "positive integer"),
        ({}, "required"),
        ({"version": 1, "x": 2}, "unknown field"),
        ({"version": 9}, "no version 9"),
        ({"version": 99999999999999999999}, "largest version number"),
    ):
        resp = await client.put("/api/models/iris/aliases/production", json=body, headers=owner)
        assert resp.status in (400, 404) and message in (await resp.json())["error"]

    resp = await client.delete("/api/models/iris/versions/1", headers=owner)
    assert resp.status == 409 and "production" in (await resp.json())["error"]
    assert (
        await client.delete("/api/models/iris/versions/2", headers=bearer(tokens["bob"]))
    ).status == 403
    assert (await client.post("/v2/models/iris/versions/2/infer", json=ROW)).status == 200
    resp = await client.delete("/api/models/iris/versions/2", headers=owner)
    assert resp.status == 200 and await resp.json() == {
        "model": "iris",
        "version": 2,
        "deleted": True,
    }
    assert (await client.get("/api/models/iris/versions/2")).status == 404
    for _ in range(100):  # the running server hears of the deletion through the event log
        resp = await client.post("/v2/models/iris/versions/2/infer", json=ROW)
        if resp.status == 404:
            break
        await asyncio.sleep(0.05)
    assert resp.status == 404 and "was deleted" in (await resp.json())["error"]
    index = await (await client.post("/v2/repository/index")).json()
    assert [(e["name"], e["version"]) for e in index] == [("iris", "1")]
    detail = await (await client.get("/api/models/iris")).json()
    assert [(v["number"], v["deleted"]) for v in detail["versions"]] == [(1, False), (2, True)]
    assert detail["latest_version"] == 1
    third = await _publish(client, iris_export, tokens["alice"], "iris")
    assert third["version"] == 3  # a deleted number is never reused
    resp = await client.delete("/api/models/iris/aliases/production", headers=owner)
    assert resp.status == 204
    assert (await client.delete("/api/models/iris/aliases/production", headers=owner)).status == 404
    assert (await client.delete("/api/models/iris/versions/1", headers=owner)).status == 200


async def test_patch_edits_the_card_and_flags(client, tokens, iris_export) -> None:
    await _publish(client, iris_export, tokens["alice"], "iris")
    card = "---\nlicense: mit\ntags: [flowers]\npipeline_tag: tabular-classification\n---\n# Iris\n"
    resp = await client.patch(
        "/api/models/iris",
        headers=bearer(tokens["alice"]),
        json={"card": card, "tags": ["a", "b"], "license": "mit"},
    )
    assert resp.status == 200, await resp.text()
    detail = await resp.json()
    assert detail["card_data"]["license"] == "mit" and detail["tags"] == ["a", "b"]
    for body, message in (
        ({"owner": "bob"}, "unknown field"),
        ({"private": "yes"}, "'private'"),
        ({"card": "---\nmetrics: 3\n---\n"}, "front matter field 'metrics'"),
        ({"tags": ["bad tag!"]}, "invalid tag"),
    ):
        resp = await client.patch("/api/models/iris", json=body, headers=bearer(tokens["alice"]))
        assert resp.status == 400 and message in (await resp.json())["error"], body
    resp = await client.patch("/api/models/iris", data="x", headers=bearer(tokens["alice"]))
    assert resp.status == 415


async def test_concurrent_uploads_give_unique_dense_versions(
    aiohttp_client, api_hub, tokens, iris_export
) -> None:
    """100 uploads of one model from 4 clients at once: versions 1..100, no orphan rows."""
    from sqlalchemy import func, select

    from hub.catalog.models import Event, Model, Version

    clients = [await aiohttp_client(create_app(api_hub)) for _ in range(4)]
    who = ["alice", "alice", "root", "alice"]
    await _publish(clients[0], iris_export, tokens["alice"], "iris")  # the model exists first
    await clients[0].put("/api/models/iris", json={})  # (405: no such method) harmless

    async def upload(i: int) -> int:
        client = clients[i % 4]
        resp = await client.post(
            "/api/models/iris/versions",
            data=iris_form(iris_export),
            headers=bearer(tokens[who[i % 4]]),
        )
        assert resp.status == 201, await resp.text()
        return (await resp.json())["version"]

    numbers = await asyncio.gather(*(upload(i) for i in range(99)))
    assert sorted(numbers) == list(range(2, 101))
    with api_hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Model)) == 1
        assert session.scalar(select(func.count()).select_from(Version)) == 100
        published = session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "version.published")
        )
        assert published == 100
    files = [p for p in api_hub.settings.artifacts.rglob("*") if p.is_file()]
    assert len(files) == 2  # identical bytes are one blob each: model and test data


async def test_tasks_over_http_are_the_vocabulary(client, tokens, iris_export) -> None:
    """Issue 9 item 8 over HTTP: uploads and PATCH store the vocabulary's name; others 400."""
    await _publish(client, iris_export, tokens["alice"], "vocab", task="classification")
    assert await _names(client, task="tabular-classification") == ["vocab"]
    resp = await client.patch(
        "/api/models/vocab", json={"task": "Regression"}, headers=bearer(tokens["alice"])
    )
    assert resp.status == 200 and (await resp.json())["task"] == "tabular-regression"
    resp = await client.patch(
        "/api/models/vocab", json={"task": "nonsense"}, headers=bearer(tokens["alice"])
    )
    assert resp.status == 400 and "unknown field 'task' 'nonsense'" in (await resp.json())["error"]
    resp = await client.post(
        "/api/models/other/versions",
        data=iris_form(iris_export, task="nonsense"),
        headers=bearer(tokens["alice"]),
    )
    assert resp.status == 400 and "unknown metadata task 'nonsense'" in (await resp.json())["error"]
    resp = await client.get("/api/models", params={"task": "nonsense"})
    assert resp.status == 400
