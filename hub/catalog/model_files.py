"""Model folders in and out of the artifact store: store a model's files, lay a version out as
a folder (for onnxruntime to memory-map), download it, all streamed and verified.

Only the store's local-file operations are used (``put_file``, ``path``); the folder a version
is laid out in lives in a local cache, one folder per manifest digest.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from hub.catalog.artifacts import ArtifactStore
from hub.catalog.manifest import DATA, GRAPH, Manifest, ManifestFile, copy_verified, verify_file
from hub.errors import InvalidInput, StorageError
from hub.onnx.external import ModelFiles, check_member_path

#: Marker written last into a laid-out folder: its presence means every file was placed.
COMPLETE = ".complete"


def store_model_files(store: ArtifactStore, files: ModelFiles) -> tuple[Manifest, list[str]]:
    """Stream every file of ``files`` into ``store``; (manifest, digests this call created).

    Each blob is complete or absent (written to a temporary file, renamed); when a later file
    fails, the blobs stored so far stay unreferenced until ``onnxhub gc`` (a concurrent publish
    of the same bytes may share them), and no version names them.
    """
    created: list[str] = []
    entries: list[ManifestFile] = []
    for index, (name, path) in enumerate(files.paths()):
        check_member_path(name)
        if index == 0 and files.graph_bytes is not None:
            digest, new = store.put(files.graph_bytes)
            size = len(files.graph_bytes)
        else:
            digest, size, new = store.put_file(path)
        if new:
            created.append(digest)
        entries.append(ManifestFile(name, size, digest, GRAPH if index == 0 else DATA))
    return Manifest(tuple(entries)), created


def store_checked_files(
    store: ArtifactStore, model_bytes: bytes, files: ModelFiles | None, created: list[str]
) -> Manifest:
    """Store a checked model, appending the digests this call created to ``created``: its
    ``files`` when it has external data, else ``model_bytes`` as the one file ``model.onnx``."""
    if files is None:
        digest, new = store.put(model_bytes)
        if new:
            created.append(digest)
        return Manifest.single(digest, len(model_bytes))
    manifest, new_blobs = store_model_files(store, files)
    created.extend(new_blobs)
    return manifest


def _place(source: Path, target: Path, entry: ManifestFile, label: str, link: bool) -> None:
    """Put blob ``source`` at ``target``: a hard link when ``link`` and the file system allows
    (onnxruntime then maps the store's own pages), else a verified streamed copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(source, target)
            return
        except FileNotFoundError:
            raise StorageError(
                f"{label}: file {entry.path} is missing from the artifact store; refused"
            ) from None
        except OSError:
            pass  # another file system, or links not allowed: copy instead
    copy_verified(source, target, entry, label)


def materialise(store: ArtifactStore, manifest: Manifest, cache: Path, label: str) -> Path:
    """The graph's path in a folder laid out as ``manifest`` says, every file verified.

    The folder is ``cache/<manifest digest>/`` and is built once (in a temporary folder, renamed
    into place); every call re-checks each file's size and sha256 (streamed), so a corrupted or
    truncated blob is refused with one line naming the file, never served.
    """
    folder = cache / manifest.digest
    if not (folder / COMPLETE).is_file():
        cache.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
        try:
            for entry in manifest.files:
                name = check_member_path(entry.path)
                verify_file(store.path(entry.sha256), entry, label)
                _place(store.path(entry.sha256), building / name, entry, label, link=True)
            (building / COMPLETE).write_text(manifest.digest)
            try:
                os.rename(building, folder)
            except OSError:
                if not (folder / COMPLETE).is_file():  # not merely built by someone else
                    shutil.rmtree(folder, ignore_errors=True)
                    os.rename(building, folder)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return folder / manifest.graph.path
    for entry in manifest.files:
        verify_file(folder / entry.path, entry, label)
    return folder / manifest.graph.path


def download(store: ArtifactStore, manifest: Manifest, target: Path, label: str) -> list[Path]:
    """Copy every file of ``manifest`` under the folder ``target`` (created), each streamed and
    checked against its sha256; returns the paths written, graph first. Files are copied, never
    linked: editing a download cannot touch the store. A file that already exists is refused."""
    paths = [target / check_member_path(entry.path) for entry in manifest.files]
    clash = [p for p in paths if p.exists()]
    if clash:
        raise InvalidInput(f"{clash[0]} already exists; choose another folder")
    written: list[Path] = []
    try:
        for entry, path in zip(manifest.files, paths):
            copy_verified(store.path(entry.sha256), path, entry, label)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


def prune(cache: Path, keep: set[str]) -> list[Path]:
    """Remove the laid-out folders under ``cache`` whose manifest digest is not in ``keep``
    (deleted versions: their hard links would keep collected blobs on disk) and unfinished
    builds; returns what was removed."""
    removed: list[Path] = []
    if not cache.is_dir():
        return removed
    for folder in sorted(cache.iterdir()):
        if not folder.is_dir() or folder.name in keep:
            continue
        if folder.name.startswith(".build-") and time.time() - folder.stat().st_mtime < 3600:
            continue  # a load may be laying it out right now
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
