"""Fixtures for the catalog API: a hub on SQLite and on PostgreSQL, four people with tokens,
and a real iris classifier exported (not published) once, ready to upload."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest
from api_helpers import IrisExport

from hub.api import Hub
from hub.catalog import accounts
from hub.settings import Settings


@pytest.fixture(scope="session")
def iris_export(tmp_path_factory: pytest.TempPathFactory, iris_split) -> IrisExport:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    Xtr, Xte, ytr, _ = iris_split
    model = LogisticRegression(max_iter=500).fit(Xtr, ytr)
    with Hub(Settings.for_home(tmp_path_factory.mktemp("export-home"))) as hub:
        checked = hub.export(model, Xte)
    return IrisExport(
        model_bytes=checked.model_bytes,
        test_data=checked.test_data,
        X=Xte,
        labels=model.predict(Xte),
        probabilities=model.predict_proba(Xte),
        label_outputs=tuple(checked.exported.label_outputs),
    )


@pytest.fixture
def api_settings(tmp_path: Path, database_url: str) -> Settings:
    return replace(
        Settings.for_home(tmp_path / "home", database_url=database_url),
        event_poll_interval=0.05,
        providers=("CPUExecutionProvider",),
        intra_op_threads=1,
    )


@pytest.fixture
def api_hub(api_settings: Settings) -> Iterator[Hub]:
    with Hub(api_settings) as hub:
        yield hub


@pytest.fixture
def tokens(api_hub: Hub) -> dict[str, str]:
    """alice (owner), bob (stranger), carol (alice's collaborator later), root (admin), and
    ``alice-read`` (a read-only token of alice's)."""

    def make(session) -> dict[str, str]:  # type: ignore[no-untyped-def]
        for name in ("alice", "bob", "carol"):
            accounts.create_user(session, name)
        accounts.create_user(session, "root", admin=True)
        made = {
            n: accounts.create_token(session, n, scope="write")[0]
            for n in ("alice", "bob", "carol")
        }
        made["root"] = accounts.create_token(session, "root", scope="admin")[0]
        made["alice-read"] = accounts.create_token(session, "alice", name="ro", scope="read")[0]
        return made

    return api_hub.db.transaction(make)
