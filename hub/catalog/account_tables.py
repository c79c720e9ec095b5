"""Tables for people and access: users, their API tokens, and model collaborators.

A model's owner is the :class:`~hub.catalog.models.Owner` row of the same name as a user (the
owners table is the namespace; the users table holds who can sign in). Tokens are stored as the
sha256 of a high-entropy secret; the secret itself is shown once, when it is created.
Query functions live in :mod:`hub.catalog.accounts` and :mod:`hub.catalog.access`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.catalog.models import Base, utcnow

#: Token scopes, weakest first: each one includes the ones before it.
SCOPES = ("read", "write", "admin")
#: The only collaborator role for now: may publish versions and move aliases.
WRITE_ROLE = "write"


class User(Base):
    """Someone who can hold tokens, own models and collaborate on others'."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A bearer token: ``token_hash`` is the sha256 (hex) of the secret, never the secret."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the secret (``onh_XXXX``), enough to recognise it in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="raise")


class Collaborator(Base):
    """A user other than the owner who may write to a model (role ``write``)."""

    __tablename__ = "collaborators"

    model_id: Mapped[int] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20), default=WRITE_ROLE)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(lazy="raise")
