"""Render the catalog schema as SQL: ``python -m hub.catalog.schema > registry.db.sql``."""

from __future__ import annotations

import sys

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from hub.catalog.models import Base

REGENERATE = "make schema   (or: python -m hub.catalog.schema > registry.db.sql)"


def render_schema(dialect_name: str = "sqlite") -> str:
    """DDL for every table and index, in dependency order, for ``sqlite`` or ``postgresql``."""
    dialect = sqlite.dialect() if dialect_name == "sqlite" else postgresql.dialect()
    parts = [
        f"-- onnxhub catalog schema ({dialect_name}), generated from hub/catalog/models.py.",
        f"-- Regenerate with: {REGENERATE}",
        "",
    ]
    for table in Base.metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
        parts.append("")
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";")
            parts.append("")
    return "\n".join(line.rstrip() for line in "\n".join(parts).splitlines()) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_schema(sys.argv[1] if len(sys.argv) > 1 else "sqlite"))
