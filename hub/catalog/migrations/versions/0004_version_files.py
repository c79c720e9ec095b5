"""Version files: each version's manifest (graph and external-data files, with size and sha256).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

A new table only: existing versions keep no rows and read as their one graph file, so existing
catalogs upgrade in place.
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "version_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_version_files_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_files")),
        sa.UniqueConstraint("version_id", "path", name="uq_version_files_version_path"),
    )
    with op.batch_alter_table("version_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_version_files_sha256"), ["sha256"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_version_files_version_id"), ["version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("version_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_files_version_id"))
        batch_op.drop_index(batch_op.f("ix_version_files_sha256"))
    op.drop_table("version_files")
