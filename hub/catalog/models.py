"""SQLAlchemy 2 tables of the catalog.

Relationships load with ``lazy="raise"``: every query says what it loads, so no query hides
behind an attribute access. Query functions live in :mod:`hub.catalog.queries`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


model_tags = Table(
    "model_tags",
    Base.metadata,
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Owner(Base):
    """A user or organisation that owns models."""

    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Tag(Base):
    """A free-form label shared between models."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Model(Base):
    """A named model: its card metadata and the versions published under it."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    task: Mapped[str | None] = mapped_column(String(100), index=True)
    license: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    card: Mapped[str | None] = mapped_column(Text)
    #: Private models are visible only to their owner, collaborators and admins (404 to others).
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Full downloads of any version's model.onnx (a 304, a HEAD or a range does not count).
    downloads: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    owner: Mapped[Owner] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(secondary=model_tags, lazy="raise", order_by=Tag.name)
    versions: Mapped[list["Version"]] = relationship(
        back_populates="model", lazy="raise", order_by="Version.number"
    )
    aliases: Mapped[list["Alias"]] = relationship(lazy="raise", order_by="Alias.name")


class Version(Base):
    """One immutable published version: an ONNX blob, its signature and parity report."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("model_id", "number", name="uq_versions_model_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    family: Mapped[str] = mapped_column(String(100))
    framework: Mapped[str] = mapped_column(String(100))
    framework_version: Mapped[str] = mapped_column(String(100))
    opset: Mapped[int] = mapped_column(Integer)
    ir_version: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[list[Any]] = mapped_column(JSON)
    outputs: Mapped[list[Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    parity: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    test_data_sha256: Mapped[str | None] = mapped_column(String(64))
    task: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: Set when the version is deleted: its number is never reused, its blob waits for gc.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    model: Mapped[Model] = relationship(back_populates="versions", lazy="raise")


class Alias(Base):
    """A movable name (``production``, ``staging``...) pointing at one version of a model."""

    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("model_id", "name", name="uq_aliases_model_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[Version] = relationship(lazy="raise")


class Event(Base):
    """Append-only outbox: one row per catalog change, written in the change's transaction."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_model_name_id", "model_name", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    model_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int | None] = mapped_column(Integer)
    alias: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Tables of users, tokens and collaborators: defined in their own module, registered on Base here
# so that every importer of the catalog's metadata sees them.
from hub.catalog import account_tables as _account_tables  # noqa: E402,F401

# Likes, comments and contributions: the same, in their own module.
from hub.catalog import community_tables as _community_tables  # noqa: E402,F401

# Each version's files (graph and external data): the same, in their own module.
from hub.catalog import file_tables as _file_tables  # noqa: E402,F401
