"""Read-only records the catalog hands to the CLI, the Python API and the server.

They are plain frozen dataclasses, detached from any database session, so no query hides
behind an attribute and the serving layer never touches SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.onnx.signature import TensorSpec


@dataclass(frozen=True)
class ModelPath:
    """A model's verified ONNX file on local disk, what a session is built from.

    onnxruntime reads a file itself and keeps nothing of it once the session is built, where a
    session built from bytes keeps them for its life (``InferenceSession._model_bytes``).
    ``mapped``: the weights are external-data files beside it, which onnxruntime memory-maps
    (``make_session``'s ``map_weights``).
    """

    path: Path
    mapped: bool = False


@dataclass(frozen=True)
class VersionInfo:
    """One published version of a model."""

    model: str
    version: int
    family: str
    framework: str
    framework_version: str
    opset: int
    ir_version: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    sha256: str
    size: int
    parity: dict[str, Any] | None
    test_data_sha256: str | None
    task: str | None
    created_at: datetime
    aliases: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"

    @property
    def latent_input(self) -> str | None:
        return self.metadata.get("latent_input")

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "family": self.family,
            "framework": self.framework,
            "framework_version": self.framework_version,
            "opset": self.opset,
            "ir_version": self.ir_version,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
            "sha256": self.sha256,
            "size": self.size,
            "parity": self.parity,
            "test_data_sha256": self.test_data_sha256,
            "task": self.task,
            "created_at": self.created_at.isoformat(),
            "aliases": list(self.aliases),
            "metadata": self.metadata,
        }


@dataclass(frozen=True)
class ModelInfo:
    """A model and a summary of its versions."""

    name: str
    owner: str
    task: str | None
    license: str | None
    tags: tuple[str, ...]
    description: str | None
    created_at: datetime
    updated_at: datetime
    latest_version: int | None
    aliases: dict[str, int] = field(default_factory=dict)
    versions: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "task": self.task,
            "license": self.license,
            "tags": list(self.tags),
            "description": self.description,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "latest_version": self.latest_version,
            "aliases": dict(self.aliases),
            "versions": list(self.versions),
        }


@dataclass(frozen=True)
class EventInfo:
    """One row of the append-only event log.

    ``kind`` is one of ``model.created``, ``model.updated``, ``version.published``,
    ``alias.set``, ``alias.deleted``.
    """

    id: int
    kind: str
    model: str
    version: int | None
    alias: str | None
    payload: dict[str, Any]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "model": self.model,
            "version": self.version,
            "alias": self.alias,
            "payload": self.payload,
            "created_at": self.created_at.isoformat(),
        }
