"""Catalog schema revisions: where a database stands and bringing it to this release's head.

The migration scripts (alembic) ship in :mod:`hub.catalog.migrations`; no ``alembic.ini`` is
used. Every function here takes a :class:`~sqlalchemy.engine.Connection` already inside the
transaction that holds the schema lock (see :func:`hub.catalog.db.create_schema`), so two
processes never migrate at once and a failed migration leaves the catalog as it was.

Policy (:func:`prepare`): an empty database is created at head; an older SQLite catalog is
upgraded on first use; an older PostgreSQL catalog is refused until ``onnxhub db upgrade``
(other servers may still be running on it); a schema newer than this release knows is always
refused, with both revisions named.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.errors import StorageError

if TYPE_CHECKING:  # alembic is imported only when a schema must be read or changed
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The revision equal to the schema that onnxhub 0.1.0 made with ``create_all``.
BASELINE = "0001"
#: Tables of the baseline: a database holding them and no ``alembic_version`` is a 0.1.0 catalog.
BASELINE_TABLES = frozenset(
    {"owners", "tags", "models", "model_tags", "versions", "aliases", "events"}
)


def alembic_config(connection: Connection | None = None, location: Path = MIGRATIONS) -> Config:
    """An alembic Config for the scripts in ``location`` (default: the shipped ones);
    ``connection`` is what ``env.py`` runs on."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if importlib.util.find_spec("ruff") is not None:  # the dev extra: new files come formatted
        config.set_section_option("post_write_hooks", "hooks", "ruff")
        config.set_section_option("post_write_hooks", "ruff.type", "module")
        config.set_section_option("post_write_hooks", "ruff.module", "ruff")
        config.set_section_option(
            "post_write_hooks", "ruff.options", "format REVISION_SCRIPT_FILENAME"
        )
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.+)$", re.MULTILINE)


@functools.cache
def _shipped_head() -> str | None:
    """The single head of the shipped scripts, read from their ``revision`` and
    ``down_revision`` lines without importing alembic (None when that is not plain)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revisions.add(found["revision"].strip().strip("\"'"))
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", found.get("down_revision", "")))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(connection: Connection) -> bool:
    """True when the database's one recorded revision is the shipped head: one query, and
    no alembic import (opening an up-to-date catalog is what every CLI command does)."""
    head = _shipped_head()
    if head is None or not sa.inspect(connection).has_table("alembic_version"):
        return False
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    return len(rows) == 1 and rows[0][0] == head


def head_revision() -> str:
    """The newest revision this release knows (exactly one head, or a StorageError)."""
    heads = _scripts().get_heads()
    if len(heads) != 1:
        raise StorageError(
            f"the shipped migrations have {len(heads)} heads ({', '.join(sorted(heads))}); "
            "merge them with a revision whose down_revision names all of them"
        )
    return heads[0]


def known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision (None when unversioned), this release's head, and
    whether it holds no catalog yet (other applications' tables are left alone), a catalog
    from before migrations (0.1.0: every baseline table, no version), or only some of the
    baseline tables (``partial``: refused rather than guessed at)."""

    current: str | None
    head: str
    empty: bool
    pre_migrations: bool
    partial: frozenset[str] = frozenset()

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def newer(self) -> bool:
        return self.current is not None and self.current not in known_revisions()


def state(connection: Connection) -> SchemaState:
    """Read the database's revision and tables (no writes)."""
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    if len(heads) > 1:
        raise StorageError(f"the catalog is at several revisions at once: {', '.join(heads)}")
    catalog_tables = BASELINE_TABLES & set(sa.inspect(connection).get_table_names())
    current = heads[0] if heads else None
    unversioned = current is None
    return SchemaState(
        current=current,
        head=head_revision(),
        empty=unversioned and not catalog_tables,
        pre_migrations=unversioned and catalog_tables == BASELINE_TABLES,
        partial=frozenset(catalog_tables)
        if unversioned and 0 < len(catalog_tables) < len(BASELINE_TABLES)
        else frozenset(),
    )


def check_openable(found: SchemaState, where: str) -> None:
    """A StorageError when ``where``'s schema is newer than this release knows, or when it
    holds only part of a catalog."""
    if found.partial:
        missing = ", ".join(sorted(BASELINE_TABLES - found.partial))
        raise StorageError(
            f"the database at {where} has some of the catalog's tables but no schema revision "
            f"(missing: {missing}); it is not an onnxhub catalog: use another database"
        )
    if found.newer:
        raise StorageError(
            f"the catalog at {where} has schema revision {found.current}, newer than this "
            f"onnxhub knows (its newest is {found.head}); upgrade onnxhub to open it"
        )


def upgrade(
    connection: Connection, where: str, target: str = "head", location: Path = MIGRATIONS
) -> tuple[str | None, str]:
    """Bring the database to ``target``; returns (revision before, revision after).

    A pre-migration (0.1.0) catalog is stamped at the baseline first; a database with only
    some of the baseline tables is refused (see :func:`check_openable`).
    """
    from alembic import command

    found = state(connection)
    check_openable(found, where)
    config = alembic_config(connection, location)
    before = found.current
    if found.pre_migrations:
        command.stamp(config, BASELINE)
        before = "pre-migration (0.1.0)"
    command.upgrade(config, target)
    from hub.catalog import search_index

    search_index.repair(connection)  # a revision that rebuilt `models` dropped its triggers
    if connection.dialect.name == "sqlite":  # foreign keys were off (see schema_transaction)
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StorageError(f"upgrading {where} broke foreign keys (first: {broken[0]})")
    return before, state(connection).current or "base"


def prepare(connection: Connection, where: str, upgrade_older: bool) -> None:
    """What opening a catalog does: create an empty one, refuse a newer one, and upgrade an
    older one when ``upgrade_older`` (embedded SQLite) or else refuse it, naming the command."""
    if at_head(connection):
        return
    found = state(connection)
    check_openable(found, where)
    if found.up_to_date:
        return
    if found.empty or upgrade_older:
        upgrade(connection, where)
        return
    current = found.current or "pre-migration (0.1.0)"
    raise StorageError(
        f"the catalog at {where} has schema revision {current}, older than this onnxhub's "
        f"{found.head}; run `onnxhub db upgrade` (stop older servers on it first)"
    )


def next_revision_id(location: Path = MIGRATIONS) -> str:
    """``0002`` after ``0001``: revisions are numbered in order."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config(location=location))
    numbers = [int(s.revision) for s in scripts.walk_revisions() if s.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def new_revision(
    connection: Connection, message: str, autogenerate: bool = True, location: Path = MIGRATIONS
) -> Path:
    """Write ``versions/NNNN_<slug>.py`` under ``location``: the difference between the
    database behind ``connection`` (which must be at head) and the models, when
    ``autogenerate``. Returns the new file's path."""
    from alembic import command

    found = state(connection)
    if not found.up_to_date:
        raise StorageError(
            f"autogenerate compares against a catalog at head ({found.head}); this one is at "
            f"{found.current or 'nothing'}"
        )
    script = command.revision(
        alembic_config(connection, location),
        message=message,
        autogenerate=autogenerate,
        rev_id=next_revision_id(location),
    )
    _scripts.cache_clear()
    _shipped_head.cache_clear()
    if isinstance(script, list):
        script = script[0]
    assert script is not None
    return Path(script.path)
