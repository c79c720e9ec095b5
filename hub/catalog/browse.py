"""Browsing the catalog for the JSON API: search, filters, sort, keyset cursors, and the JSON
shapes of a model summary, a model and a version. Functions take a session and never commit.

Search is full text on both databases (:mod:`hub.catalog.search_index`: FTS5 on SQLite,
``tsvector`` on PostgreSQL, both stemmed): each whitespace-separated term must match the name,
the description or the card in full text (``penguin`` finds "penguins") or occur there as a
literal substring, case-insensitively (``%``, ``_`` and quotes match only themselves: a term
without words, such as ``%``, matches literally only). Models rank by where their terms occur
literally (name 4, description 2, card 1 per term), then by full-text relevance (bm25 or
``ts_rank``, the same column weights). Pages are keyset pages over (sort key, id): a cursor names the last row seen,
so rows inserted meanwhile never shift a page or repeat a row.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from hub.catalog import search_index
from hub.catalog.access import visible_to
from hub.catalog.accounts import Principal
from hub.catalog.models import Alias, Model, Owner, Tag, Version
from hub.catalog.queries import check_tag
from hub.catalog.social import like_count, like_count_of
from hub.errors import InvalidInput, NotFound
from hub.export.cards import parse_card
from hub.families.tasks import task_spellings

SORTS = ("updated", "created", "likes", "downloads", "name", "relevance")
MAX_LIMIT = 100
MAX_SEARCH_TERMS = 8
#: Rank units per literal occurrence weight: above any full-text relevance in practice.
LITERAL_UNIT = 100_000_000


@dataclass(frozen=True)
class ModelQuery:
    """One page request of ``GET /api/models``; ``sort`` None means relevance when searching,
    else ``updated``."""

    search: str | None = None
    task: str | None = None
    tag: str | None = None
    library: str | None = None
    owner: str | None = None
    sort: str | None = None
    direction: str | None = None
    limit: int = 20
    cursor: str | None = None

    def resolved_sort(self) -> str:
        if self.sort is not None:
            return self.sort
        return "relevance" if self.search else "updated"

    def resolved_direction(self) -> str:
        if self.direction is not None:
            return self.direction
        return "asc" if self.resolved_sort() == "name" else "desc"


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _terms(search: str) -> list[str]:
    terms = search.split()
    if len(terms) > MAX_SEARCH_TERMS:
        raise InvalidInput(f"search takes at most {MAX_SEARCH_TERMS} terms")
    if any("\x00" in t for t in terms):
        raise InvalidInput("search must not contain NUL characters")
    return terms


def _rank_and_filter(
    session: Session, search: str
) -> tuple[ColumnElement[int], ColumnElement[bool]]:
    """(rank, filter) of a search: each term must match in full text or occur literally; the
    rank puts literal occurrences first (name 4, description 2, card 1 per term, in units of
    :data:`LITERAL_UNIT`), then full-text relevance (:mod:`hub.catalog.search_index`)."""
    dialect = session.get_bind().dialect.name
    terms = _terms(search)
    literal_rank: ColumnElement[int] = literal(0, BigInteger)
    matches = []
    for term in terms:
        pattern = f"%{_escape_like(term)}%"
        fields = [
            (Model.name, 4),
            (func.coalesce(Model.description, ""), 2),
            (func.coalesce(Model.card, ""), 1),
        ]
        hits = [field.ilike(pattern, escape="\\") for field, _ in fields]
        full_text = search_index.term_match(dialect, term)
        matches.append(or_(*hits, *([full_text] if full_text is not None else [])))
        for hit, (_, weight) in zip(hits, fields):
            literal_rank = literal_rank + case((hit, weight), else_=0)
    rank = literal_rank * LITERAL_UNIT + search_index.relevance(dialect, terms)
    return rank, and_(*matches)


def _library_of(model: Model) -> str | None:
    live = [v for v in model.versions if v.deleted_at is None]
    if not live:
        return None
    library = (live[-1].extra or {}).get("library")
    return None if library is None else str(library)


def _sort_key(sort: str, rank: ColumnElement[int]) -> SQLColumnExpression[Any]:
    return {
        "updated": Model.updated_at,
        "created": Model.created_at,
        "likes": like_count_of(Model.id),
        "downloads": Model.downloads,
        "name": Model.name,
        "relevance": rank,
    }[sort]


def _encode_cursor(sort: str, direction: str, key: Any, row_id: int) -> str:
    value = key.isoformat() if isinstance(key, datetime) else key
    raw = json.dumps({"s": sort, "d": direction, "k": value, "i": row_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str, direction: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        key, row_id = data["k"], int(data["i"])
        same_query = data["s"] == sort and data["d"] == direction
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor: pass next_cursor exactly as returned") from None
    if not same_query:
        raise InvalidInput("cursor belongs to another sort or direction")
    if not 0 <= row_id < 2**31:  # a forged id must not reach the database as an overflow
        raise InvalidInput("invalid cursor: pass next_cursor exactly as returned")
    if sort in ("updated", "created"):
        try:
            key = datetime.fromisoformat(str(key))
        except ValueError:
            raise InvalidInput("invalid cursor: pass next_cursor exactly as returned") from None
    elif sort == "name":
        key = str(key)
        if "\x00" in key:
            raise InvalidInput("invalid cursor: pass next_cursor exactly as returned")
    elif isinstance(key, bool) or not isinstance(key, int) or not -(2**62) < key < 2**62:
        raise InvalidInput("invalid cursor: pass next_cursor exactly as returned")
    return key, row_id


def list_models_page(
    session: Session, principal: Principal, query: ModelQuery
) -> tuple[list[tuple[Model, int]], str | None]:
    """One page of the models ``principal`` may see: ([(model, rank)], next cursor or None)."""
    sort, direction = query.resolved_sort(), query.resolved_direction()
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r} (sorts: {', '.join(SORTS)})")
    if direction not in ("asc", "desc"):
        raise InvalidInput(f"direction must be 'asc' or 'desc', not {direction!r}")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    rank: ColumnElement[int] = literal(0, Integer)
    statement = select(Model).where(visible_to(principal))
    if query.search and query.search.strip():
        rank, matches = _rank_and_filter(session, query.search)
        statement = statement.where(matches)
    elif sort == "relevance":
        raise InvalidInput("sort=relevance needs a search")
    if query.task:  # a task of hub.families.tasks or an alias; rows under an alias match too
        statement = statement.where(Model.task.in_(task_spellings(query.task)))
    if query.tag:
        statement = statement.where(Model.tags.any(Tag.name == check_tag(query.tag)))
    if query.owner:
        statement = statement.where(Model.owner.has(Owner.name == query.owner))
    if query.library:
        library = Version.extra["library"].as_string()
        statement = statement.where(
            Model.versions.any(and_(library == query.library, Version.deleted_at.is_(None)))
        )
    key = _sort_key(sort, rank)
    descending = direction == "desc"
    if query.cursor:
        after, after_id = _decode_cursor(query.cursor, sort, direction)
        beyond = key < after if descending else key > after
        tie = Model.id < after_id if descending else Model.id > after_id
        statement = statement.where(or_(beyond, and_(key == after, tie)))
    order = [key.desc(), Model.id.desc()] if descending else [key.asc(), Model.id.asc()]
    statement = (
        statement.add_columns(key.label("sort_key"), rank.label("rank"))
        .order_by(*order)
        .limit(query.limit + 1)
        .options(
            selectinload(Model.owner),
            selectinload(Model.tags),
            selectinload(Model.versions),
            selectinload(Model.aliases).selectinload(Alias.version),
        )
    )
    rows = session.execute(statement).all()
    page = [(row[0], int(row.rank)) for row in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = _encode_cursor(sort, direction, last.sort_key, last[0].id)
    return page, next_cursor


# -- JSON shapes ------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _likes(model: Model) -> int:
    session = object_session(model)
    return 0 if session is None else like_count(session, model.id)


def model_summary(model: Model) -> dict[str, Any]:
    """The list entry: name, owner, task, library, tags, license, private, likes, downloads,
    latest_version, aliases, updated_at."""
    live = [v.number for v in model.versions if v.deleted_at is None]
    return {
        "name": model.name,
        "owner": model.owner.name,
        "task": model.task,
        "library": _library_of(model),
        "tags": [t.name for t in model.tags],
        "license": model.license,
        "private": bool(model.private),
        "likes": _likes(model),
        "downloads": int(model.downloads or 0),
        "latest_version": live[-1] if live else None,
        "aliases": {a.name: a.version.number for a in model.aliases},
        "updated_at": _iso(model.updated_at),
    }


def model_detail(model: Model) -> dict[str, Any]:
    """The summary plus description, card (Markdown), card_data (front matter), versions."""
    card = model.card or ""
    try:
        card_data = parse_card(card).metadata if card else {}
    except InvalidInput:
        card_data = {}
    versions = []
    for v in model.versions:
        parity = v.parity or {}
        versions.append(
            {
                "number": v.number,
                "created_at": _iso(v.created_at),
                "sha256": v.sha256,
                "size": v.size,
                "family": v.family,
                "framework": v.framework,
                "opset": v.opset,
                "parity_passed": parity.get("passed") if parity else None,
                "deleted": v.deleted_at is not None,
            }
        )
    return {
        **model_summary(model),
        "description": model.description,
        "card": model.card,
        "card_data": card_data,
        "created_at": _iso(model.created_at),
        "versions": versions,
    }


def version_detail(model: Model, version: Version) -> dict[str, Any]:
    """Signature, parity report, digests, family/framework, opset, IR, task, aliases,
    provenance and the stored metadata of one version."""
    extra = dict(version.extra or {})
    return {
        "model": model.name,
        "version": version.number,
        "family": version.family,
        "framework": version.framework,
        "framework_version": version.framework_version,
        "opset": version.opset,
        "ir_version": version.ir_version,
        "task": version.task,
        "inputs": list(version.inputs),
        "outputs": list(version.outputs),
        "sha256": version.sha256,
        "size": version.size,
        "test_data_sha256": version.test_data_sha256,
        "parity": version.parity,
        "aliases": sorted(a.name for a in model.aliases if a.version_id == version.id),
        "downloads": int(version.downloads or 0),
        "provenance": extra.pop("provenance", None),
        "card": extra.pop("card", None),
        "metadata": extra,
        "created_at": _iso(version.created_at),
    }


def count_download(session: Session, model: Model, version: Version) -> None:
    """One full download of ``version``: counted on the version and on its model."""
    session.execute(
        update(Version).where(Version.id == version.id).values(downloads=Version.downloads + 1)
    )
    session.execute(update(Model).where(Model.id == model.id).values(downloads=Model.downloads + 1))


def live_version(model: Model, number: int) -> Version:
    """Version ``number`` of ``model`` if it exists and is not deleted (NotFound otherwise)."""
    for version in model.versions:
        if version.number == number:
            if version.deleted_at is not None:
                raise NotFound(f"version {number} of {model.name!r} was deleted")
            return version
    raise NotFound(f"model {model.name!r} has no version {number}")
