"""Engines and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.catalog import migrate
from hub.errors import StorageError, Unavailable

if TYPE_CHECKING:
    from hub.catalog.deferred_open import DeferredOpen

T = TypeVar("T")

#: How long a SQLite writer waits for another process's write lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: PostgreSQL advisory lock that serialises schema creation across processes ("onnxhub" in ASCII).
SCHEMA_LOCK_KEY = 0x6F6E6E78687562


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so we can make it IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Taking the write lock at BEGIN serialises concurrent publishers instead of letting
        # two of them read the same max(version) and collide at commit.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_file(parsed: URL) -> Path | None:
    """The file a SQLite URL opens whose folder may need creating; None for an in-memory
    database or a read-only one. A URI filename (``sqlite:///file:/abs/path?mode=ro&uri=true``)
    is a URI, not a relative folder named ``file:``."""
    database = parsed.database
    if not database or database == ":memory:":
        return None
    if str(parsed.query.get("uri", "")).lower() in ("true", "1") and database.startswith("file:"):
        uri = urlsplit(database)
        options = parse_qs(uri.query)
        if options.get("mode", [""])[0] in ("ro", "memory") or uri.path in ("", ":memory:"):
            return None
        if str(parsed.query.get("mode", "")) in ("ro", "memory"):
            return None
        return Path(unquote(uri.path)).expanduser()
    return Path(database).expanduser()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite the parent folder is created and WAL mode is on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = sqlite_file(parsed)
        if database is not None:
            folder = database.parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the catalog folder {folder}: {exc}") from None
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        try:
            import psycopg  # noqa: F401

            parsed = parsed.set(drivername="postgresql+psycopg")
        except ImportError:
            pass
    # a host that drops packets would otherwise hold a connection attempt for the OS's TCP
    # timeout (minutes); a URL that names its own connect_timeout keeps it
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def display_url(engine: Engine) -> str:
    """The engine's URL as messages show it (password hidden)."""
    return engine.url.render_as_string(hide_password=True)


def create_schema(
    engine: Engine,
    wait_s: float = SQLITE_BUSY_TIMEOUT_MS / 1000,
    upgrade_older: bool | None = None,
) -> None:
    """Bring the schema to this release's revision (see :func:`hub.catalog.migrate.prepare`).

    An empty database is created; an older catalog is upgraded when ``upgrade_older``
    (default: for SQLite only) or refused; a newer one is always refused. A read-only or
    unreachable database becomes a StorageError.

    A SQLite catalog that another process is opening or closing at the same moment can
    answer "database is locked" at once instead of waiting for the busy timeout (the WAL
    clean-up and recovery windows described in SQLite's WAL documentation), so a locked
    database is retried with backoff for up to ``wait_s`` seconds before it is an error.
    """
    sqlite = engine.dialect.name == "sqlite"
    where = display_url(engine)
    deadline = time.monotonic() + wait_s
    delay = 0.02
    while True:
        try:
            with schema_transaction(engine) as connection:
                migrate.prepare(
                    connection, where, sqlite if upgrade_older is None else upgrade_older
                )
            return
        except OperationalError as exc:
            if _is_locked(exc) and time.monotonic() + delay < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            raise StorageError(f"cannot open the catalog at {where}: {exc.orig}") from None


@contextlib.contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the schema lock: SQLite's write lock (BEGIN IMMEDIATE), or a
    PostgreSQL advisory lock, so concurrent openers migrate one after the other.

    On SQLite, foreign keys are off meanwhile (a table that a migration copies and replaces
    must not cascade deletes into its children); :func:`hub.catalog.migrate.upgrade` checks
    them before the commit.
    """
    with engine.connect() as connection:
        driver = (
            connection.connection.driver_connection if engine.dialect.name == "sqlite" else None
        )
        if driver is not None:  # a PRAGMA outside any transaction: inside one, SQLite ignores it
            enforced = driver.execute("PRAGMA foreign_keys").fetchone()[0]
            driver.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    # Two processes creating the same tables race inside PostgreSQL's own
                    # catalogs (a unique violation on pg_type); the lock makes one wait.
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
                yield connection
        finally:
            if driver is not None:
                driver.execute(f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}")


#: Words of a driver's message when the database cannot be reached (as opposed to a bad query).
_UNREACHABLE = (
    "connection",
    "could not connect",
    "server closed",
    "terminating",
    "timeout expired",
    "no route to host",
    "the database system is",
)


#: Words of a server's refusal that waiting does not cure (psycopg prefixes them with
#: "connection failed:", and gives no SQLSTATE for errors at connect time).
_REFUSED = (
    "password authentication failed",
    "no pg_hba.conf entry",
    "does not exist",
    "permission denied",
    "authentication failed",
)


def is_unreachable(exc: OperationalError) -> bool:
    """Whether ``exc`` means the database is down or the connection was lost (not that it
    answered with an error such as bad credentials or no such database)."""
    message = str(exc.orig).lower()
    if any(words in message for words in _REFUSED):
        return False
    return bool(exc.connection_invalidated) or any(word in message for word in _UNREACHABLE)


def catalog_unavailable(exc: OperationalError) -> Unavailable:
    first = (str(exc.orig).strip().splitlines() or ["unreachable"])[0]
    return Unavailable(f"the catalog database is unavailable: {first}", retry_after=5)


def _is_locked(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)


class Database:
    """The catalog database: an engine, its session factory, and the transaction helper."""

    def __init__(self, url: str, *, open_later: bool = False) -> None:
        """``open_later``: do not touch the database now; check the schema on the first
        session or transaction once it answers (:mod:`hub.catalog.deferred_open`), until
        then those raise :class:`Unavailable`. For a server started while its database is
        down."""
        self.url = url
        self.engine = make_engine(url)
        self.deferred: DeferredOpen | None = None
        if open_later:
            from hub.catalog.deferred_open import DeferredOpen

            self.deferred = DeferredOpen(self.engine, lambda: create_schema(self.engine))
        else:
            create_schema(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A read-mostly session (no commit). A lost or refused connection is
        :class:`Unavailable` (503, retry later), not an internal error."""
        if self.deferred is not None:
            self.deferred.require()
        with self.sessions() as session:
            try:
                yield session
            except OperationalError as exc:
                if is_unreachable(exc):
                    raise catalog_unavailable(exc) from None
                raise

    def transaction(self, work: Callable[[Session], T], retries: int = 5) -> T:
        """Run ``work`` in one transaction and commit; retry on a lost race (unique clash).

        ``work`` must only touch the database (it may run more than once).
        """
        if self.deferred is not None:
            self.deferred.require()
        for attempt in range(retries):
            try:
                with self.sessions() as session, session.begin():
                    return work(session)
            except IntegrityError:
                if attempt == retries - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
            except OperationalError as exc:
                message = str(exc.orig)
                if _is_locked(exc) and attempt < retries - 1:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                if is_unreachable(exc):
                    raise catalog_unavailable(exc) from None
                raise StorageError(
                    f"catalog write failed ({self.engine.url!r}): {message}"
                ) from None
            except SQLAlchemyError as exc:
                raise StorageError(f"catalog write failed: {exc}") from None
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
