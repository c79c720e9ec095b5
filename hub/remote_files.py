"""Fetching every file of a remote version (its graph and external-data files) into a folder.

Each file of the version's manifest (``files`` in ``GET /api/models/{name}/versions/{ref}``)
comes from ``.../files/{path}``, streamed to ``<path>.part`` in 1 MiB chunks, hashed on disk,
and renamed into place only when its sha256 is the manifest's. An interrupted transfer leaves
its ``.part`` file; the next run asks only for the missing bytes (``Range: bytes=N-`` with
``If-Range`` set to the file's ETag, so a server whose file changed sends it whole). A file
already in place with the right sha256 is not fetched again. A file whose bytes do not match
is deleted and raises :class:`~hub.errors.StorageError` naming it.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import quote

import requests

from hub.errors import InvalidInput, StorageError

if TYPE_CHECKING:
    from hub.client import Client

#: Bytes read from the socket or the disk at a time (1 MiB).
CHUNK = 1024 * 1024


def manifest_files(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest entries of a version record (graph first); a record from a hub that
    predates manifests is its one file ``model.onnx``."""
    manifest = record.get("files")
    if isinstance(manifest, dict) and manifest.get("files"):
        return list(manifest["files"])
    return [{"path": "model.onnx", "size": record["size"], "sha256": record["sha256"]}]


def safe_member(path: str) -> PurePosixPath:
    """``path`` as a relative path inside the target folder (InvalidInput otherwise): a
    manifest from a remote hub never writes outside the folder it is fetched into."""
    member = PurePosixPath(path)
    if (
        not path
        or "\x00" in path
        or "\\" in path
        or member.is_absolute()
        or any(part in ("..", "") for part in member.parts)
    ):
        raise InvalidInput(f"the remote manifest names an unsafe file path {path!r}; refused")
    return member


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def fetch_files(client: Client, record: dict[str, Any], folder: Path) -> list[Path]:
    """Every file of ``record`` into ``folder`` (made if needed), each verified; the paths,
    graph first. Raises StorageError (file named) on a sha256 mismatch or a short body."""
    entries = manifest_files(record)
    base = f"/api/models/{record['model']}/versions/{record['version']}/files/"
    written = []
    for entry in entries:
        target = Path(folder).joinpath(*safe_member(str(entry["path"])).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        label = f"{entry['path']} of {record['model']}:{record['version']}"
        if not (target.is_file() and file_sha256(target) == entry["sha256"]):
            _fetch_one(client, base + quote(str(entry["path"]), safe="/"), target, entry, label)
        written.append(target)
    return written


def _fetch_one(client: Client, path: str, target: Path, entry: dict[str, Any], label: str) -> None:
    size, expected = int(entry["size"]), str(entry["sha256"])
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    if have > size:  # not a prefix of this file
        part.unlink()
        have = 0
    if have < size:
        headers = {}
        if have:
            headers = {"Range": f"bytes={have}-", "If-Range": f'"{expected}"'}
        response = client._request("GET", path, headers=headers, stream=True)
        try:
            with response:
                resumed = response.status_code == 206
                with open(part, "ab" if resumed else "wb") as handle:
                    for block in response.iter_content(CHUNK):
                        handle.write(block)
        except requests.RequestException as exc:
            kept = part.stat().st_size if part.is_file() else 0
            raise StorageError(
                f"transfer of {label} was interrupted after {kept} of {size} bytes ({exc}); "
                "run the command again to resume it"
            ) from None
    got_size = part.stat().st_size
    got = file_sha256(part)
    if got_size != size or got != expected:
        part.unlink(missing_ok=True)
        raise StorageError(
            f"{label} arrived with {got_size} bytes and sha256 {got}; the manifest says "
            f"{size} bytes, sha256 {expected}; removed it (run the command again)"
        )
    part.replace(target)


def multipart_body(
    parts: list[tuple[str, str | None, str, bytes | Path]],
) -> tuple[str, Iterator[bytes]]:
    """(Content-Type, body chunks) of a ``multipart/form-data`` body whose parts are
    ``(name, filename or None, media type, bytes or a file's path)``: files are read in
    chunks as the body is sent (chunked transfer), never whole into memory."""
    boundary = f"onnxhub-{secrets.token_hex(16)}"

    def chunks() -> Iterator[bytes]:
        for name, filename, media_type, content in parts:
            disposition = f'form-data; name="{name}"'
            if filename is not None:
                disposition += f'; filename="{_quoted(filename)}"'
            yield (
                f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
                f"Content-Type: {media_type}\r\n\r\n"
            ).encode()
            if isinstance(content, Path):
                with open(content, "rb") as handle:
                    while block := handle.read(CHUNK):
                        yield block
            else:
                yield content
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    return f"multipart/form-data; boundary={boundary}", chunks()


def _quoted(filename: str) -> str:
    if any(c in filename for c in '"\r\n'):
        raise InvalidInput(f"file name {filename!r} cannot be sent in a multipart header")
    return filename
