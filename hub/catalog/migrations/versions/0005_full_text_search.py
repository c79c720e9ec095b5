"""Full-text search over models: an FTS5 table kept in sync by triggers on SQLite, a GIN index
on the weighted tsvector on PostgreSQL (see hub.catalog.search_index).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

Neither object is part of the SQLAlchemy models; the schema comparison leaves them out
(``search_index.include_object``). Existing models are indexed here.
"""

from __future__ import annotations

from typing import Sequence

from alembic import op

from hub.catalog import search_index

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    search_index.install(op.get_bind())


def downgrade() -> None:
    search_index.uninstall(op.get_bind())
