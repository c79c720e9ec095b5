"""The catalog and model pages in real headless Chromium: search, filters and sort against the
JSON API, the rendered card and versions, try-it against V2 and scikit-learn, logging in and
liking, an inert hostile card, a private model hidden from strangers, the live dashboard."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import requests

from hub.api import Hub

pytestmark = pytest.mark.browser


def _rows(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("tr.model-row").evaluate_all("rows => rows.map(r => r.dataset.name)")


def _api_names(server, **params) -> list[str]:  # type: ignore[no-untyped-def]
    answer = requests.get(f"{server.url}/api/models", params=params, timeout=30)
    answer.raise_for_status()
    return [m["name"] for m in answer.json()["models"]]


def test_search_narrows_the_list(new_page, shoot, server) -> None:
    page = new_page()
    page.goto("/")
    everything = _rows(page)
    assert sorted(everything) == ["iris", "iris-tree", "ridge-5"]  # secret-iris is private
    shoot(page, "catalog")
    page.fill("#search", "tree")
    page.press("#search", "Enter")
    page.wait_for_url("**/?search=tree*")
    assert _rows(page) == ["iris-tree"] == _api_names(server, search="tree")
    shoot(page, "catalog-search")
    page.fill("#search", "no-such-model-anywhere")
    page.press("#search", "Enter")
    page.wait_for_selector("#no-models")


def test_a_filter_and_a_sort_change_the_order_as_the_api_says(new_page, shoot, server) -> None:
    page = new_page()
    page.goto("/")
    page.select_option("#sort", "name")  # the page applies it at once
    page.wait_for_url("**sort=name*")
    assert _rows(page) == ["iris", "iris-tree", "ridge-5"] == _api_names(server, sort="name")
    page.select_option("#direction", "desc")
    page.wait_for_url("**direction=desc*")
    expected = _api_names(server, sort="name", direction="desc")
    assert _rows(page) == expected == ["ridge-5", "iris-tree", "iris"]
    page.select_option("#filter-task", "tabular-regression")
    page.wait_for_url("**task=tabular-regression*")
    expected = _api_names(server, sort="name", direction="desc", task="tabular-regression")
    assert _rows(page) == expected == ["ridge-5"]
    shoot(page, "catalog-filtered")


def test_model_page_shows_the_rendered_card_versions_and_parity(new_page, shoot) -> None:
    page = new_page()
    page.goto("/")
    page.click("a.model-link:text-is('iris')")
    page.wait_for_url("**/models/iris")
    assert page.inner_text("#card h1") == "Iris classifier"
    assert page.inner_text("#card strong") == "logistic regression"
    assert page.locator("#card table td").first.inner_text() == "sepal length"
    versions = page.locator("tr.version-row").evaluate_all("r => r.map(x => x.dataset.version)")
    assert versions == ["1"]
    assert "production → 1" in page.inner_text("#aliases")
    assert page.inner_text("#parity-summary").startswith("Passed on 45 rows")
    assert "probabilities" in page.inner_text("#signature")
    href = page.get_attribute("#download-model", "href")
    assert href == "/api/models/iris/versions/1/model.onnx"
    assert "curl -s -X POST" in page.inner_text("#snippet-curl")
    assert "InferenceServerClient" in page.inner_text("#snippet-tritonclient")
    shoot(page, "model-iris")


def test_try_it_returns_what_v2_and_scikit_learn_return(new_page, shoot, server, world) -> None:
    page = new_page()
    page.goto("/models/iris")
    row = json.loads(page.input_value("textarea[name=input]"))
    np.testing.assert_allclose(row, world.iris_X[:1], rtol=1e-6)
    # try another row, as a person would: type it in
    mine = world.iris_X[7:9]
    page.fill("textarea[name=input]", json.dumps(mine.astype(float).tolist()))
    page.click("#tryit-run")
    page.wait_for_selector("tr.tryit-output")
    shown = {
        name: json.loads(page.inner_text(f"tr.tryit-output[data-name={name}] td.data"))
        for name in ("label", "probabilities")
    }
    v2 = requests.post(
        f"{server.url}/v2/models/iris/versions/1/infer",
        json={
            "inputs": [
                {
                    "name": "input",
                    "datatype": "FP32",
                    "shape": [2, 4],
                    "data": mine.ravel().tolist(),
                }
            ]
        },
        timeout=30,
    ).json()
    by_name = {o["name"]: o["data"] for o in v2["outputs"]}
    assert shown["label"] == by_name["label"] == world.iris_labels[7:9].tolist()
    assert shown["probabilities"] == by_name["probabilities"]
    np.testing.assert_allclose(
        np.reshape(shown["probabilities"], (2, 3)), world.iris_probabilities[7:9], atol=1e-5
    )
    shoot(page, "try-it")


def test_logging_in_and_liking_updates_the_count(new_page, shoot, world, log_in) -> None:
    page = new_page()
    page.goto("/models/iris")
    assert page.inner_text("#like-count") == "0"
    assert page.is_visible("#login-to-like")
    page.click("#login-to-like")
    page.wait_for_selector("#login-form")
    shoot(page, "login")
    log_in(page, world.tokens["bob"], "/models/iris")
    assert page.inner_text("#signed-in-as") == "Signed in as bob"
    cookie = next(c for c in page.context.cookies() if c["name"] == "onnxhub_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.click("#like-button")
    page.wait_for_selector("#like-button:text-is('Unlike')")
    assert page.inner_text("#like-count") == "1"
    shoot(page, "liked")
    other = new_page()
    log_in(other, world.tokens["carol"], "/models/iris")
    other.click("#like-button")
    other.wait_for_selector("#like-button:text-is('Unlike')")
    assert other.inner_text("#like-count") == "2"
    page.reload()
    assert page.inner_text("#like-count") == "2"
    page.click("#like-button")  # unlike
    page.wait_for_selector("#like-button:text-is('Like')")
    assert page.inner_text("#like-count") == "1"
    page.fill("#comment-body", "Nice **model**")
    page.click("#comment-submit")
    page.wait_for_selector(".comment-body strong")
    assert page.inner_text(".comment-body") == "Nice model"
    page.click("#logout")
    page.wait_for_selector("#login-link")


def test_a_hostile_card_renders_inert(new_page, shoot, world, tmp_path, iris_split) -> None:
    from sklearn.linear_model import LogisticRegression

    Xtr, Xte, ytr, _ = iris_split
    card = (
        "# Harmless\n\n"
        "<script>window.__pwned = 1; fetch('/xss-script');</script>\n\n"
        '<img src="/xss-img" onerror="window.__pwned = 2; alert(1)">\n\n'
        '<a href="javascript:alert(3)" onclick="alert(4)">click me</a>\n\n'
        '<div onmouseover="alert(5)" style="background:url(/xss-style)">hover</div>\n'
    )
    with Hub(replace(world.hub.settings, user="bob")) as bob:
        model = LogisticRegression(max_iter=200).fit(Xtr, ytr)
        bob.publish(model, name="hostile-card", sample=Xte[:10], card=card)
    page = new_page()
    dialogs: list[str] = []
    requested: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/models/hostile-card")
    page.hover("#card div")
    page.click("#card a")
    page.wait_for_timeout(300)  # give any handler that survived a chance to fire
    assert page.inner_text("#card h1") == "Harmless"
    assert dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert not [u for u in requested if "/xss-" in u]
    html = page.inner_html("#card")
    for hostile in ("<script", "onerror", "onclick", "onmouseover", "javascript:", "style="):
        assert hostile not in html
    shoot(page, "hostile-card")


def test_a_stranger_does_not_see_a_private_model(
    new_page, shoot, world, log_in, recorder, server
) -> None:
    recorder.allow(f"status of 404 (Not Found) ({server.url}/models/secret-iris)")
    stranger = new_page()
    stranger.goto("/?search=iris")
    assert "secret-iris" not in _rows(stranger)
    response = stranger.goto("/models/secret-iris")
    assert response.status == 404
    assert stranger.inner_text("#error-message") == "unknown model 'secret-iris'"
    shoot(stranger, "private-404")
    log_in(stranger, world.tokens["bob"], "/models/secret-iris")
    assert stranger.inner_text("#error-message") == "unknown model 'secret-iris'"
    owner = new_page()
    log_in(owner, world.tokens["alice"], "/?search=iris")
    assert "secret-iris" in _rows(owner)
    assert owner.goto("/models/secret-iris").status == 200
    assert owner.inner_text("#card h1") == "Secret"
    # try-it on a private model works with the session (the script sends the CSRF header)
    owner.click("#tryit-run")
    owner.wait_for_selector("tr.tryit-output[data-name=label]")
    label = json.loads(owner.inner_text("tr.tryit-output[data-name=label] td.data"))
    assert label == world.iris_labels[:1].tolist()


def test_the_dashboard_follows_loads_live(new_page, shoot, server, world) -> None:
    page = new_page()
    page.goto("/dashboard")
    page.wait_for_selector("#live-state:text-is('live')")
    assert page.locator("tr.loaded-row").count() == 0
    answer = requests.post(
        f"{server.url}/v2/models/ridge-5/infer",
        json={
            "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 5], "data": [0.1] * 5}]
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    page.wait_for_selector("tr.loaded-row[data-model=ridge-5]")
    assert "CPUExecutionProvider" in page.inner_text("tr.loaded-row[data-model=ridge-5]")
    assert "model.loaded ridge-5" in page.inner_text("#events")
    shoot(page, "dashboard")


def test_try_it_samples_a_generator_by_seed(new_page, shoot, world) -> None:
    from onnx_graphs import generator_model

    from hub.catalog.models import Model, Version
    from hub.families.generation import draw_latent

    graph, weights = generator_model(latent_dim=4, out_dim=3)
    with Hub(replace(world.hub.settings, user="alice")) as alice:
        alice.publish(graph, name="gen", sample=np.zeros((2, 4), np.float32), task="generation")

    def mark_generator(session) -> None:  # type: ignore[no-untyped-def]
        version = (
            session.query(Version)
            .join(Model, Model.id == Version.model_id)
            .filter(Model.name == "gen")
            .one()
        )
        version.extra = {**version.extra, "latent_input": "latent"}

    world.hub.db.transaction(mark_generator)
    page = new_page()
    page.goto("/models/gen")
    assert page.locator("textarea.tryit-input").count() == 0
    page.fill("#tryit-seed", "7")
    page.fill("#tryit-num-samples", "5")
    page.click("#tryit-run")
    page.wait_for_selector("tr.tryit-output[data-name=sample]")
    data = json.loads(page.inner_text("tr.tryit-output[data-name=sample] td.data"))
    assert page.inner_text("tr.tryit-output[data-name=sample] td.shape") == "[5,3]"
    np.testing.assert_allclose(
        np.reshape(data, (5, 3)), draw_latent(5, 4, 7) @ weights, rtol=1e-5, atol=1e-6
    )
    shoot(page, "try-it-generator")
