"""Browser tests: Debian's Chromium driven headless by Playwright against a live server.

Each test gets a fresh catalog (SQLite) with real scikit-learn models published by three
people, the server on a free port, and a browser page that records console errors and page
errors: a test fails when any page it visited logged one. ``shoot(page, name)`` keeps a
screenshot under the test's tmp_path and fails when the page is blank.
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from live_server import LiveServer

from hub.api import Hub
from hub.catalog import accounts
from hub.settings import Settings

CHROMIUM = os.environ.get("ONNXHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IRIS_CARD = """---
license: mit
tags: [flowers, tabular]
---
# Iris classifier

A **logistic regression** on Fisher's iris measurements, exported to ONNX.

| feature | unit |
|---|---|
| sepal length | cm |
"""

_COLOURS = """async (b64) => {
  const img = new Image();
  img.src = "data:image/png;base64," + b64;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const g = canvas.getContext("2d");
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < d.length; i += 4 * 3) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  return seen.size;
}"""


def _chromium_or_skip() -> None:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    message = f"Chromium not found at {CHROMIUM} (make setup installs Debian's chromium)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module: Playwright's sync API keeps an event loop running in this
    thread while it is started, which the async tests of other modules must not find."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Recorder:
    """Console errors and uncaught page errors seen by every page of a test."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, text: str) -> None:
        """Errors containing ``text`` are expected (e.g. the 404 of a page a test asks for)."""
        self.allowed.append(text)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]

    def watch(self, page: Any) -> Any:
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console {m.type}: {m.text} ({page.url})")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e} ({page.url})"))
        return page


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    found = Recorder()
    yield found
    unexpected = found.unexpected()
    assert unexpected == [], "the browser logged errors:\n" + "\n".join(unexpected)


@pytest.fixture
def new_page(browser, recorder, server):  # type: ignore[no-untyped-def]
    """``new_page()`` -> a page in a fresh browser context (its own cookies), watched."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return recorder.watch(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shoot(tmp_path: Path, browser):  # type: ignore[no-untyped-def]
    """``shoot(page, name)``: a full-page screenshot in tmp_path/screens; fails if blank."""
    folder = tmp_path / "screens"
    folder.mkdir()
    scratch = browser.new_page()

    def take(page: Any, name: str) -> Path:
        page.wait_for_load_state("load")
        path = folder / f"{name}.png"
        png = page.screenshot(path=str(path), full_page=True)
        text = page.evaluate("document.body ? document.body.innerText.trim() : ''")
        assert len(text) > 20, f"{name}: the page has no text"
        colours = scratch.evaluate(_COLOURS, base64.b64encode(png).decode())
        assert colours > 16, f"{name}: the screenshot is blank ({colours} colours)"
        return path

    yield take
    scratch.close()


@dataclass(frozen=True)
class World:
    """What each browser test starts from."""

    hub: Hub
    tokens: dict[str, str]
    iris_X: np.ndarray
    iris_labels: np.ndarray
    iris_probabilities: np.ndarray


@pytest.fixture
def world(tmp_path: Path, iris_split) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """A catalog with ``iris`` (alice, classification, production alias), ``iris-tree`` (bob),
    ``ridge-5`` (carol, regression) and ``secret-iris`` (alice, private); tokens for alice,
    bob and carol (write) and root (admin)."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.tree import DecisionTreeClassifier

    Xtr, Xte, ytr, _ = iris_split
    settings = replace(
        Settings.for_home(tmp_path / "home"),
        providers=("CPUExecutionProvider",),
        intra_op_threads=1,
        event_poll_interval=0.05,
    )
    logreg = LogisticRegression(max_iter=500).fit(Xtr, ytr)
    rng = np.random.default_rng(0)
    Xr = rng.standard_normal((60, 5)).astype(np.float32)
    ridge = Ridge(alpha=0.1).fit(Xr, Xr @ np.arange(1, 6, dtype=np.float32))
    with Hub(replace(settings, user="alice")) as alice:
        alice.publish(logreg, name="iris", sample=Xte, card=IRIS_CARD, alias="production")
        alice.publish(logreg, name="secret-iris", sample=Xte, card="# Secret\n\nhidden")
    with Hub(replace(settings, user="bob")) as bob:
        tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(Xtr, ytr)
        bob.publish(tree, name="iris-tree", sample=Xte, card="# Tree\n\nA shallow tree.")
    with Hub(replace(settings, user="carol")) as carol:
        carol.publish(ridge, name="ridge-5", sample=Xr[:10], card="# Ridge\n\nFive inputs.")
    hub = Hub(settings)

    def people(session) -> dict[str, str]:  # type: ignore[no-untyped-def]
        from hub.catalog.models import Model

        for name in ("alice", "bob", "carol"):
            accounts.get_or_create_user(session, name)
        accounts.create_user(session, "root", admin=True)
        session.query(Model).filter(Model.name == "secret-iris").update({"private": True})
        made = {
            n: accounts.create_token(session, n, scope="write")[0]
            for n in ("alice", "bob", "carol")
        }
        made["root"] = accounts.create_token(session, "root", scope="admin")[0]
        return made

    tokens = hub.db.transaction(people)
    yield World(hub, tokens, Xte, logreg.predict(Xte), logreg.predict_proba(Xte))
    hub.close()


@pytest.fixture
def server(world: World) -> Iterator[LiveServer]:
    live = LiveServer(world.hub).start()
    yield live
    live.stop()


@pytest.fixture
def log_in():  # type: ignore[no-untyped-def]
    """``log_in(page, token, next_path)``: sign in through the login form, as a person would."""

    def sign_in(page: Any, token: str, next_path: str = "/") -> None:
        page.goto(f"/login?next={next_path}")
        page.fill("#token", token)
        page.click("#login-submit")
        page.wait_for_selector("#signed-in-as")

    return sign_in
