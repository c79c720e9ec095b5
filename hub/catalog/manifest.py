"""A version's manifest (its files: name, size, sha256) and streamed hashing, copying, checking.

A version is a graph file plus zero or more external-data files, each a content-addressed blob.
The manifest lists them, graph first, by the relative path they take in the model's folder.
Every function here reads and writes in :data:`CHUNK`-sized pieces: no weight file is ever
held in memory whole.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from hub.errors import StorageError

#: Bytes read or written at a time when hashing or copying a file (8 MiB).
CHUNK = 8 * 1024 * 1024
GRAPH = "graph"
DATA = "data"


@dataclass(frozen=True)
class ManifestFile:
    """One file of a version: ``path`` relative to the model's folder, ``size`` in bytes, its
    ``sha256`` (64 hex), ``role`` ``graph`` (the ONNX file) or ``data`` (external tensors)."""

    path: str
    size: int
    sha256: str
    role: str = DATA

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "role": self.role}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ManifestFile":
        return cls(str(data["path"]), int(data["size"]), str(data["sha256"]), str(data["role"]))


@dataclass(frozen=True)
class Manifest:
    """The files of one version, graph first."""

    files: tuple[ManifestFile, ...]

    def __post_init__(self) -> None:
        if not self.files or self.files[0].role != GRAPH:
            raise ValueError("a manifest starts with its graph file")

    @classmethod
    def single(cls, sha256: str, size: int, path: str = "model.onnx") -> "Manifest":
        """The manifest of a self-contained ONNX file (versions without external data)."""
        return cls((ManifestFile(path, size, sha256, GRAPH),))

    @property
    def graph(self) -> ManifestFile:
        return self.files[0]

    @property
    def data(self) -> tuple[ManifestFile, ...]:
        return self.files[1:]

    @property
    def total_size(self) -> int:
        """Bytes of all files together."""
        return sum(f.size for f in self.files)

    @property
    def digest(self) -> str:
        """sha256 of the manifest itself (canonical JSON): names a materialised folder."""
        text = json.dumps([f.to_json() for f in self.files], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """``{"files": [{"path", "size", "sha256", "role"}...], "total_size": N}``."""
        return {"files": [f.to_json() for f in self.files], "total_size": self.total_size}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Manifest":
        return cls(tuple(ManifestFile.from_json(f) for f in data["files"]))


def iter_chunks(handle: BinaryIO, chunk: int = CHUNK) -> Iterable[bytes]:
    """Successive reads of ``handle`` until its end."""
    while True:
        block = handle.read(chunk)
        if not block:
            return
        yield block


def hash_file(path: Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of ``path``, read in chunks into one buffer mapped for the
    call and unmapped after it. Chunks from the allocator would stay resident once freed (it
    keeps large freed blocks for reuse), and a server verifies a model's files at each load,
    inside the memory the load is charged for."""
    digest = hashlib.sha256()
    size = 0
    with (
        mmap.mmap(-1, CHUNK) as buffer,
        memoryview(buffer) as view,
        open(path, "rb", buffering=0) as handle,
    ):
        while count := handle.readinto(view):
            digest.update(view[:count])
            size += count
    return digest.hexdigest(), size


def copy_hashing(source: BinaryIO, target: BinaryIO) -> tuple[str, int]:
    """Copy ``source`` to ``target`` in chunks; (sha256 hex, bytes) of what was copied."""
    digest = hashlib.sha256()
    size = 0
    for block in iter_chunks(source):
        digest.update(block)
        target.write(block)
        size += len(block)
    return digest.hexdigest(), size


def verify_file(path: Path, expected: ManifestFile, label: str) -> None:
    """Check ``path`` has ``expected``'s size and sha256; StorageError (one line, naming the
    file: a server-side fault, never a client's) when it is missing, shorter or longer, or its
    bytes differ."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise StorageError(
            f"{label}: file {expected.path} is missing from the artifact store; refused"
        ) from None
    except OSError as exc:
        raise StorageError(f"{label}: cannot read file {expected.path}: {exc.strerror}") from None
    if size != expected.size:
        raise StorageError(
            f"{label}: file {expected.path} is {size} bytes, its manifest says {expected.size}; "
            "refused"
        )
    try:
        digest, _ = hash_file(path)
    except OSError as exc:
        raise StorageError(f"{label}: cannot read file {expected.path}: {exc.strerror}") from None
    if digest != expected.sha256:
        raise StorageError(
            f"{label}: file {expected.path} is corrupted (sha256 {digest[:12]}... does not match "
            f"its manifest's {expected.sha256[:12]}...); refused"
        )


def copy_verified(source: Path, target: Path, expected: ManifestFile, label: str) -> None:
    """Copy ``source`` to ``target`` (via a temporary file beside it, renamed at the end),
    checking size and sha256 on the way; nothing is left at ``target`` when they differ."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            digest, size = copy_hashing(src, dst)
        if size != expected.size or digest != expected.sha256:
            raise StorageError(
                f"{label}: file {expected.path} does not match its manifest "
                f"({size} bytes, sha256 {digest[:12]}...; expected {expected.size} bytes, "
                f"{expected.sha256[:12]}...); refused"
            )
        os.replace(tmp, target)
    except FileNotFoundError:
        raise StorageError(
            f"{label}: file {expected.path} is missing from the artifact store; refused"
        ) from None
    except OSError as exc:
        raise StorageError(f"{label}: cannot copy file {expected.path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
