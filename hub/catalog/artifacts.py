"""Content-addressed blob store: files named by their sha256, written atomically, verified on read."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from hub.catalog.manifest import hash_file
from hub.errors import NotFound, StorageError

_HEX = set("0123456789abcdef")


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data`` as 64 lowercase hex characters."""
    return hashlib.sha256(data).hexdigest()


class ArtifactStore:
    """Blobs under ``root/<aa>/<sha256>``; identical bytes are stored once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _check_digest(self, digest: str) -> str:
        if len(digest) != 64 or not set(digest) <= _HEX:
            raise NotFound(f"{digest!r} is not a sha256 digest")
        return digest

    def path(self, digest: str) -> Path:
        """Where the blob ``digest`` lives (it may not exist)."""
        digest = self._check_digest(digest)
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; returns (sha256, whether this call created the blob).

        Storing bytes that are already there refreshes the blob's time, so ``onnxhub gc``
        (which keeps young blobs) never collects it while this publish commits.
        """
        digest = sha256_hex(data)
        target = self.path(digest)
        if _refresh(target):
            return digest, False
        try:
            write_whole(target, data, durable=True)
        except OSError as exc:
            raise StorageError(f"cannot write artifact to {self.root}: {exc}") from None
        return digest, True

    def put_file(self, source: Path) -> tuple[str, int, bool]:
        """Store the file ``source`` by streaming it (hashed while copied, never read whole);
        returns (sha256, size, whether this call created the blob). Nothing is left behind
        when the copy fails (a full disk, say): StorageError."""
        from hub.catalog.manifest import copy_hashing

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=self.root)
            try:
                with open(source, "rb") as src, os.fdopen(fd, "wb") as handle:
                    digest, size = copy_hashing(src, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                target = self.path(digest)
                if _refresh(target):
                    return digest, size, False
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, target)
                return digest, size, True
            finally:
                Path(tmp_name).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot store {source.name} in {self.root}: {exc.strerror}"
            ) from None

    def read(self, digest: str) -> bytes:
        """The blob's bytes, verified against its name; StorageError when corrupted."""
        target = self.path(digest)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"artifact {digest} is missing from {self.root}") from None
        except OSError as exc:
            raise StorageError(f"cannot read artifact {digest}: {exc}") from None
        if sha256_hex(data) != digest:
            raise StorageError(f"artifact {digest} is corrupted (its sha256 no longer matches)")
        return data

    def verified_file(self, digest: str) -> Path:
        """The local file holding the blob, its bytes checked against its name (streamed, never
        read whole): what a session is built from without a copy of the model in memory.
        NotFound when it is missing, StorageError when corrupted."""
        target = self.path(digest)
        try:
            got, _ = hash_file(target)
        except FileNotFoundError:
            raise NotFound(f"artifact {digest} is missing from {self.root}") from None
        except OSError as exc:
            raise StorageError(f"cannot read artifact {digest}: {exc}") from None
        if got != digest:
            raise StorageError(f"artifact {digest} is corrupted (its sha256 no longer matches)")
        return target

    def delete(self, digest: str) -> None:
        """Remove a blob. Only ``onnxhub gc`` does (:mod:`hub.catalog.gc`): a publish never
        deletes inline, since a concurrent publish of identical bytes may share the blob."""
        self.path(digest).unlink(missing_ok=True)


def write_whole(target: Path, data: bytes, *, durable: bool) -> None:
    """Write ``data`` to ``target`` (and its missing parent folders) through a temporary file
    renamed over it, so a reader sees the old file or the whole new one, never a part; with
    ``durable`` the bytes reach the disk (fsync) before the rename. OSError when it cannot be
    written, with no temporary file left behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _refresh(target: Path) -> bool:
    """Touch ``target`` if it exists (True), so it counts as freshly stored; else False."""
    try:
        os.utime(target)
        return True
    except FileNotFoundError:
        return False
    except OSError:  # a read-only store: the blob is there, and gc cannot run on it either
        return target.is_file()


def is_url(location: str | Path) -> bool:
    """Whether an ``ONNXHUB_ARTIFACTS`` value is an fsspec URL rather than a folder."""
    return isinstance(location, str) and "://" in location and not location.startswith("file://")


def open_store(location: str | Path, cache: Path) -> ArtifactStore:
    """The store for ``location``: a local folder, or any fsspec URL (``s3://bucket/prefix``)
    with a verified read-through cache in ``cache``
    (:class:`~hub.catalog.remote_artifacts.RemoteArtifactStore`)."""
    if is_url(location):
        from hub.catalog.remote_artifacts import RemoteArtifactStore

        return RemoteArtifactStore(str(location), cache)
    text = str(location)
    return ArtifactStore(Path(text[len("file://") :] if text.startswith("file://") else text))
