"""Full-text search over models (name, description, card): the index and its query pieces.

- SQLite: an FTS5 table ``models_fts`` (porter stemming over unicode61 tokens, diacritics
  folded) holding each model's name, description and card under the model's id, kept in sync
  by three triggers on ``models``. A term matches the prefixes of indexed words after
  stemming (``penguin`` finds "penguins", ``flow`` finds "flowers"); relevance is ``bm25``
  with column weights name 4, description 2, card 1.
- PostgreSQL: a GIN index on the weighted ``tsvector`` of the three columns (English
  configuration; name A, description B, card C); a term is a ``websearch_to_tsquery`` (safe
  for any input: quotes and operators are text), relevance is ``ts_rank``.

Both live outside the SQLAlchemy models (neither dialect's object can be declared there):
migration ``0005`` installs them, and :func:`is_search_object` is how the schema comparison
(alembic's ``include_object`` in ``migrations/env.py`` and the migration test) leaves them out,
so that autogenerate never proposes to drop them. A later revision that rebuilds ``models`` on
SQLite (batch mode drops the old table, and its triggers with it) is followed by
:func:`repair`, which :func:`hub.catalog.migrate.upgrade` runs after every upgrade.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.sql.elements import ColumnElement

from hub.catalog.models import Model

FTS_TABLE = "models_fts"
PG_INDEX = "ix_models_search_vector"
TRIGGERS = ("models_fts_insert", "models_fts_delete", "models_fts_update")
#: Relevance is a float; the rank (a keyset cursor key) is this many units per 1.0 of it.
RELEVANCE_SCALE = 10_000

_FTS = table(FTS_TABLE, column("rowid"))
_ENGLISH: ColumnElement[Any] = literal_column("'english'::regconfig")
_WORD = re.compile(r"\w+")

_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS models_fts_insert AFTER INSERT ON models BEGIN
  INSERT INTO {FTS_TABLE}(rowid, name, description, card)
  VALUES (new.id, new.name, coalesce(new.description, ''), coalesce(new.card, ''));
END""",
    f"""CREATE TRIGGER IF NOT EXISTS models_fts_delete AFTER DELETE ON models BEGIN
  DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
END""",
    f"""CREATE TRIGGER IF NOT EXISTS models_fts_update
AFTER UPDATE OF name, description, card ON models BEGIN
  DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
  INSERT INTO {FTS_TABLE}(rowid, name, description, card)
  VALUES (new.id, new.name, coalesce(new.description, ''), coalesce(new.card, ''));
END""",
)
_SQLITE_FILL = (
    f"INSERT INTO {FTS_TABLE}(rowid, name, description, card) "
    "SELECT id, name, coalesce(description, ''), coalesce(card, '') FROM models"
)


def is_search_object(name: str | None) -> bool:
    """Whether a table, index or trigger belongs to the full-text index (FTS5 also makes
    ``models_fts_data``, ``_idx``, ``_content``, ``_docsize`` and ``_config`` tables)."""
    return bool(name) and (name == PG_INDEX or str(name).startswith(FTS_TABLE))


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """alembic's ``include_object`` hook: everything but the full-text index's objects."""
    return not is_search_object(name)


def _pg_vector() -> ColumnElement[Any]:
    """The weighted document of a model; the GIN index is on exactly this expression."""
    name = func.setweight(func.to_tsvector(_ENGLISH, Model.name), literal_column("'A'"))
    description = func.setweight(
        func.to_tsvector(_ENGLISH, func.coalesce(Model.description, "")), literal_column("'B'")
    )
    card = func.setweight(
        func.to_tsvector(_ENGLISH, func.coalesce(Model.card, "")), literal_column("'C'")
    )
    return name.op("||")(description).op("||")(card)


def _pg_vector_sql() -> str:
    return (
        "setweight(to_tsvector('english'::regconfig, name), 'A') || "
        "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B') || "
        "setweight(to_tsvector('english'::regconfig, coalesce(card, '')), 'C')"
    )


def install(connection: Connection) -> None:
    """Create the index for ``connection``'s dialect and fill it from the rows there."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(name, description, "
            "card, tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        connection.exec_driver_sql(f"DELETE FROM {FTS_TABLE}")
        connection.exec_driver_sql(_SQLITE_FILL)
        for statement in _SQLITE_TRIGGERS:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON models USING gin (({_pg_vector_sql()}))"
        )


def uninstall(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for trigger in TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {PG_INDEX}")


def repair(connection: Connection) -> None:
    """On SQLite, re-create missing triggers and refill the index (a rebuild of ``models``
    drops its triggers); nothing when the index is whole or not installed."""
    if connection.dialect.name != "sqlite":
        return
    found = {
        row[0]
        for row in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
        )
    }
    if FTS_TABLE in found and not set(TRIGGERS) <= found:
        install(connection)


def _fts5_term(term: str) -> str | None:
    """An FTS5 query for one search term: each of its words as a quoted prefix (so nothing in
    the term is FTS5 syntax); None when the term has no word (``%``, ``'``)."""
    words = _WORD.findall(term)
    return " ".join(f'"{w}"*' for w in words) if words else None


def term_match(dialect: str, term: str) -> ColumnElement[bool] | None:
    """Whether a model matches ``term`` in full text; None when the term has no words."""
    if dialect == "postgresql":
        if not _WORD.search(term):
            return None
        return _pg_vector().op("@@")(func.websearch_to_tsquery(_ENGLISH, term))
    query = _fts5_term(term)
    if query is None:
        return None
    matching = select(_FTS.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(query))
    return Model.id.in_(matching)


def relevance(dialect: str, terms: list[str]) -> ColumnElement[int]:
    """The full-text relevance of a model to any of ``terms``, as an integer (0: none)."""
    if dialect == "postgresql":
        queries = [func.websearch_to_tsquery(_ENGLISH, t) for t in terms if _WORD.search(t)]
        if not queries:
            return literal(0, BigInteger)
        combined: ColumnElement[Any] = queries[0]
        for more in queries[1:]:
            combined = combined.op("||")(more)
        rank = func.ts_rank(_pg_vector(), combined)
        return cast(func.round(rank * RELEVANCE_SCALE), BigInteger)
    parts = [q for q in (_fts5_term(t) for t in terms) if q is not None]
    if not parts:
        return literal(0, BigInteger)
    query = " OR ".join(f"({p})" for p in parts)
    bm25 = func.bm25(literal_column(FTS_TABLE), 4.0, 2.0, 1.0)
    score = (
        select(cast(func.round(-bm25 * RELEVANCE_SCALE), BigInteger))
        .where(literal_column(FTS_TABLE).op("MATCH")(query), _FTS.c.rowid == Model.id)
        .scalar_subquery()
    )
    return func.coalesce(score, 0)


__all__ = [
    "FTS_TABLE",
    "PG_INDEX",
    "include_object",
    "install",
    "is_search_object",
    "relevance",
    "repair",
    "term_match",
    "uninstall",
]
