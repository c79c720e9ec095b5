"""The files of each version: its manifest, one row per file (graph and external data).

A version row keeps its graph's sha256 in ``versions.sha256``; the rows here list every file
with the relative path it takes in the model's folder. Versions published before this table
existed have no rows: their manifest is their one graph file (see
:func:`hub.catalog.file_queries.version_manifest`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.catalog.models import Base


class VersionFile(Base):
    """One file of a version: ``path`` in the model's folder, ``size`` bytes, blob ``sha256``."""

    __tablename__ = "version_files"
    __table_args__ = (UniqueConstraint("version_id", "path", name="uq_version_files_version_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), index=True
    )
    #: Position in the manifest: 0 is the graph, data files follow in path order.
    position: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1000))
    role: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
