"""PostgreSQL ``LISTEN`` as the event follower's wake-up, surviving connection loss.

One dedicated autocommit connection (psycopg 3, async) listens on
:data:`hub.catalog.notify.EVENTS_CHANNEL`. Each notification calls ``wake("notify")``; each
successful (re)connect calls ``wake("listen")`` so the follower catches up on whatever was
committed while nobody listened. When the connection fails or goes silent (a heartbeat query
every ``heartbeat`` seconds, plus TCP keepalives), it is dropped and re-opened with exponential
backoff and jitter; meanwhile :attr:`connected` is False and the follower falls back to polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any, Callable

from sqlalchemy.engine import URL, make_url

from hub.catalog.notify import EVENTS_CHANNEL
from hub.errors import first_line

log = logging.getLogger(__name__)

#: libpq settings that make a dead peer show up as an error within about 20 s.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 2,
}


def connect_kwargs(url: str | URL) -> dict[str, Any]:
    """psycopg ``connect()`` keyword arguments for a SQLAlchemy PostgreSQL URL."""
    parsed = make_url(url) if isinstance(url, str) else url
    kwargs: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database,
    }
    kwargs.update({k: v if isinstance(v, str) else v[-1] for k, v in parsed.query.items()})
    return {k: v for k, v in kwargs.items() if v is not None}


class PostgresListener:
    """A :class:`~hub.serving.events.Wakeup` on PostgreSQL ``LISTEN``.

    ``backoff_initial``/``backoff_max``: seconds between reconnect attempts (doubling);
    ``heartbeat``: seconds of silence after which the connection is checked with ``SELECT 1``.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        channel: str = EVENTS_CHANNEL,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        heartbeat: float = 15.0,
        connect_timeout: int = 5,
    ) -> None:
        self._kwargs = {**KEEPALIVES, **connect_kwargs(url), "connect_timeout": connect_timeout}
        self._channel = channel
        self._backoff_initial = backoff_initial
        self._backoff_max = max(backoff_initial, backoff_max)
        self._heartbeat = heartbeat
        self._task: asyncio.Task | None = None
        self._connection: Any = None
        self.connected = False
        self.connects = 0
        self.notifications = 0
        self.failures = 0

    @property
    def reconnects(self) -> int:
        """Successful connects after the first one."""
        return max(0, self.connects - 1)

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listening connection (for ``pg_terminate_backend``)."""
        connection = self._connection
        return None if connection is None or connection.closed else connection.info.backend_pid

    async def start(self, wake: Callable[[str], None]) -> None:
        """Start listening; returns after the first attempt (connected or not)."""
        first = asyncio.get_running_loop().create_future()
        self._task = asyncio.get_running_loop().create_task(
            self._run(wake, first), name="onnxhub-listen"
        )
        await asyncio.shield(first)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, wake: Callable[[str], None], first: asyncio.Future) -> None:
        import psycopg

        delay = self._backoff_initial
        failing = False  # one warning per outage, not one per attempt
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(autocommit=True, **self._kwargs)
            except (psycopg.Error, OSError) as exc:
                self.failures += 1
                (log.debug if failing else log.warning)(
                    "cannot LISTEN for catalog events (retrying with backoff): %s", first_line(exc)
                )
                failing = True
                if not first.done():
                    first.set_result(None)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._backoff_max)
                continue
            self._connection = connection
            try:
                await connection.execute(f'LISTEN "{self._channel}"')
                self.connected, failing = True, False
                self.connects += 1
                delay = self._backoff_initial
                if self.connects > 1:
                    log.info("listening for catalog events again (reconnect %d)", self.reconnects)
                wake("listen")
                if not first.done():
                    first.set_result(None)
                while True:
                    async for _notification in connection.notifies(timeout=self._heartbeat):
                        self.notifications += 1
                        wake("notify")
                    await connection.execute("SELECT 1")  # silence: is the peer still there?
            except (psycopg.Error, OSError) as exc:
                self.failures += 1
                log.warning("lost the catalog event listener: %s", first_line(exc))
                self.connected = False
                wake("lost")  # read now: poll while reconnecting, or learn the catalog is down
            finally:
                self.connected = False
                self._connection = None
                with contextlib.suppress(Exception):
                    await connection.close()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._backoff_max)


def wakeup_for(url: str | URL) -> PostgresListener | None:
    """A live wake-up for the catalog at ``url``: LISTEN on PostgreSQL, None (poll) otherwise."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "postgresql":
        return None
    return PostgresListener(parsed)
