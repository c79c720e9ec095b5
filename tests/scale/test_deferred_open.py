"""The gate in front of a catalog not reachable at start (hub.catalog.deferred_open), against
the real PostgreSQL behind a loopback proxy that refuses connections while cut."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

from hub.catalog.db import make_engine
from hub.catalog.deferred_open import DeferredOpen
from hub.errors import HubError, StorageError, Unavailable

pytestmark = pytest.mark.postgres


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backs_off_while_unreachable_and_opens_once_it_answers(postgres_url: str) -> None:
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.cut()
    engine = make_engine(
        url.set(port=proxy.port, password="pw-never-shown").render_as_string(False)
    )
    prepared: list[int] = []
    clock = Clock()
    gate = DeferredOpen(
        engine, lambda: prepared.append(1), backoff_initial=0.5, backoff_max=2.0, clock=clock
    )
    try:
        with pytest.raises(Unavailable, match="the catalog database is unavailable: connection"):
            gate.require()
        assert gate.attempts == 1 and not gate.opened
        # Before the backoff has passed a caller is answered at once, without an attempt.
        with pytest.raises(Unavailable) as refused:
            gate.require()
        assert gate.attempts == 1 and refused.value.retry_after == 1.0
        waits = []
        for _ in range(4):
            before = clock.now
            while True:
                clock.now += 0.25
                with pytest.raises(Unavailable):
                    gate.require()
                if gate.attempts > 1 + len(waits):
                    break
            waits.append(clock.now - before)
        assert waits == [0.5, 1.0, 2.0, 2.0]  # doubling, capped
        assert "pw-never-shown" not in gate.where and "***" in gate.where
        proxy.restore()
        clock.now += 2.0
        gate.require()
        assert gate.opened and prepared == [1]
        gate.require()  # open: no further attempt, no second schema check
        assert prepared == [1] and gate.attempts == 6
    finally:
        engine.dispose()
        proxy.close()


def test_an_error_waiting_cannot_fix_is_kept_and_reported_once(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    reported: list[HubError] = []

    def prepare() -> None:
        raise StorageError("the catalog has schema revision 9999, newer than this onnxhub knows")

    gate = DeferredOpen(engine, prepare)
    gate.on_fatal = reported.append
    try:
        for _ in range(3):
            with pytest.raises(StorageError, match="revision 9999"):
                gate.require()
        assert gate.attempts == 1 and len(reported) == 1 and not gate.opened
    finally:
        engine.dispose()


def test_a_database_that_answers_with_an_error_is_not_retried(postgres_url: str) -> None:
    url = make_url(postgres_url).set(database="onnxhub_no_such_database")
    engine = make_engine(url.render_as_string(hide_password=False))
    gate = DeferredOpen(engine, lambda: None)
    try:
        with pytest.raises(StorageError, match='database "onnxhub_no_such_database" does not'):
            gate.require()
        with pytest.raises(StorageError):
            gate.require()
        assert gate.attempts == 1
    finally:
        engine.dispose()
