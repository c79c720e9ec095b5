"""Opening a catalog database that was not reachable when the process started.

``onnxhub serve`` does not wait for its PostgreSQL before listening: a replica started while
its database is down listens at once, reports not-ready, and opens the catalog (the schema
check and upgrade of :func:`hub.catalog.db.create_schema`) on the first catalog access after
the database answers. The event follower reads the catalog in a loop with growing pauses, so
that access comes without any request; requests may trigger an attempt too (at most one at a
time, never sooner than the backoff allows), so a replica that is asked is not slower to
recover than one that is not.

Until the catalog is open, every catalog read or write raises
:class:`~hub.errors.Unavailable` (503 with ``Retry-After``). An error that waiting cannot fix
(bad credentials, a schema newer than this release, an older PostgreSQL schema that needs
``onnxhub db upgrade``) is kept in :attr:`DeferredOpen.fatal`, raised to every caller and
passed once to :attr:`DeferredOpen.on_fatal` (the server stops with that message).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from hub.errors import HubError, StorageError, Unavailable, first_line

log = logging.getLogger(__name__)

#: Seconds between attempts while the database is unreachable: doubling, capped.
BACKOFF_INITIAL = 0.25
BACKOFF_MAX = 5.0


class DeferredOpen:
    """The gate in front of a catalog whose schema has not been checked yet.

    ``prepare()`` brings the schema up to date (it raises :class:`~hub.errors.StorageError`
    for a schema it refuses); it runs once the database accepts a connection.
    """

    def __init__(
        self,
        engine: Engine,
        prepare: Callable[[], None],
        *,
        backoff_initial: float = BACKOFF_INITIAL,
        backoff_max: float = BACKOFF_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._prepare = prepare
        self._backoff_initial = backoff_initial
        self._backoff_max = max(backoff_initial, backoff_max)
        self._delay = backoff_initial
        self._clock = clock
        self._lock = threading.Lock()
        self._next_attempt = 0.0
        self._since = clock()
        self.where = engine.url.render_as_string(hide_password=True)
        #: True once the schema has been checked (and upgraded where allowed).
        self.opened = False
        #: The error that waiting cannot fix, once one was met.
        self.fatal: HubError | None = None
        #: Called once, from the thread that met it, with :attr:`fatal`.
        self.on_fatal: Callable[[HubError], None] | None = None
        self.attempts = 0
        #: First line of the last reason the catalog could not be opened.
        self.last_error = "not reached yet"

    def require(self) -> None:
        """Return when the catalog is open; otherwise try to open it (when no other thread is
        trying and the backoff allows) and raise :class:`Unavailable` or :attr:`fatal`."""
        if self.opened:
            return
        if self.fatal is not None:
            raise self.fatal
        if not self._lock.acquire(blocking=False):
            raise self._unavailable()
        try:
            if self.opened:
                return
            if self.fatal is not None:
                raise self.fatal
            if self._clock() < self._next_attempt:
                raise self._unavailable()
            self._attempt()
        finally:
            self._lock.release()

    def _attempt(self) -> None:
        self.attempts += 1
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as exc:
            from hub.catalog.db import is_unreachable

            if not is_unreachable(exc):  # it answered: bad credentials, no such database
                self._fail(StorageError(f"cannot open the catalog at {self.where}: {exc.orig}"))
            self._retry_later(first_line(exc.orig or exc))
        try:
            self._prepare()
        except HubError as exc:
            if _lost_midway(exc):  # the database went away again between the two steps
                self._retry_later(first_line(exc.__context__ or exc))
            self._fail(exc)
        self.opened = True
        log.info(
            "catalog database %s reached after %d attempt(s) in %.1f s; schema checked, "
            "the catalog is open",
            self.where,
            self.attempts,
            self._clock() - self._since,
        )

    def _retry_later(self, error: str) -> None:
        self.last_error = error
        delay = self._delay
        self._next_attempt = self._clock() + delay
        self._delay = min(delay * 2, self._backoff_max)
        if self.attempts & (self.attempts - 1) == 0:  # attempts 1, 2, 4, 8...: not every one
            log.warning(
                "catalog database %s is unreachable (%s); serving not-ready, attempt %d, "
                "retrying in %.2g s",
                self.where,
                error,
                self.attempts,
                delay,
            )
        raise self._unavailable()

    def _fail(self, exc: HubError) -> None:
        self.fatal = exc
        self.last_error = exc.message
        log.error("the catalog cannot be opened: %s", exc.message)
        if self.on_fatal is not None:
            try:
                self.on_fatal(exc)
            except Exception:
                log.exception("reporting that the catalog cannot be opened failed")
        raise exc

    def _unavailable(self) -> Unavailable:
        retry_after = max(1.0, self._next_attempt - self._clock())
        return Unavailable(
            f"the catalog database is unavailable: {self.last_error}", retry_after=retry_after
        )


def _lost_midway(exc: BaseException) -> bool:
    """Whether a schema error was only the connection dropping (``create_schema`` raises its
    StorageError ``from None``, which keeps the driver's error as the context)."""
    from hub.catalog.db import is_unreachable

    cause = exc.__context__
    return isinstance(cause, OperationalError) and is_unreachable(cause)
