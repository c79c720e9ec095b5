"""Fixtures shared by the whole suite: catalogs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import sqlalchemy as sa

from hub.api import Hub
from hub.catalog import accounts
from hub.settings import Settings

#: Fixtures of an S3-compatible server on loopback (moto): ``s3_endpoint``, ``s3_bucket``.
pytest_plugins = ["s3_server"]

POSTGRES_URL = os.environ.get(
    "ONNXHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_or_fail() -> None:
    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must exercise PostgreSQL, never silently skip it
        pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections live in a fresh, private schema of the test database."""
    _postgres_or_fail()
    schema = f"onnxhub_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    for attempt in range(5):
        # A server's catalog thread may still be finishing a read when the test ends; the
        # drop can then deadlock with it (PostgreSQL aborts one of the two): try again.
        try:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            break
        except sa.exc.OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2)
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each catalog test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.for_home(tmp_path / "home", database_url=database_url)


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    with Hub(settings) as h:
        yield h


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[Hub]:
    """A hub on SQLite only, for tests that are not about the database."""
    with Hub(Settings.for_home(tmp_path / "home")) as h:
        yield h


@pytest.fixture(scope="session")
def iris_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True)
    return tuple(train_test_split(X.astype(np.float32), y, test_size=0.3, random_state=0))  # type: ignore[return-value]


@pytest.fixture
def logreg(iris_split):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    Xtr, Xte, ytr, _ = iris_split
    return LogisticRegression(max_iter=500).fit(Xtr, ytr), Xte


@pytest.fixture
def ridge():  # type: ignore[no-untyped-def]
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 5)).astype(np.float32)
    y = X @ np.arange(1, 6, dtype=np.float32) + 0.5
    return Ridge(alpha=0.1).fit(X[:60], y[:60]), X[60:]


# -- the suite fails when a run leaves untracked files or folders in the repository -------------


def pytest_sessionstart(session: pytest.Session) -> None:
    from repository_litter import snapshot

    session.config.stash[_LITTER_BEFORE] = snapshot()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from repository_litter import left_behind

    before = session.config.stash.get(_LITTER_BEFORE, None)
    if before is None:
        return
    litter = left_behind(before)
    if litter:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "the test run left these in the repository (tests write under tmp_path only):"
        if reporter is not None:
            reporter.write_line(message, red=True)
            for path in litter:
                reporter.write_line(f"  {path}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_LITTER_BEFORE = pytest.StashKey[tuple[set[str], set[str]]]()


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
