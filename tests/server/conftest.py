"""Fixtures for the inference server: a real SQLite catalog with real published models."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.api import Hub
from hub.server.app import create_app
from hub.server.connections import GuardedRunner
from hub.server.keys import SETTINGS
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


class GuardedTestServer(TestServer):
    """The test server with ``onnxhub serve``'s connection limits (header timeout, cap)."""

    def __init__(self, app: web.Application, **kwargs: object) -> None:
        super().__init__(app, **kwargs)  # type: ignore[arg-type]
        settings = app[SETTINGS]
        self.header_timeout = settings.header_timeout
        self.max_connections = settings.max_connections

    async def _make_runner(self, **kwargs: object) -> GuardedRunner:
        return GuardedRunner(
            self.app,
            header_timeout=self.header_timeout,
            max_connections=self.max_connections,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
async def client(aiohttp_client, catalog: Hub):  # type: ignore[no-untyped-def]
    return await aiohttp_client(GuardedTestServer(create_app(catalog)))
