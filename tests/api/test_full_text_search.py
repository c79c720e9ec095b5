"""``GET /api/models?search=`` is full text (FTS5 on SQLite, tsvector on PostgreSQL): stemmed
words match, relevance orders the matches, the index follows every change to a model, and
literal substrings (wildcards and quotes included) still match as before."""

from __future__ import annotations

import pytest
from api_helpers import bearer, iris_form

from hub.server.app import create_app


@pytest.fixture
async def client(aiohttp_client, api_hub, tokens, iris_export):  # type: ignore[no-untyped-def]
    client = await aiohttp_client(create_app(api_hub))
    for name, description in (
        ("woods", "forest forest forest: tells a forest from its trees"),
        ("atlas", "a forest among many other words in this rather long description of a map"),
        ("chorus", "Classifies the songs of birds"),
        ("birdsong", "a song bird detector"),
        ("plain", "nothing to see"),
    ):
        form = iris_form(iris_export, description=description)
        resp = await client.post(
            f"/api/models/{name}/versions", data=form, headers=bearer(tokens["alice"])
        )
        assert resp.status == 201, await resp.text()
    return client


async def _names(client, **params) -> list[str]:  # type: ignore[no-untyped-def]
    resp = await client.get("/api/models", params=params)
    assert resp.status == 200, await resp.text()
    return [m["name"] for m in (await resp.json())["models"]]


async def test_stemmed_words_match_and_relevance_orders_them(client) -> None:  # type: ignore[no-untyped-def]
    # none of these occurs literally: only the stemmed full-text match finds them
    assert await _names(client, search="forests") == ["woods", "atlas"]  # 4 occurrences first
    assert await _names(client, search="classified") == ["chorus"]
    assert sorted(await _names(client, search="songs")) == ["birdsong", "chorus"]
    assert await _names(client, search="songs classified") == ["chorus"]  # every term
    # a literal occurrence in the name ranks above full-text matches in descriptions
    assert await _names(client, search="birdsong") == ["birdsong"]
    assert (await _names(client, search="bird"))[0] == "birdsong"
    assert await _names(client, search="forests", sort="name") == ["atlas", "woods"]


async def test_pages_of_a_relevance_sort_do_not_repeat_or_skip(client) -> None:  # type: ignore[no-untyped-def]
    first = await client.get("/api/models", params={"search": "forests songs", "limit": 1})
    assert (await first.json())["models"] == []  # both terms must match: none has both
    seen, cursor = [], None
    while True:
        params = {"search": "forest", "limit": "1", **({"cursor": cursor} if cursor else {})}
        page = await (await client.get("/api/models", params=params)).json()
        seen += [m["name"] for m in page["models"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["woods", "atlas"]


async def test_the_index_follows_changes_to_a_model(client, tokens) -> None:  # type: ignore[no-untyped-def]
    resp = await client.patch(
        "/api/models/plain",
        json={"description": "estimates glaciers", "card": "---\nlicense: mit\n---\n\nIce cores."},
        headers=bearer(tokens["alice"]),
    )
    assert resp.status == 200, await resp.text()
    assert await _names(client, search="glacier") == ["plain"]
    assert await _names(client, search="cored") == ["plain"]  # the card, stemmed
    assert await _names(client, search="nothing") == []  # the old description is gone


async def test_symbols_and_quotes_stay_literal(client) -> None:  # type: ignore[no-untyped-def]
    for search in ('"forest', "forest*", "forest OR songs", "NEAR(forest songs)", "'; --"):
        resp = await client.get("/api/models", params={"search": search})
        assert resp.status == 200, (search, await resp.text())
    # punctuation is no query syntax: the words match in full text, as without it
    forest = await _names(client, search="forest")
    assert forest == ["woods", "atlas"]
    assert await _names(client, search='"forest"') == forest
    assert await _names(client, search="forest:") == forest
    assert await _names(client, search="%") == []  # no words, and no literal percent sign
