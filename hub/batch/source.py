"""Which model version a batch job scores, and how each worker process gets it.

The driver resolves the reference once (so an alias moved mid-job does not mix versions) into a
picklable :class:`ModelSource`: the version's number, sha256 and signature, and where its bytes
are: the local catalog's artifact store (a folder, or an fsspec URL such as ``s3://``, each
worker keeping its own verified cache), or a hub server's ``/api`` (with a bearer token). Each
worker process fetches and verifies the bytes and opens one onnxruntime session, once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import InvalidInput, NotFound, StorageError, Unauthorized, first_line
from hub.onnx.signature import TensorSpec
from hub.settings import Settings

# One session per model bytes per worker process: Spark reuses Python workers across tasks,
# so a job loads each model once per worker, not once per batch.
_SESSIONS: dict[str, Any] = {}
_SESSIONS_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelSource:
    """A pinned model version and where to read its bytes (picklable, no open handles)."""

    model: str
    version: int
    sha256: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    artifacts: str | None = None  # folder or fsspec URL of the artifact store
    cache: str | None = None  # local cache folder for a remote store
    hub_url: str | None = None  # a hub server (``http://host:8080``)
    token: str | None = None  # bearer token for ``hub_url``
    #: (relative path, sha256) of each file, graph first, when the version has external data
    files: tuple[tuple[str, str], ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"

    def __repr__(self) -> str:  # never show the token
        where = self.hub_url or self.artifacts
        return f"ModelSource({self.ref}, sha256={self.sha256[:12]}..., from {where})"

    def fetch(self) -> bytes:
        """The ONNX bytes, verified against :attr:`sha256`."""
        if self.hub_url:
            data = _download(self)
        else:
            from hub.catalog.artifacts import open_store

            cache = Path(self.cache or Path.home() / ".onnxhub" / "artifact-cache")
            data = open_store(self.artifacts or "", cache).read(self.sha256)
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise StorageError(f"{self.ref}: the downloaded model does not match its sha256")
        return data

    def _lay_out(self) -> Path:
        """The graph's path in a folder holding every file of the version (each verified),
        so onnxruntime finds its external data beside it. Built once per worker machine."""
        from hub.catalog.artifacts import open_store
        from hub.onnx.external import check_member_path

        cache = Path(self.cache or Path.home() / ".onnxhub" / "artifact-cache")
        folder = cache / "spark" / self.sha256
        done = folder / ".complete"
        if not done.is_file():
            store = open_store(self.artifacts or "", cache)
            folder.parent.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
            try:
                for path, sha256 in self.files:
                    target = building / check_member_path(path)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(store.read(sha256))  # read() verifies the sha256
                (building / ".complete").write_text(self.sha256)
                try:
                    os.rename(building, folder)
                except OSError:  # another worker finished first
                    if not done.is_file():
                        raise
            finally:
                shutil.rmtree(building, ignore_errors=True)
        return folder / check_member_path(self.files[0][0])

    def session(self) -> Any:
        """This process's onnxruntime session for the version (created once)."""
        session = _SESSIONS.get(self.sha256)
        if session is None:
            with _SESSIONS_LOCK:
                session = _SESSIONS.get(self.sha256)
                if session is None:
                    import onnxruntime as ort

                    options = ort.SessionOptions()
                    threads = Settings.from_env().intra_op_threads
                    if threads > 0:
                        options.intra_op_num_threads = threads
                    model: Any = self.fetch() if len(self.files) <= 1 else str(self._lay_out())
                    session = ort.InferenceSession(
                        model, options, providers=["CPUExecutionProvider"]
                    )
                    _SESSIONS[self.sha256] = session
        return session


def resolve(
    ref: str, *, hub: Any = None, hub_url: str | None = None, token: str | None = None
) -> ModelSource:
    """Pin ``ref`` (``NAME``, ``NAME:VERSION``, ``NAME@ALIAS``) to one version.

    With ``hub_url`` the version is read from that server's catalog API (``token``, default
    ``$ONNXHUB_TOKEN``); otherwise from ``hub`` (default: the hub the ``ONNXHUB_*`` variables
    configure). NotFound for an unknown model, version or alias.
    """
    name, version_ref = split_ref(ref)
    if hub_url:
        token = token if token is not None else Settings.from_env().token
        model_url = f"{hub_url.rstrip('/')}/api/models/{urllib.parse.quote(name, safe='')}"
        if version_ref is None:  # the served version: production, else the latest
            summary = json.loads(_get(model_url, token, ref))
            aliases = summary.get("aliases") or {}
            version_ref = aliases.get("production", summary.get("latest_version"))
            if version_ref is None:
                raise NotFound(f"model {name!r} has no versions yet")
        path = f"/versions/{urllib.parse.quote(str(version_ref), safe='')}"
        data = json.loads(_get(model_url + path, token, ref))
        return ModelSource(
            model=data["model"],
            version=int(data["version"]),
            sha256=data["sha256"],
            inputs=tuple(TensorSpec.from_json(t) for t in data["inputs"]),
            outputs=tuple(TensorSpec.from_json(t) for t in data["outputs"]),
            hub_url=hub_url.rstrip("/"),
            token=token,
        )
    if hub is None:
        from hub.api import Hub

        with Hub() as own:
            return resolve(ref, hub=own)
    info = hub.get_version(name, version_ref)
    manifest = hub.manifest(info) if hasattr(hub, "manifest") else None
    files = tuple((f.path, f.sha256) for f in manifest.files) if manifest is not None else ()
    return ModelSource(
        model=info.model,
        version=info.version,
        sha256=info.sha256,
        inputs=tuple(info.inputs),
        outputs=tuple(info.outputs),
        artifacts=str(hub.settings.artifacts),
        cache=str(hub.settings.home / "artifact-cache"),
        files=files,
    )


def split_ref(text: str) -> tuple[str, int | str | None]:
    """``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS`` as (name, version number, alias or None)."""
    from hub.catalog.queries import check_alias_name, check_model_name

    if not isinstance(text, str) or not text:
        raise InvalidInput(
            f"invalid model reference {text!r}: use NAME, NAME:VERSION or NAME@ALIAS"
        )
    if "@" in text:
        name, _, alias = text.partition("@")
        return check_model_name(name), check_alias_name(alias)
    if ":" in text:
        name, _, version = text.partition(":")
        if not (version.isascii() and version.isdigit()) or not 0 < int(version) < 2**31:
            raise InvalidInput(f"{text!r}: the version after ':' must be a positive integer")
        return check_model_name(name), int(version)
    return check_model_name(text), None


def _get(url: str, token: str | None, what: str) -> bytes:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        if exc.code == 404:
            raise NotFound(f"{what}: {message}") from None
        if exc.code in (401, 403):
            raise Unauthorized(f"{what}: {message}") from None
        if exc.code < 500:
            raise InvalidInput(f"{what}: {message}") from None
        raise StorageError(f"{what}: the hub answered {exc.code}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise StorageError(f"{what}: cannot reach the hub at {url}: {first_line(exc)}") from None


def _download(source: ModelSource) -> bytes:
    name = urllib.parse.quote(source.model, safe="")
    url = f"{source.hub_url}/api/models/{name}/versions/{source.version}/model.onnx"
    return _get(url, source.token, source.ref)
