"""Fixtures for the inference server: a real SQLite catalog with real published models."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest
from hostile import GuardedTestServer

from hub.api import Hub
from hub.server.app import create_app
from hub.settings import Settings


@pytest.fixture
def serve_settings(tmp_path: Path) -> Settings:
    return replace(
        Settings.for_home(tmp_path / "home"),
        event_poll_interval=0.05,
        providers=("CPUExecutionProvider",),
        intra_op_threads=1,
    )


@pytest.fixture
def catalog(serve_settings: Settings, logreg, ridge) -> Iterator[Hub]:
    """``iris`` (LogisticRegression, label + probabilities) and ``linear`` (Ridge)."""
    with Hub(serve_settings) as hub:
        model, X = logreg
        hub.publish(model, name="iris", sample=X)
        model, X = ridge
        hub.publish(model, name="linear", sample=X)
        yield hub


@pytest.fixture
async def client(aiohttp_client, catalog: Hub):  # type: ignore[no-untyped-def]
    return await aiohttp_client(GuardedTestServer(create_app(catalog)))
