"""The OpenAPI document is true: it lists exactly the routes served, and a property-based run
of schemathesis against a live server finds no 500 and no answer that breaks the document."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest
import schemathesis
from api_helpers import LiveServer
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hub.api import Hub
from hub.catalog import accounts
from hub.server.api import ROUTES
from hub.server.api.openapi import build_document
from hub.server.app import create_app
from hub.settings import Settings

#: Examples per operation: enough to probe every parameter, bounded so the suite stays quick
#: (a longer hunt: ONNXHUB_TEST_SCHEMATHESIS_EXAMPLES=500).
MAX_EXAMPLES = int(os.environ.get("ONNXHUB_TEST_SCHEMATHESIS_EXAMPLES", "25"))

schema = schemathesis.openapi.from_dict(build_document())


def test_document_lists_exactly_the_routes_served(tmp_path: Path) -> None:
    documented = {
        (method.upper(), path)
        for path, item in build_document()["paths"].items()
        for method in item
    }
    served = set()
    for method, path, _ in ROUTES:
        if "{file:" in path:
            for file in ("model.onnx", "test_data.npz"):
                served.add((method, path.split("{file:")[0] + file))
        else:
            served.add((method, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)))
    assert documented == served
    with Hub(Settings.for_home(tmp_path)) as hub:
        app = create_app(hub)
        registered = {
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.resource is not None
            and route.resource.canonical.startswith("/api/")
            and route.method not in ("HEAD", "*")
        }
    canonical = {(m, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", p)) for m, p, _ in ROUTES}
    assert registered == canonical


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, iris_export) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from hub.catalog.sharing import CatalogService, UploadMetadata

    home = tmp_path_factory.mktemp("schemathesis")
    settings_ = replace(
        Settings.for_home(home),
        providers=("CPUExecutionProvider",),
        event_poll_interval=0.05,
        intra_op_threads=1,
    )
    with Hub(settings_) as hub:

        def seed(session):  # type: ignore[no-untyped-def]
            accounts.create_user(session, "alice")
            return accounts.principal_for_user(session, "alice"), accounts.create_token(
                session, "alice", scope="write"
            )[0]

        alice, token = hub.db.transaction(seed)
        CatalogService(hub).publish_received(
            alice,
            "iris",
            iris_export.model_bytes,
            iris_export.test_data,
            None,
            UploadMetadata(label_outputs=iris_export.label_outputs, alias="production"),
        )
        server = LiveServer(hub)
        url = server.start()
        try:
            yield url, token
        finally:
            server.stop()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_document(case, live) -> None:  # type: ignore[no-untyped-def]
    url, token = live
    headers = {"Authorization": f"Bearer {token}"} if case.method != "DELETE" else None
    case.call_and_validate(base_url=url, headers=headers, checks=CHECKS)
