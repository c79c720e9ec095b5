"""The pages over plain HTTP (no browser): headers, sessions, CSRF, private models, Markdown."""

from __future__ import annotations

import re

import pytest
from community_helpers import bearer, model_form

from hub.server.app import create_app
from hub.server.headers import CONTENT_SECURITY_POLICY
from hub.server.pages.markdown import render_markdown


@pytest.fixture
async def client(aiohttp_client, api_hub):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(api_hub))


async def publish(client, export, token, name="iris", **meta):  # type: ignore[no-untyped-def]
    resp = await client.post(
        f"/api/models/{name}/versions", data=model_form(export, **meta), headers=bearer(token)
    )
    assert resp.status == 201, await resp.text()


def _csrf(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match is not None
    return match.group(1)


async def test_every_page_has_the_strict_policy_and_no_inline_script(
    client, tokens, iris_v1
) -> None:
    await publish(client, iris_v1, tokens["alice"])
    for path in ("/", "/models/iris", "/models/iris/contributions", "/dashboard", "/login"):
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert resp.headers["X-Frame-Options"] == "DENY"
        html = await resp.text()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], path
        assert re.search(r"\son[a-z]+=", html) is None, path
    resp = await client.get("/models/nope")
    assert resp.status == 404 and "unknown model" in await resp.text()
    assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


async def test_login_sets_a_strict_http_only_cookie_and_forms_need_the_csrf_token(
    client, tokens, iris_v1
) -> None:
    await publish(client, iris_v1, tokens["alice"])
    page = await client.get("/login")
    csrf = _csrf(await page.text())
    assert (
        "HttpOnly" in page.headers["Set-Cookie"] and "SameSite=Strict" in page.headers["Set-Cookie"]
    )
    # without the token of this browser: refused, nothing set
    resp = await client.post(
        "/login", data={"token": tokens["bob"], "csrf_token": "x" * 43}, allow_redirects=False
    )
    assert resp.status == 403 and "onnxhub_session" not in resp.headers.get("Set-Cookie", "")
    resp = await client.post(
        "/login", data={"token": "onh_" + "y" * 43, "csrf_token": csrf}, allow_redirects=False
    )
    assert resp.status == 401 and "unknown token" in await resp.text()
    resp = await client.post(
        "/login",
        data={"token": tokens["bob"], "csrf_token": csrf, "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/"
    cookie = resp.cookies["onnxhub_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    home = await client.get("/")
    assert "Signed in as <strong>bob</strong>" in await home.text()
    # liking through the page's form: only with the CSRF token
    resp = await client.post("/models/iris/like", data={"action": "like"}, allow_redirects=False)
    assert resp.status == 403
    resp = await client.post(
        "/models/iris/like", data={"action": "like", "csrf_token": csrf}, allow_redirects=False
    )
    assert resp.status == 303
    assert (await (await client.get("/api/models/iris")).json())["likes"] == 1
    # a script using the cookie on /api must send X-CSRF-Token, or it acts anonymously
    resp = await client.delete("/api/models/iris/like")
    assert resp.status == 401
    resp = await client.delete("/api/models/iris/like", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200 and (await resp.json())["likes"] == 0
    resp = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert resp.status == 303
    assert "Log in" in await (await client.get("/")).text()


async def test_a_revoked_token_ends_the_session_quietly(client, api_hub, tokens) -> None:
    from hub.catalog import accounts

    page = await client.get("/login")
    csrf = _csrf(await page.text())
    await client.post("/login", data={"token": tokens["carol"], "csrf_token": csrf})
    assert "Signed in as" in await (await client.get("/")).text()

    def revoke(session) -> None:  # type: ignore[no-untyped-def]
        for row in accounts.list_tokens(session, "carol"):
            accounts.revoke_token(session, row.id)

    api_hub.db.transaction(revoke)
    resp = await client.get("/")
    assert resp.status == 200
    text = await resp.text()
    assert "no longer valid" in text and "Signed in as" not in text
    assert "onnxhub_session" in resp.headers.get("Set-Cookie", "")


async def test_private_models_are_hidden_from_strangers_on_the_pages(
    client, tokens, iris_v1, iris_v2
) -> None:
    await publish(client, iris_v1, tokens["alice"], name="hidden")
    await publish(client, iris_v2, tokens["alice"], name="shown")
    await client.patch(
        "/api/models/hidden", json={"private": True}, headers=bearer(tokens["alice"])
    )
    catalog = await (await client.get("/")).text()
    assert 'data-name="shown"' in catalog and 'data-name="hidden"' not in catalog
    for path in (
        "/models/hidden",
        "/models/hidden/contributions",
        "/models/hidden/contributions/1",
    ):
        resp = await client.get(path)
        assert resp.status == 404 and "unknown model &#39;hidden&#39;" in await resp.text(), path
    resp = await client.get("/models/hidden", headers=bearer(tokens["alice"]))
    assert resp.status == 200


def test_markdown_is_rendered_and_sanitised() -> None:
    html = str(
        render_markdown(
            "# T\n\n**b** <script>alert(1)</script> <img src=x onerror=alert(2)>"
            ' <a href="javascript:alert(3)">j</a> [ok](https://example.org)\n\n'
            '<iframe src="https://evil"></iframe><style>*{}</style>'
        )
    )
    assert "<h1>T</h1>" in html and "<strong>b</strong>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>' in html
    for bad in ("<script", "alert(1)", "<img", "onerror", "javascript:", "<iframe", "<style"):
        assert bad not in html


async def test_the_model_page_counts_downloads_per_version_and_model(
    client, tokens, iris_v1, iris_v2
) -> None:
    await publish(client, iris_v1, tokens["alice"])
    await publish(client, iris_v2, tokens["alice"])
    for _ in range(2):
        resp = await client.get("/api/models/iris/versions/1/model.onnx")
        assert await resp.read() == iris_v1.model_bytes
    resp = await client.get("/api/models/iris/versions/2/model.onnx")
    await resp.read()
    resp = await client.head("/api/models/iris/versions/2/model.onnx")  # not counted
    page = await (await client.get("/models/iris?version=1")).text()
    assert re.search(r'<span id="downloads">3</span> downloads', page)
    assert "2 downloads of version 1" in page
    page = await (await client.get("/models/iris?version=2")).text()
    assert "1 download of version 2" in page


async def test_comments_from_the_page_and_their_deletion_by_the_author(
    client, tokens, iris_v1
) -> None:
    await publish(client, iris_v1, tokens["alice"])
    csrf = _csrf(await (await client.get("/login")).text())
    await client.post("/login", data={"token": tokens["bob"], "csrf_token": csrf})
    resp = await client.post(
        "/models/iris/comments",
        data={"body": "Great <b onclick=x>card</b> *really*", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/models/iris#comments"
    page = await (await client.get("/models/iris")).text()
    assert "<b>card</b> <em>really</em>" in page and "onclick" not in page
    comment_id = (await (await client.get("/api/models/iris/comments")).json())["comments"][0]["id"]
    resp = await client.post(
        f"/models/iris/comments/{comment_id}/delete", data={}, allow_redirects=False
    )
    assert resp.status == 403  # no CSRF token
    resp = await client.post(
        f"/models/iris/comments/{comment_id}/delete",
        data={"csrf_token": csrf},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert (await (await client.get("/api/models/iris/comments")).json())["comments"] == []


async def test_the_catalog_pages_follow_the_api_cursor(client, tokens, iris_v1) -> None:
    names = [f"m{i:02d}" for i in range(21)]
    for name in names:
        await publish(client, iris_v1, tokens["alice"], name=name)
    first = await (await client.get("/?sort=name")).text()
    rows = re.findall(r'<tr class="model-row" data-name="([^"]+)">', first)
    assert rows == names[:20]
    next_url = re.search(r'<a href="([^"]+)" id="next-page">', first)
    assert next_url is not None
    second = await (await client.get(next_url.group(1).replace("&amp;", "&"))).text()
    assert re.findall(r'<tr class="model-row" data-name="([^"]+)">', second) == names[20:]
    assert 'id="next-page"' not in second and 'id="first-page"' in second
    resp = await client.get("/?sort=popularity")
    assert resp.status == 400 and "unknown sort" in await resp.text()


async def test_the_dashboard_shows_a_private_model_only_to_those_who_may_see_it(
    client, tokens, iris_v1, iris_v2
) -> None:
    await publish(client, iris_v1, tokens["alice"], name="hidden")
    await publish(client, iris_v2, tokens["alice"], name="shown")
    await client.patch(
        "/api/models/hidden", json={"private": True}, headers=bearer(tokens["alice"])
    )
    row = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}
    for name in ("hidden", "shown"):
        resp = await client.post(
            f"/v2/models/{name}/infer", json=row, headers=bearer(tokens["alice"])
        )
        assert resp.status == 200, await resp.text()
    anonymous = await (await client.get("/dashboard.json")).json()
    assert [m["model"] for m in anonymous["loaded"]] == ["shown"]
    assert anonymous["loaded"][0]["requests"] == 1 and anonymous["loaded"][0]["runs"] == 1
    assert anonymous["loaded"][0]["mean_batch_rows"] == 1.0
    assert anonymous["providers"] == ["CPUExecutionProvider"]
    owner = await (await client.get("/dashboard.json", headers=bearer(tokens["alice"]))).json()
    assert sorted(m["model"] for m in owner["loaded"]) == ["hidden", "shown"]
    page = await (await client.get("/dashboard")).text()
    assert 'data-model="shown"' in page and 'data-model="hidden"' not in page


async def test_every_kind_of_response_carries_the_security_headers(client, tokens, iris_v1) -> None:
    """Handlers' responses, errors, the router's 404 and 405, redirects, static files, the
    event stream and downloads: each sets the headers its own way (see hub.server.front)."""
    await publish(client, iris_v1, tokens["alice"])
    page = await client.get("/login")
    csrf = _csrf(await page.text())
    responses = {
        "infer": await client.post(
            "/v2/models/iris/infer",
            json={
                "inputs": [
                    {
                        "name": "input",
                        "shape": [1, 4],
                        "datatype": "FP32",
                        "data": [5.1, 3.5, 1.4, 0.2],
                    }
                ]
            },
        ),
        "bad body": await client.post("/v2/models/iris/infer", json={"inputs": 1}),
        "router 404": await client.get("/no/such/route"),
        "router 405": await client.delete("/v2/health/live"),
        "bad token": await client.get("/v2/models/iris", headers=bearer("onh_" + "x" * 43)),
        "redirect": await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False),
        "static": await client.get("/static/app.css"),
        "download": await client.get("/api/models/iris/versions/1/model.onnx"),
    }
    events = await client.get("/v2/events")
    responses["events"] = events
    expected = {
        "infer": 200,
        "bad body": 400,
        "router 404": 404,
        "router 405": 405,
        "bad token": 401,
        "redirect": 303,
        "static": 200,
        "download": 200,
        "events": 200,
    }
    for label, resp in responses.items():
        assert resp.status == expected[label], (label, await resp.text())
        assert resp.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, label
        assert resp.headers["X-Content-Type-Options"] == "nosniff", label
        assert resp.headers["X-Frame-Options"] == "DENY", label
    events.close()
    for label in ("infer", "bad body", "router 404", "bad token"):
        assert responses[label].headers["Content-Type"] == "application/json", label
    assert responses["bad token"].headers["WWW-Authenticate"] == 'Bearer realm="onnxhub"'
    assert responses["redirect"].headers["Location"] == "/"
