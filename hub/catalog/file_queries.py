"""Query functions for version manifests (they take a session and never commit)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.catalog.file_tables import VersionFile
from hub.catalog.manifest import GRAPH, Manifest, ManifestFile
from hub.catalog.models import Version


def add_version_files(session: Session, version: Version, manifest: Manifest) -> None:
    """Record ``manifest`` as the files of ``version`` (flushed; the caller commits)."""
    for position, entry in enumerate(manifest.files):
        session.add(
            VersionFile(
                version_id=version.id,
                position=position,
                path=entry.path,
                role=entry.role,
                size=entry.size,
                sha256=entry.sha256,
            )
        )
    session.flush()


def version_manifest(session: Session, version: Version) -> Manifest:
    """The files of ``version``, graph first; a version without rows (published before
    manifests, or through a path that stores one file) is its graph file ``model.onnx``."""
    rows = session.scalars(
        select(VersionFile)
        .where(VersionFile.version_id == version.id)
        .order_by(VersionFile.position)
    ).all()
    if not rows:
        return Manifest.single(version.sha256, version.size)
    return Manifest(tuple(ManifestFile(r.path, r.size, r.sha256, r.role) for r in rows))


def manifest_of(session: Session, model_name: str, number: int) -> Manifest:
    """The manifest of version ``number`` of ``model_name`` (NotFound as the queries say)."""
    from hub.catalog.queries import find_version, require_model

    model = require_model(session, model_name)
    return version_manifest(session, find_version(session, model, number))


def file_in_use(session: Session, digest: str) -> bool:
    """Whether any version lists ``digest`` among its files."""
    count = session.scalar(
        select(func.count()).select_from(VersionFile).where(VersionFile.sha256 == digest)
    )
    return bool(count)


__all__ = [
    "GRAPH",
    "add_version_files",
    "file_in_use",
    "live_manifests",
    "manifest_of",
    "version_manifest",
]


def live_manifests(session: Session) -> list[Manifest]:
    """The manifest of every version that is not deleted (for pruning local folders)."""
    versions = session.scalars(select(Version).where(Version.deleted_at.is_(None))).all()
    rows = session.scalars(select(VersionFile).order_by(VersionFile.position)).all()
    by_version: dict[int, list[ManifestFile]] = {}
    for r in rows:
        by_version.setdefault(r.version_id, []).append(
            ManifestFile(r.path, r.size, r.sha256, r.role)
        )
    return [
        Manifest(tuple(by_version[v.id]))
        if v.id in by_version
        else Manifest.single(v.sha256, v.size)
        for v in versions
    ]
