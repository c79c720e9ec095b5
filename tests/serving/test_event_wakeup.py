"""The event follower woken by PostgreSQL LISTEN/NOTIFY, against the real PostgreSQL.

Other test runs may share the database (each in its own schema), so notifications are matched
by their payload, the model name, which is unique per test.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from hub.api import Hub
from hub.catalog import queries
from hub.catalog.notify import EVENTS_CHANNEL
from hub.serving.events import EventFollower
from hub.serving.wakeup import PostgresListener, connect_kwargs, wakeup_for
from hub.settings import Settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_hub(tmp_path: Path, postgres_url: str):  # type: ignore[no-untyped-def]
    with Hub(Settings.for_home(tmp_path / "home", database_url=postgres_url)) as hub:
        yield hub


def _write_event(hub: Hub, model: str, kind: str = "model.updated") -> None:
    hub.db.transaction(lambda session: queries.add_event(session, kind, model))


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def _follower(hub: Hub, seen: list, listener: PostgresListener | None, **kw) -> EventFollower:
    async def handler(event):  # type: ignore[no-untyped-def]
        seen.append(event)

    return EventFollower(
        last_event_id=lambda: asyncio.to_thread(hub.last_event_id),
        events_after=lambda last, limit: asyncio.to_thread(hub.events_after, last, limit),
        handlers=[handler],
        wakeup=listener,
        **{"interval": 60.0, "safety_poll": 60.0, **kw},
    )


def test_notify_is_delivered_at_commit_and_never_for_a_rollback(
    pg_hub: Hub, postgres_url: str
) -> None:
    model = f"m-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(autocommit=True, **connect_kwargs(postgres_url)) as listener:
        listener.execute(f'LISTEN "{EVENTS_CHANNEL}"')

        def failing(session):  # type: ignore[no-untyped-def]
            queries.add_event(session, "model.updated", model + "-rolled-back")
            raise RuntimeError("the change fails after its event row was added")

        with pytest.raises(RuntimeError):
            pg_hub.db.transaction(failing)
        _write_event(pg_hub, model)
        payloads = []
        for notification in listener.notifies(timeout=5):
            if notification.payload.startswith(model):  # ours, not another test run's
                payloads.append(notification.payload)
                break
        assert payloads == [model]  # the first one announced is the committed change
        # The rolled-back change was never announced (nor written).
        assert [e.model for e in pg_hub.events_after(0)] == [model]


async def test_follower_is_woken_by_notify_without_polling(pg_hub: Hub) -> None:
    listener = wakeup_for(pg_hub.db.engine.url)
    assert isinstance(listener, PostgresListener)
    seen: list = []
    follower = _follower(pg_hub, seen, listener)
    await follower.start()
    try:
        assert follower.live
        model = f"m-{uuid.uuid4().hex[:8]}"
        await asyncio.to_thread(_write_event, pg_hub, model)
        await _until(lambda: [e.model for e in seen] == [model])
        assert follower.stats.wakeups["notify"] >= 1
        assert follower.stats.wakeups["poll"] == 0  # the 60 s poll never fired
    finally:
        await follower.stop()
    assert not listener.connected


async def test_lost_listener_reconnects_and_catches_up_on_missed_events(
    pg_hub: Hub, postgres_url: str
) -> None:
    listener = PostgresListener(pg_hub.db.engine.url, backoff_initial=1.0, heartbeat=1.0)
    seen: list = []
    follower = _follower(pg_hub, seen, listener)
    await follower.start()
    try:
        pid = listener.backend_pid
        assert listener.connected and pid is not None
        with psycopg.connect(autocommit=True, **connect_kwargs(postgres_url)) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await _until(lambda: not listener.connected)
        # Written while nobody listens: their notifications are lost for this replica.
        missed = [f"m-{uuid.uuid4().hex[:8]}" for _ in range(3)]
        for model in missed:
            await asyncio.to_thread(_write_event, pg_hub, model)
        await _until(lambda: [e.model for e in seen] == missed, timeout=20)
        assert listener.reconnects == 1 and listener.connected
        assert listener.backend_pid not in (None, pid)
        assert follower.stats.wakeups["listen"] >= 1  # caught up on reconnecting
        assert follower.stats.wakeups["poll"] == 0
        # And it is live again.
        model = f"m-{uuid.uuid4().hex[:8]}"
        await asyncio.to_thread(_write_event, pg_hub, model)
        await _until(lambda: seen[-1].model == model)
    finally:
        await follower.stop()


async def test_unreachable_database_is_retried_with_backoff_and_polled_meanwhile() -> None:
    listener = PostgresListener(
        "postgresql+psycopg://postgres@127.0.0.1:1/test", backoff_initial=0.02, backoff_max=0.05
    )
    wakes: list[str] = []
    await listener.start(wakes.append)  # returns after the first failed attempt
    try:
        assert not listener.connected
        await _until(lambda: listener.failures >= 3)
        assert wakes == [] and listener.connects == 0
    finally:
        await listener.stop()


def test_event_ids_become_visible_in_commit_order(pg_hub: Hub) -> None:
    """Two writers: the second cannot commit a higher id while the first is still open, so a
    follower reading "after the last id" never skips the first."""
    model = f"m-{uuid.uuid4().hex[:8]}"
    start = pg_hub.last_event_id()
    with pg_hub.db.sessions() as first, first.begin():
        queries.add_event(first, "model.updated", model + "-a")
        first.flush()
        second_done = threading.Event()
        second = threading.Thread(
            target=lambda: (_write_event(pg_hub, model + "-b"), second_done.set())
        )
        second.start()
        assert not second_done.wait(0.5)  # waits for the first writer's commit
        assert pg_hub.events_after(start) == []
    second.join(10)
    assert second_done.is_set()
    assert [e.model for e in pg_hub.events_after(start)] == [model + "-a", model + "-b"]


async def test_sqlite_catalog_is_polled(tmp_path: Path) -> None:
    with Hub(Settings.for_home(tmp_path / "home")) as hub:
        assert wakeup_for(hub.db.engine.url) is None
        seen: list = []
        follower = _follower(hub, seen, None, interval=0.02)
        await follower.start()
        try:
            assert not follower.live
            await asyncio.to_thread(_write_event, hub, "polled")
            await _until(lambda: [e.model for e in seen] == ["polled"])
            await _until(lambda: follower.stats.wakeups["poll"] >= 2)
            assert follower.stats.wakeups["notify"] == 0
        finally:
            await follower.stop()


def test_connect_kwargs_keep_libpq_options() -> None:
    url = sa.engine.make_url(
        "postgresql+psycopg://u:p%40ss@db.example:6543/hub?options=-csearch_path%3Dx&sslmode=require"
    )
    assert connect_kwargs(url) == {
        "host": "db.example",
        "port": 6543,
        "user": "u",
        "password": "p@ss",
        "dbname": "hub",
        "options": "-csearch_path=x",
        "sslmode": "require",
    }
