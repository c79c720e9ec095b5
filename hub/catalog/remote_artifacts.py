"""Content-addressed blobs on any fsspec URL (``s3://bucket/prefix``), with a verified local cache.

Layout under the URL is the local store's: ``<prefix>/<aa>/<sha256>``. S3 settings come only
from the standard AWS variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``), read by botocore under s3fs.

- **Atomic writes.** On object stores (S3, GCS, Azure) one PUT (or one completed multipart
  upload) makes the whole object visible at once, so blobs are written straight to their final
  key; on other file systems they are written under ``<prefix>/.tmp/`` and renamed into place.
  Either way a reader never sees a partial object, and readers verify the sha256 anyway.
- **Read-through cache.** Each process keeps fetched blobs under ``cache/<aa>/<sha256>``
  (written to a temporary file, renamed). Every read verifies the bytes against their name: a
  bad cached copy is dropped and fetched again; a bad remote object is refused (StorageError),
  logged, and never cached or served.
- **Failures.** A missing object is NotFound; an unreachable store (refused, reset or timed-out
  connections) is Unavailable (503, retry later), any other refusal StorageError; both name
  the URL (never credentials) and the first line of the cause.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from hub.catalog.artifacts import ArtifactStore, sha256_hex, write_whole
from hub.catalog.manifest import hash_file
from hub.errors import NotFound, StorageError, Unavailable, first_line

log = logging.getLogger(__name__)

_HEX = set("0123456789abcdef")
#: Protocols whose single PUT makes an object visible whole (no rename needed or possible).
OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oci", "memory"}


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a refused, reset or timed-out connection."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        name = type(seen).__name__
        if (
            isinstance(seen, (ConnectionError, TimeoutError))
            or "Connect" in name
            or "Timeout" in name
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class RemoteArtifactStore(ArtifactStore):
    """The :class:`~hub.catalog.artifacts.ArtifactStore` interface over an fsspec URL
    (every method overridden; there is no local ``root`` folder).

    ``url``: e.g. ``s3://bucket/prefix``; ``cache``: a local folder for verified copies;
    ``storage_options``: passed to fsspec (tests only; deployments use the AWS variables).
    """

    def __init__(self, url: str, cache: Path, **storage_options: Any) -> None:
        try:
            from fsspec.core import url_to_fs

            # No listing cache: another replica may have written a blob a moment ago.
            self.fs, root = url_to_fs(
                url, use_listings_cache=False, skip_instance_cache=True, **storage_options
            )
        except ImportError as exc:
            raise StorageError(
                f"artifact store {url}: {first_line(exc)} (pip install 'onnxhub[s3]')"
            ) from None
        except ValueError as exc:
            raise StorageError(f"artifact store {url}: {first_line(exc)}") from None
        self.url = url.rstrip("/")
        self.prefix = root.rstrip("/")
        self.cache = Path(cache)
        # No local ``root``: tools that need one store folder (``onnxhub gc``, its file lock)
        # see a store they must not touch; the object store's own lifecycle rules apply.
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.atomic_put = bool(OBJECT_STORES.intersection(protocols))

    def __repr__(self) -> str:
        return f"RemoteArtifactStore({self.url!r}, cache={str(self.cache)!r})"

    # -- names -----------------------------------------------------------------------------

    @staticmethod
    def _check_digest(digest: str) -> str:
        if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
            raise NotFound(f"{digest!r} is not a sha256 digest")
        return digest

    def key(self, digest: str) -> str:
        """The object's path inside the file system (``bucket/prefix/aa/<sha256>``)."""
        digest = self._check_digest(digest)
        return f"{self.prefix}/{digest[:2]}/{digest}"

    def _cached(self, digest: str) -> Path:
        return self.cache / digest[:2] / digest

    def _fail(self, action: str, exc: BaseException) -> StorageError | Unavailable:
        if _unreachable(exc):
            return Unavailable(
                f"artifact store {self.url} is unreachable: cannot {action}: {first_line(exc)}",
                retry_after=5,
            )
        return StorageError(f"artifact store {self.url}: cannot {action}: {first_line(exc)}")

    # -- writing ---------------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        try:
            return bool(self.fs.exists(self.key(digest)))
        except NotFound:
            raise
        except Exception as exc:
            raise self._fail(f"check {digest}", exc) from None

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; returns (sha256, whether this call created the object)."""
        digest = sha256_hex(data)
        if self.exists(digest):
            return digest, False
        try:
            if self.atomic_put:
                self.fs.pipe_file(self.key(digest), data)
            else:
                staging = f"{self.prefix}/.tmp/{uuid.uuid4().hex}"
                self.fs.makedirs(f"{self.prefix}/.tmp", exist_ok=True)
                self.fs.pipe_file(staging, data)
                self._move_into_place(staging, digest)
        except Exception as exc:
            raise self._fail(f"write {digest}", exc) from None
        self._store_in_cache(digest, data)
        return digest, True

    def put_file(self, source: Path) -> tuple[str, int, bool]:
        """Store the file ``source`` (hashed, then uploaded; never read whole into memory);
        returns (sha256, size, whether this call created the object)."""
        try:
            digest, size = hash_file(Path(source))
        except OSError as exc:
            raise StorageError(f"cannot read {Path(source).name}: {exc.strerror}") from None
        if self.exists(digest):
            return digest, size, False
        try:
            if self.atomic_put:
                self.fs.put_file(str(source), self.key(digest))
            else:
                staging = f"{self.prefix}/.tmp/{uuid.uuid4().hex}"
                self.fs.makedirs(f"{self.prefix}/.tmp", exist_ok=True)
                self.fs.put_file(str(source), staging)
                self._move_into_place(staging, digest)
        except Exception as exc:
            raise self._fail(f"upload {Path(source).name}", exc) from None
        return digest, size, True

    def _move_into_place(self, staging: str, digest: str) -> None:
        target = self.key(digest)
        try:
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            self.fs.mv(staging, target)
        except BaseException:
            try:
                self.fs.rm_file(staging)
            except Exception:
                pass
            raise

    def delete(self, digest: str) -> None:
        """Remove the object and this process's cached copy (missing is not an error)."""
        self._cached(self._check_digest(digest)).unlink(missing_ok=True)
        try:
            self.fs.rm_file(self.key(digest))
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise self._fail(f"delete {digest}", exc) from None

    # -- reading ---------------------------------------------------------------------------

    def read(self, digest: str) -> bytes:
        """The blob's bytes, verified against their name (cache first, then the store)."""
        cached = self._cached(self._check_digest(digest))
        try:
            data = cached.read_bytes()
        except FileNotFoundError:
            data = None
        except OSError as exc:
            log.warning("cannot read cached artifact %s: %s", digest, exc.strerror)
            data = None
        if data is not None:
            if sha256_hex(data) == digest:
                return data
            log.warning("cached artifact %s is corrupted; fetching it again", digest)
            cached.unlink(missing_ok=True)
        data = self._fetch(digest)
        self._store_in_cache(digest, data)
        return data

    def path(self, digest: str) -> Path:
        """A local file holding the verified blob (fetched into the cache if needed, streamed
        to disk and hashed there: a multi-GB weight file never passes through memory)."""
        cached = self._cached(self._check_digest(digest))
        if not cached.is_file():
            self._download_to_cache(digest, cached)
        return cached

    def verified_file(self, digest: str) -> Path:
        """:meth:`path`, with a cached copy checked again (streamed): a damaged one is dropped
        and fetched again, as :meth:`read` does."""
        cached = self._cached(self._check_digest(digest))
        try:
            good = hash_file(cached)[0] == digest
            if not good:
                log.warning("cached artifact %s is corrupted; fetching it again", digest)
        except FileNotFoundError:
            good = False
        except OSError as exc:
            log.warning("cannot read cached artifact %s: %s", digest, exc.strerror)
            good = False
        if not good:
            try:
                cached.unlink(missing_ok=True)
            except OSError:
                pass  # the download below says why the cache cannot be written
            self._download_to_cache(digest, cached)
        return cached

    def _download_to_cache(self, digest: str, target: Path) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            os.close(fd)
        except OSError as exc:
            raise StorageError(
                f"cannot cache artifact {digest} in {self.cache}: {exc.strerror}"
            ) from None
        tmp = Path(tmp_name)
        try:
            try:
                self.fs.get_file(self.key(digest), tmp_name)
            except FileNotFoundError:
                raise NotFound(f"artifact {digest} is missing from {self.url}") from None
            except Exception as exc:
                raise self._fail(f"read {digest}", exc) from None
            got, size = hash_file(tmp)
            if got != digest:
                log.error(
                    "artifact %s in %s does not match its sha256 (%d bytes): refused",
                    digest,
                    self.url,
                    size,
                )
                raise StorageError(
                    f"artifact {digest} in {self.url} is corrupted (its sha256 does not match): "
                    "refused"
                )
            os.replace(tmp, target)
        except OSError as exc:
            raise StorageError(
                f"cannot cache artifact {digest} in {self.cache}: {exc.strerror}"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)

    def _fetch(self, digest: str) -> bytes:
        try:
            data = self.fs.cat_file(self.key(digest))
        except FileNotFoundError:
            raise NotFound(f"artifact {digest} is missing from {self.url}") from None
        except Exception as exc:
            raise self._fail(f"read {digest}", exc) from None
        if sha256_hex(data) != digest:
            log.error(
                "artifact %s in %s does not match its sha256 (%d bytes): refused",
                digest,
                self.url,
                len(data),
            )
            raise StorageError(
                f"artifact {digest} in {self.url} is corrupted (its sha256 does not match): refused"
            )
        return data

    def _store_in_cache(self, digest: str, data: bytes) -> None:
        target = self._cached(digest)
        try:
            write_whole(target, data, durable=False)
        except OSError as exc:  # a full cache disk only costs a refetch next time
            log.warning("cannot cache artifact %s in %s: %s", digest, self.cache, exc.strerror)
