"""Moving versions between hubs (``onnxhub push`` / ``onnxhub pull``) and remote credentials.

A version crosses as its ONNX bytes, test data set, card and metadata; each file's sha256 is
checked on arrival. A pulled version with external-data files arrives file by file
(:mod:`hub.remote_files`: streamed, resumed with ``Range`` after an interruption, from a
staging folder under ``$ONNXHUB_HOME/pulls`` kept until the version is stored); and the receiving hub re-runs every check itself (the same ones as an HTTP
upload, :mod:`hub.export.received`): nothing received is trusted or unpickled. A pulled version
records its provenance (source URL, model, version, sha256), and pulling one already present
(same source and sha256) changes nothing.

Credentials: ``ONNXHUB_TOKEN`` when set, else the token ``onnxhub login URL`` stored for that URL
in ``$ONNXHUB_HOME/credentials.json`` (mode 0600, never printed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from hub.catalog import accounts, queries
from hub.catalog.sharing import CatalogService, UploadMetadata
from hub.client import Client, split_remote_ref
from hub.errors import InvalidInput, StorageError
from hub.remote_files import manifest_files
from hub.settings import Settings

CREDENTIALS = "credentials.json"


def credentials_path(home: Path) -> Path:
    return Path(home) / CREDENTIALS


def _normal(url: str) -> str:
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"hub URL must start with http:// or https://, got {url!r}")
    return url


def save_token(home: Path, url: str, token: str) -> Path:
    """Store ``token`` for ``url`` in the credentials file, readable by its owner only."""
    path = credentials_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = _load(path)
    stored[_normal(url)] = token
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(stored, handle, indent=2, sort_keys=True)
    os.chmod(path.with_suffix(".tmp"), 0o600)
    os.replace(path.with_suffix(".tmp"), path)
    return path


def _load(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot read {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def token_for(home: Path, url: str, env: dict[str, str] | None = None) -> str | None:
    """``ONNXHUB_TOKEN``, else the stored token for ``url``, else None."""
    return Settings.from_env(env).token or _load(credentials_path(home)).get(_normal(url))


def push(hub: Any, client: Client, name: str, ref: int | str | None) -> dict[str, Any]:
    """Upload the local version ``name``/``ref`` to ``client``'s hub as that model's next version."""
    version = hub.get_version(name, ref)
    manifest = hub.manifest(version)
    data_files = None
    if manifest.data:  # sent from the verified local folder, each file streamed from disk
        folder = hub.materialise(version).parent
        data_files = {entry.path: folder / entry.path for entry in manifest.data}
    with hub.db.session() as session:
        model = queries.require_model(session, name)
        card = version.metadata.get("card") or model.card  # the card of that version
    metadata = {
        "family": version.family,
        "framework": version.framework,
        "framework_version": version.framework_version or "",
        "label_outputs": list(version.metadata.get("label_outputs", [])),
        "parity": version.parity or {},
    }
    if version.task:
        metadata["task"] = version.task
    if version.metadata.get("library"):
        metadata["library"] = str(version.metadata["library"])
    if version.latent_input:
        metadata["latent_input"] = version.latent_input
    test_data = hub.test_data(version) if version.test_data_sha256 else None
    return client.upload(
        name,
        hub.model_bytes(version),
        test_data=test_data,
        card=card or None,
        metadata=metadata,
        data_files=data_files,
    )


def pull(
    hub: Any, client: Client, ref: str, as_name: str | None = None, user: str = "local"
) -> tuple[dict[str, Any], bool]:
    """Copy the remote version ``ref`` into ``hub`` as ``as_name`` (default: same name).

    Returns (the local version record, whether anything was added). The local model is owned
    by ``user`` when created, and private when the source model is.
    """
    record = client.version(ref)
    source = client.model(record["model"])
    name = queries.check_model_name(as_name or record["model"])
    provenance = {
        "source_url": client.url,
        "source_model": record["model"],
        "source_version": record["version"],
        "sha256": record["sha256"],
    }
    service = CatalogService(hub)
    existing = _already_pulled(hub, name, provenance)
    if existing is not None:
        return existing, False
    staging = None
    if len(manifest_files(record)) > 1:  # external data: every file, resumable, verified
        listed = json.dumps(manifest_files(record), sort_keys=True).encode()
        staging = Path(hub.settings.home) / "pulls" / hashlib.sha256(listed).hexdigest()
        model: bytes | Path = client.download_files(record, staging)[0]
    else:
        model = client._file(record, "model.onnx")
    test_data = client._file(record, "test_data.npz") if record.get("test_data_sha256") else None
    principal = hub.db.transaction(lambda s: accounts.principal_for_user(s, user))
    parity = record.get("parity") or {}
    metadata = UploadMetadata(
        tags=tuple(source.get("tags") or ()),
        task=record.get("task"),
        license=source.get("license"),
        description=source.get("description"),
        family=record["family"],
        framework=record["framework"],
        framework_version=record.get("framework_version") or "",
        library=source.get("library"),
        label_outputs=tuple((record.get("metadata") or {}).get("label_outputs") or ()),
        client_parity=parity,
        provenance=provenance,
        private=bool(source.get("private")),
        latent_input=(record.get("metadata") or {}).get("latent_input"),
    )
    card = record.get("card") or source.get("card")
    added = service.publish_received(principal, name, model, test_data, card, metadata)
    if staging is not None:  # kept after a failure, so that the next pull resumes
        shutil.rmtree(staging, ignore_errors=True)
    return added, True


def _already_pulled(hub: Any, name: str, provenance: dict[str, Any]) -> dict[str, Any] | None:
    from hub.catalog import browse

    with hub.db.session() as session:
        model = queries.find_model(session, name)
        if model is None:
            return None
        for version in model.versions:
            found = (version.extra or {}).get("provenance") or {}
            same = all(
                found.get(k) == provenance[k]
                for k in ("source_url", "source_model", "source_version", "sha256")
            )
            if same and version.deleted_at is None:
                return browse.version_detail(model, version)
    return None


def remote_ref(text: str) -> str:
    """Validate ``NAME[:V]`` / ``NAME@ALIAS`` for push and pull."""
    name, version = split_remote_ref(text)
    queries.check_model_name(name)
    if version is not None and not version.isdigit():
        queries.check_alias_name(version)
    return text
