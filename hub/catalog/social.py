"""Likes and comments. Functions take a session and never commit.

A like is one row per (model, user), inserted with ``ON CONFLICT DO NOTHING`` (SQLite and
PostgreSQL), so liking twice, or two concurrent clicks, leave exactly one row; unliking is a
``DELETE`` that may find nothing. Comments belong to a model and optionally to one of its
contributions; only their author or an admin may delete them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from hub.catalog.account_tables import User
from hub.catalog.accounts import Principal, get_or_create_user
from hub.catalog.community_tables import Comment, Contribution, Like
from hub.catalog.models import Model
from hub.catalog.queries import add_event
from hub.errors import Forbidden, InvalidInput, NotFound

MAX_COMMENT_CHARS = 10_000


def like_count_of(model_id: Any) -> ColumnElement[int]:
    """A scalar subquery: the likes of the model whose id is ``model_id`` (a column or value);
    usable as a sort key and in keyset cursors."""
    return select(func.count()).select_from(Like).where(Like.model_id == model_id).scalar_subquery()


def like_count(session: Session, model_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Like.model_id == model_id)) or 0)


def like_counts(session: Session, model_ids: list[int]) -> dict[int, int]:
    """Likes per model id (absent ids have none)."""
    if not model_ids:
        return {}
    rows = session.execute(
        select(Like.model_id, func.count())
        .where(Like.model_id.in_(model_ids))
        .group_by(Like.model_id)
    )
    return {model_id: int(n) for model_id, n in rows}


def likes_model(session: Session, model_id: int, user: str | None) -> bool:
    if user is None:
        return False
    return (
        session.scalar(
            select(Like.model_id)
            .join(User, User.id == Like.user_id)
            .where(Like.model_id == model_id, User.name == user)
        )
        is not None
    )


def set_like(session: Session, model: Model, user_name: str, liked: bool) -> int:
    """Like (or unlike) ``model`` as ``user_name``, idempotently; returns the new count."""
    user = get_or_create_user(session, user_name)
    if liked:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(Like)
            .values(model_id=model.id, user_id=user.id)
            .on_conflict_do_nothing(index_elements=["model_id", "user_id"])
        )
    else:
        session.execute(delete(Like).where(Like.model_id == model.id, Like.user_id == user.id))
    return like_count(session, model.id)


# -- comments ---------------------------------------------------------------------------------


def check_comment_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("field 'body' must be a non-empty string")
    if len(body) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"field 'body' is longer than {MAX_COMMENT_CHARS} characters")
    if "\x00" in body:
        raise InvalidInput("field 'body' must not contain NUL characters")
    return body.strip()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def comment_json(comment: Comment) -> dict[str, Any]:
    """``{id, author, body (Markdown), contribution (id or null), created_at}``."""
    return {
        "id": comment.id,
        "author": comment.author.name,
        "body": comment.body,
        "contribution": comment.contribution_id,
        "created_at": _iso(comment.created_at),
    }


def list_comments(
    session: Session, model: Model, contribution_id: int | None = None
) -> list[Comment]:
    """The model's own comments (``contribution_id`` None) or one contribution's, oldest first."""
    where = (
        Comment.contribution_id.is_(None)
        if contribution_id is None
        else Comment.contribution_id == contribution_id
    )
    return list(
        session.scalars(
            select(Comment)
            .options(selectinload(Comment.author))
            .where(Comment.model_id == model.id, where)
            .order_by(Comment.id)
        )
    )


def add_comment(
    session: Session,
    model: Model,
    author: str,
    body: str,
    contribution_id: int | None = None,
) -> Comment:
    """Add a comment (and its ``comment.added`` event); NotFound for a contribution of another
    model."""
    body = check_comment_body(body)
    if contribution_id is not None:
        found = session.get(Contribution, contribution_id)
        if found is None or found.model_id != model.id:
            raise NotFound(f"model {model.name!r} has no contribution {contribution_id}")
    user = get_or_create_user(session, author)
    comment = Comment(
        model_id=model.id, contribution_id=contribution_id, author_id=user.id, body=body
    )
    comment.author = user
    session.add(comment)
    session.flush()
    add_event(
        session,
        "comment.added",
        model.name,
        payload={"comment": comment.id, "author": author, "contribution": contribution_id},
    )
    return comment


def delete_comment(session: Session, model: Model, comment_id: int, principal: Principal) -> None:
    """Delete a comment: its author or an admin (403 otherwise; 404 when not on this model)."""
    comment = session.scalar(
        select(Comment)
        .options(selectinload(Comment.author))
        .where(Comment.id == comment_id, Comment.model_id == model.id)
    )
    if comment is None:
        raise NotFound(f"model {model.name!r} has no comment {comment_id}")
    if not (principal.admin or comment.author.name == principal.user):
        raise Forbidden("a comment may be deleted by its author or an admin")
    session.delete(comment)
    add_event(
        session,
        "comment.deleted",
        model.name,
        payload={"comment": comment_id, "contribution": comment.contribution_id},
    )
