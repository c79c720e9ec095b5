"""Likes, comments and contributions over ``/api``, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from community_helpers import bearer, model_form

from hub.export.contribution_checks import CHECK_NAMES
from hub.server.app import create_app


@pytest.fixture
async def client(aiohttp_client, api_hub):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(api_hub))


async def publish(client, export, token, name="iris", **meta):  # type: ignore[no-untyped-def]
    resp = await client.post(
        f"/api/models/{name}/versions", data=model_form(export, **meta), headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_likes_are_one_per_user_idempotent_and_counted_in_the_catalog(
    client, tokens, iris_v1
) -> None:
    await publish(client, iris_v1, tokens["alice"])
    resp = await client.post("/api/models/iris/like")
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await client.post("/api/models/iris/like", headers=bearer(tokens["alice-read"]))
    assert resp.status == 403
    for _ in range(3):
        resp = await client.post("/api/models/iris/like", headers=bearer(tokens["bob"]))
        assert await resp.json() == {"model": "iris", "liked": True, "likes": 1}
    # twenty concurrent clicks of two people: still one like each
    clicks = [
        client.post("/api/models/iris/like", headers=bearer(tokens[who]))
        for who in ("carol", "alice") * 10
    ]
    assert {r.status for r in await asyncio.gather(*clicks)} == {200}
    summary = (await (await client.get("/api/models?search=iris")).json())["models"][0]
    assert summary["likes"] == 3
    resp = await client.delete("/api/models/iris/like", headers=bearer(tokens["bob"]))
    assert await resp.json() == {"model": "iris", "liked": False, "likes": 2}
    resp = await client.delete("/api/models/iris/like", headers=bearer(tokens["bob"]))
    assert (await resp.json())["likes"] == 2
    assert (await client.post("/api/models/nope/like", headers=bearer(tokens["bob"]))).status == 404


async def test_sort_by_likes_follows_the_like_counts(client, tokens, iris_v1, iris_v2) -> None:
    for name, export in (("a-model", iris_v1), ("b-model", iris_v2), ("c-model", iris_v1)):
        await publish(client, export, tokens["alice"], name=name)
    for who in ("alice", "bob", "carol"):
        await client.post("/api/models/c-model/like", headers=bearer(tokens[who]))
    await client.post("/api/models/a-model/like", headers=bearer(tokens["bob"]))
    page = await (await client.get("/api/models?sort=likes&limit=2")).json()
    assert [(m["name"], m["likes"]) for m in page["models"]] == [("c-model", 3), ("a-model", 1)]
    rest = await (
        await client.get(f"/api/models?sort=likes&limit=2&cursor={page['next_cursor']}")
    ).json()
    assert [(m["name"], m["likes"]) for m in rest["models"]] == [("b-model", 0)]


async def test_comments_are_listed_and_only_author_or_admin_deletes(
    client, tokens, iris_v1
) -> None:
    await publish(client, iris_v1, tokens["alice"])
    resp = await client.post("/api/models/iris/comments", json={"body": "hi"})
    assert resp.status == 401
    resp = await client.post(
        "/api/models/iris/comments",
        json={"body": "Works **well** <script>x</script>"},
        headers=bearer(tokens["bob"]),
    )
    assert resp.status == 201
    first = await resp.json()
    assert first["author"] == "bob" and first["contribution"] is None
    resp = await client.post(
        "/api/models/iris/comments", json={"body": "  "}, headers=bearer(tokens["bob"])
    )
    assert resp.status == 400 and "body" in (await resp.json())["error"]
    resp = await client.post(
        "/api/models/iris/comments", json={"body": "x", "extra": 1}, headers=bearer(tokens["bob"])
    )
    assert resp.status == 400
    second = await (
        await client.post(
            "/api/models/iris/comments", json={"body": "thanks"}, headers=bearer(tokens["alice"])
        )
    ).json()
    listed = await (await client.get("/api/models/iris/comments")).json()
    assert [c["id"] for c in listed["comments"]] == [first["id"], second["id"]]
    assert listed["comments"][0]["body"] == "Works **well** <script>x</script>"
    path = f"/api/models/iris/comments/{first['id']}"
    assert (await client.delete(path, headers=bearer(tokens["alice"]))).status == 403
    assert (await client.delete(path, headers=bearer(tokens["bob"]))).status == 204
    assert (await client.delete(path, headers=bearer(tokens["bob"]))).status == 404
    other = f"/api/models/iris/comments/{second['id']}"
    assert (await client.delete(other, headers=bearer(tokens["root"]))).status == 204
    assert (await (await client.get("/api/models/iris/comments")).json())["comments"] == []


async def test_a_good_contribution_passes_every_check_and_approval_makes_the_next_version(
    client, tokens, iris_v1, iris_v2
) -> None:
    await publish(client, iris_v1, tokens["alice"], alias="production")
    resp = await client.post(
        "/api/models/iris/contributions",
        data=model_form(iris_v2, contribution={"title": "Stronger regularisation"}),
        headers=bearer(tokens["bob"]),
    )
    assert resp.status == 201, await resp.text()
    opened = await resp.json()
    assert opened["status"] == "open" and opened["author"] == "bob"
    assert [c["name"] for c in opened["checks"]] == list(CHECK_NAMES)
    assert all(c["passed"] for c in opened["checks"]), opened["checks"]
    assert opened["target_version"] == 1 and opened["parity"]["passed"] is True
    cid = opened["id"]
    # bob may not approve his own contribution to alice's model
    resp = await client.post(
        f"/api/models/iris/contributions/{cid}/approve", headers=bearer(tokens["bob"])
    )
    assert resp.status == 403
    resp = await client.post(
        f"/api/models/iris/contributions/{cid}/approve",
        json={"comment": "thanks"},
        headers=bearer(tokens["alice"]),
    )
    assert resp.status == 200, await resp.text()
    approved = await resp.json()
    assert approved["version"]["version"] == 2
    assert approved["contribution"]["status"] == "approved"
    assert approved["contribution"]["version"] == 2
    model = await (await client.get("/api/models/iris")).json()
    assert [v["number"] for v in model["versions"]] == [1, 2]
    assert model["aliases"] == {"production": 1}  # untouched: the approval named no alias
    # the new version serves the contributed model: sklearn's probabilities of iris_v2
    row = iris_v2.X[:3]
    resp = await client.post(
        "/v2/models/iris/versions/2/infer",
        json={
            "inputs": [
                {"name": "input", "datatype": "FP32", "shape": [3, 4], "data": row.ravel().tolist()}
            ]
        },
    )
    assert resp.status == 200, await resp.text()
    outputs = {o["name"]: o for o in (await resp.json())["outputs"]}
    assert outputs["label"]["data"] == iris_v2.predictions[:3].tolist()
    got = np.asarray(outputs["probabilities"]["data"]).reshape(3, 3)
    np.testing.assert_allclose(got, iris_v2.probabilities[:3], atol=1e-5)
    # approving twice is a conflict
    resp = await client.post(
        f"/api/models/iris/contributions/{cid}/approve", headers=bearer(tokens["alice"])
    )
    assert resp.status == 409


async def test_failed_checks_are_stored_readable_and_block_approval(
    client, tokens, iris_v1, ridge_export
) -> None:
    await publish(client, iris_v1, tokens["alice"])
    resp = await client.post(
        "/api/models/iris/contributions",
        data=model_form(ridge_export, test_data=False, task="tabular-regression", label_outputs=[]),
        headers=bearer(tokens["bob"]),
    )
    assert resp.status == 201
    opened = await resp.json()
    checks = {c["name"]: c for c in opened["checks"]}
    assert checks["onnx_valid"]["passed"] and checks["loads_in_onnxruntime"]["passed"]
    assert not checks["signature_compatible"]["passed"]
    assert "input input changed" in checks["signature_compatible"]["detail"] or (
        "outputs removed" in checks["signature_compatible"]["detail"]
    )
    assert not checks["test_data_parity"]["passed"]
    assert "no test data" in checks["test_data_parity"]["detail"]
    assert opened["passed"] is False
    assert set(opened["signature_diff"]["outputs_removed"]) == {"label", "probabilities"}
    got = await (await client.get(f"/api/models/iris/contributions/{opened['id']}")).json()
    assert got["checks"] == opened["checks"]
    resp = await client.post(
        f"/api/models/iris/contributions/{opened['id']}/approve", headers=bearer(tokens["alice"])
    )
    assert resp.status == 409 and "signature_compatible" in (await resp.json())["error"]
    # the same bytes as version 1: a duplicate
    resp = await client.post(
        "/api/models/iris/contributions",
        data=model_form(iris_v1),
        headers=bearer(tokens["carol"]),
    )
    dup = {c["name"]: c for c in (await resp.json())["checks"]}
    assert not dup["not_duplicate"]["passed"] and dup["test_data_parity"]["passed"]
    # garbage bytes: stored, every dependent check says why
    form = model_form(iris_v1)
    form._fields[0] = (form._fields[0][0], form._fields[0][1], b"not an onnx file at all")
    resp = await client.post(
        "/api/models/iris/contributions", data=form, headers=bearer(tokens["carol"])
    )
    assert resp.status == 201
    bad = {c["name"]: c for c in (await resp.json())["checks"]}
    assert not bad["onnx_valid"]["passed"]
    assert bad["loads_in_onnxruntime"]["detail"].startswith("skipped")


async def test_reject_needs_a_comment_and_a_reviewer(client, tokens, iris_v1, iris_v2) -> None:
    await publish(client, iris_v1, tokens["alice"])
    opened = await (
        await client.post(
            "/api/models/iris/contributions",
            data=model_form(iris_v2),
            headers=bearer(tokens["bob"]),
        )
    ).json()
    path = f"/api/models/iris/contributions/{opened['id']}/reject"
    assert (
        await client.post(path, json={"comment": "no"}, headers=bearer(tokens["carol"]))
    ).status == 403
    resp = await client.post(path, json={}, headers=bearer(tokens["alice"]))
    assert resp.status == 400 and "comment" in (await resp.json())["error"]
    resp = await client.post(path, json={"comment": "not better"}, headers=bearer(tokens["alice"]))
    rejected = await resp.json()
    assert rejected["status"] == "rejected" and rejected["decision_comment"] == "not better"
    assert rejected["decided_by"] == "alice"
    listed = await (await client.get("/api/models/iris/contributions?status=rejected")).json()
    assert [c["id"] for c in listed["contributions"]] == [opened["id"]]
    assert (await (await client.get("/api/models/iris")).json())["latest_version"] == 1
    # comments on a contribution are kept apart from the model's
    resp = await client.post(
        "/api/models/iris/comments",
        json={"body": "why?", "contribution": opened["id"]},
        headers=bearer(tokens["bob"]),
    )
    assert resp.status == 201
    on_it = await (
        await client.get(f"/api/models/iris/comments?contribution={opened['id']}")
    ).json()
    assert [c["body"] for c in on_it["comments"]] == ["why?"]
    assert (await (await client.get("/api/models/iris/comments")).json())["comments"] == []


async def test_a_private_model_is_404_to_strangers_on_every_community_route(
    client, tokens, iris_v1, iris_v2
) -> None:
    await publish(client, iris_v1, tokens["alice"])
    resp = await client.patch(
        "/api/models/iris", json={"private": True}, headers=bearer(tokens["alice"])
    )
    assert resp.status == 200
    for method, path, kwargs in (
        ("POST", "/api/models/iris/like", {}),
        ("GET", "/api/models/iris/comments", {}),
        ("POST", "/api/models/iris/comments", {"json": {"body": "x"}}),
        ("GET", "/api/models/iris/contributions", {}),
        ("POST", "/api/models/iris/contributions", {"data": model_form(iris_v2)}),
        ("GET", "/api/models/iris/contributions/1", {}),
        ("POST", "/api/models/iris/contributions/1/approve", {}),
    ):
        resp = await client.request(method, path, headers=bearer(tokens["bob"]), **kwargs)
        assert resp.status == 404, (method, path, await resp.text())
        assert (await resp.json()) == {"error": "unknown model 'iris'"}
    resp = await client.post("/api/models/iris/like", headers=bearer(tokens["alice"]))
    assert (await resp.json())["likes"] == 1


async def test_contribution_steps_are_events_on_the_stream(
    client, tokens, iris_v1, iris_v2
) -> None:
    await publish(client, iris_v1, tokens["alice"])
    opened = await (
        await client.post(
            "/api/models/iris/contributions",
            data=model_form(iris_v2),
            headers=bearer(tokens["bob"]),
        )
    ).json()
    await client.post(
        "/api/models/iris/comments",
        json={"body": "looks good", "contribution": opened["id"]},
        headers=bearer(tokens["alice"]),
    )
    await client.post(
        f"/api/models/iris/contributions/{opened['id']}/approve", headers=bearer(tokens["alice"])
    )
    resp = await client.get("/v2/events", headers={"Last-Event-ID": "0"})
    kinds: list[str] = []
    wanted = [
        "contribution.opened",
        "contribution.checked",
        "comment.added",
        "contribution.approved",
    ]
    async with asyncio.timeout(20):
        while not all(k in kinds for k in wanted):
            line = (await resp.content.readline()).decode()
            if line.startswith("event: "):
                kinds.append(line[7:].strip())
    resp.close()
    community = [k for k in kinds if k.split(".")[0] in ("contribution", "comment")]
    assert community == wanted
    assert "version.published" in kinds


async def test_openapi_lists_the_community_routes(client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    assert set(doc["paths"]["/api/models/{name}/like"]) == {"post", "delete"}
    assert set(doc["paths"]["/api/models/{name}/contributions/{id}/approve"]) == {"post"}
    assert "Contribution" in doc["components"]["schemas"]


async def test_collaborators_and_admins_review_and_a_called_out_change_passes(
    client, api_hub, tokens, iris_v1, iris_v2, ridge_export
) -> None:
    from hub.catalog import access

    await publish(client, iris_v1, tokens["alice"])
    api_hub.db.transaction(lambda s: access.add_collaborator(s, "iris", "carol"))
    first = await (
        await client.post(
            "/api/models/iris/contributions",
            data=model_form(iris_v2),
            headers=bearer(tokens["bob"]),
        )
    ).json()
    resp = await client.post(
        f"/api/models/iris/contributions/{first['id']}/approve", headers=bearer(tokens["carol"])
    )
    assert resp.status == 200 and (await resp.json())["contribution"]["decided_by"] == "carol"
    form = model_form(
        ridge_export,
        task="tabular-regression",
        label_outputs=[],
        contribution={"signature_change": "the model now predicts petal area"},
    )
    resp = await client.post(
        "/api/models/iris/contributions", data=form, headers=bearer(tokens["bob"])
    )
    second = await resp.json()
    checks = {c["name"]: c for c in second["checks"]}
    assert second["passed"], second["checks"]
    assert checks["signature_compatible"]["detail"].startswith(
        "changes from version 2 called out (the model now predicts petal area): outputs removed"
    )
    resp = await client.post(
        f"/api/models/iris/contributions/{second['id']}/approve",
        json={"alias": "production"},
        headers=bearer(tokens["root"]),
    )
    assert resp.status == 200
    model = await (await client.get("/api/models/iris")).json()
    assert model["aliases"] == {"production": 3}


async def test_a_model_over_the_memory_budget_fails_the_size_check(
    aiohttp_client, api_settings, iris_v1, iris_v2
) -> None:
    from dataclasses import replace

    from hub.api import Hub
    from hub.catalog import accounts

    settings = replace(api_settings, max_loaded_bytes=len(iris_v2.model_bytes) - 1)
    with Hub(settings) as small:
        token = small.db.transaction(
            lambda s: accounts.create_token(s, accounts.create_user(s, "dana").name, scope="write")[
                0
            ]
        )
        client = await aiohttp_client(create_app(small))
        await publish(client, iris_v1, token)
        resp = await client.post(
            "/api/models/iris/contributions", data=model_form(iris_v2), headers=bearer(token)
        )
        checks = {c["name"]: c for c in (await resp.json())["checks"]}
        assert not checks["size_limit"]["passed"]
        assert checks["size_limit"]["detail"] == (
            f"{len(iris_v2.model_bytes)} bytes (limit {len(iris_v2.model_bytes) - 1})"
        )
        await client.close()
