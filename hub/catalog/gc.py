"""Collecting unreferenced blobs: the only place the artifact store deletes anything.

Publishing never deletes a blob it stored, even when its catalog write fails: a concurrent
publish of identical bytes may already point at that blob (content addressing shares it).
``onnxhub gc`` removes what nothing references instead, safely:

* **references** are read from the database itself (reflected, so every table with a
  ``sha256`` or ``*_sha256`` column counts, whichever module defined it); rows of a soft-deleted
  version (``deleted_at`` set), and the files of such a version, do not hold their blobs;
* a blob younger than ``min_age`` seconds is kept (a publish stores its blobs before it
  commits the rows that reference them; storing identical bytes again refreshes the blob's
  time, see :meth:`hub.catalog.artifacts.ArtifactStore.put`);
* on a local store, publishing holds a shared lock on the store from its first blob to its
  commit (:func:`publishing_lock`) and the deletion phase holds it exclusively, so a blob is
  never removed between a publisher's write and its commit;
* a dry run (the default) only reports.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Engine, MetaData, select

from hub.errors import StorageError

#: The store's lock file, beside its folder (``~/.onnxhub/.artifacts.lock``): never among blobs.
LOCK_SUFFIX = ".lock"
#: Blobs younger than this many seconds are never collected (default of ``--min-age``).
DEFAULT_MIN_AGE = 3600.0
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass
class GcReport:
    """What a collection found: unreferenced blobs (digest, bytes), and what it did."""

    unreferenced: list[tuple[str, int]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept_young: int = 0
    stale_temp_files: list[str] = field(default_factory=list)
    dry_run: bool = True

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.unreferenced)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "unreferenced": [{"sha256": d, "size": s} for d, s in self.unreferenced],
            "deleted": list(self.deleted),
            "kept_young": self.kept_young,
            "stale_temp_files": list(self.stale_temp_files),
        }


def _local_root(store: Any) -> Path:
    root = getattr(store, "root", None)
    if not isinstance(root, Path):
        raise StorageError(
            f"onnxhub gc collects a local artifact folder; {store!r} is not one (use the "
            "object store's own lifecycle rules with the list from a dry run elsewhere)"
        )
    return root


def lock_path(root: Path) -> Path:
    """The lock file of the store at ``root``: ``.<folder name>.lock`` beside it."""
    return root.parent / f".{root.name}{LOCK_SUFFIX}"


@contextlib.contextmanager
def publishing_lock(store: Any, exclusive: bool = False) -> Iterator[None]:
    """Hold the store's lock: shared while a publish writes blobs and commits, exclusive
    while gc deletes. A store without a local folder has no lock (a no-op)."""
    root = getattr(store, "root", None)
    if not isinstance(root, Path):
        yield
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path(root), "a+b")
    except OSError as exc:
        raise StorageError(f"cannot lock the artifact store {root}: {exc.strerror}") from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def referenced_digests(engine: Engine) -> set[str]:
    """Every digest a live row of the catalog references (see the module's notes)."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    versions = metadata.tables.get("versions")
    found: set[str] = set()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if c.name == "sha256" or c.name.endswith("_sha256")]
            for column in columns:
                query = select(column).where(column.is_not(None)).distinct()
                if "deleted_at" in table.columns:
                    query = query.where(table.c.deleted_at.is_(None))
                elif (
                    versions is not None
                    and table is not versions
                    and "version_id" in table.columns
                    and "deleted_at" in versions.columns
                ):
                    query = query.join(versions, versions.c.id == table.c.version_id).where(
                        versions.c.deleted_at.is_(None)
                    )
                found.update(str(v) for v in conn.scalars(query))
    return found


def stored_blobs(root: Path) -> Iterator[tuple[str, Path]]:
    """(digest, path) of every blob under ``root/<aa>/<digest>``."""
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or len(folder.name) != 2:
            continue
        for path in sorted(folder.iterdir()):
            if _DIGEST.fullmatch(path.name) and path.name.startswith(folder.name):
                yield path.name, path


def _temp_files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from root.glob(".tmp-*")
        yield from root.glob("??/.tmp-*")


def collect(
    engine: Engine, store: Any, *, dry_run: bool = True, min_age: float = DEFAULT_MIN_AGE
) -> GcReport:
    """Find (and unless ``dry_run``, delete) blobs no live catalog row references.

    Blobs and leftover temporary files younger than ``min_age`` seconds are kept.
    """
    root = _local_root(store)
    report = GcReport(dry_run=dry_run)
    with publishing_lock(store, exclusive=not dry_run):
        now = time.time()
        referenced = referenced_digests(engine)
        for digest, path in stored_blobs(root):
            if digest in referenced:
                continue
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            if now - info.st_mtime < min_age:
                report.kept_young += 1
                continue
            report.unreferenced.append((digest, info.st_size))
            if not dry_run:
                path.unlink(missing_ok=True)
                report.deleted.append(digest)
        for temp in _temp_files(root):
            try:
                if now - temp.stat().st_mtime < min_age:
                    continue
            except FileNotFoundError:
                continue
            report.stale_temp_files.append(str(temp.relative_to(root)))
            if not dry_run:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
    return report
