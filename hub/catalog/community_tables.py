"""Tables of the community features: likes, comments, and contributions (a pull request for a
model: an uploaded ONNX file, the checks the server ran on it, and the owner's decision).

Query functions live in :mod:`hub.catalog.social` (likes, comments) and
:mod:`hub.catalog.contributions`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.catalog.models import Base, utcnow

if TYPE_CHECKING:
    from hub.catalog.account_tables import User

#: Contribution states: ``open`` until the owner approves or rejects it.
CONTRIBUTION_STATES = ("open", "approved", "rejected")


class Like(Base):
    """One user likes one model: the primary key makes a second like impossible."""

    __tablename__ = "likes"

    model_id: Mapped[int] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Contribution(Base):
    """A proposed next version of a model, with the server's checks and the review outcome."""

    __tablename__ = "contributions"
    __table_args__ = (Index("ix_contributions_model_id_status", "model_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    test_data_sha256: Mapped[str | None] = mapped_column(String(64))
    opset: Mapped[int | None] = mapped_column(Integer)
    ir_version: Mapped[int | None] = mapped_column(Integer)
    inputs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    outputs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: ``[{"name", "passed", "detail"}]`` as the server ran them on upload.
    checks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: The signature compared with the target version: added/removed/changed inputs and outputs.
    signature_diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    parity: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The version the checks compared against (``production``, else the latest), if any.
    target_version: Mapped[int | None] = mapped_column(Integer)
    #: Family, framework, library, label outputs, card, tags... for the version it may become.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    #: The version number the approval created.
    version_number: Mapped[int | None] = mapped_column(Integer)

    author: Mapped["User"] = relationship(foreign_keys=[author_id], lazy="raise")
    decided_by: Mapped["User | None"] = relationship(foreign_keys=[decided_by_id], lazy="raise")


class Comment(Base):
    """A comment on a model, or on one of its contributions (``contribution_id`` set)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_model_id_contribution_id", "model_id", "contribution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    contribution_id: Mapped[int | None] = mapped_column(
        ForeignKey("contributions.id", ondelete="CASCADE")
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    author: Mapped["User"] = relationship(lazy="raise")
