"""The catalog as a shared service: every operation of the ``/api`` routes, with access checks.

Design note (accounts, tokens, private models, the JSON API):

- Who: a :class:`~hub.catalog.accounts.Principal` (a user and the scopes of the token used, or
  anonymous) is resolved once per request from ``Authorization: Bearer onh_...``; the token's
  sha256 is looked up, never the token itself. The CLI on the database's machine acts as
  ``ONNXHUB_USER`` without a token.
- What: :mod:`hub.catalog.access` holds the rules (read / write / owner) in one place and raises
  the exact NotFound an unknown model gets for a private model the caller may not see, so a
  stranger cannot tell the two apart on any route.
- How: this class is the transaction owner for the API, like :class:`hub.api.Hub` for the CLI.
  Access is decided inside the same transaction as the write it guards (the model row is locked
  first), so a concurrent change of owner or privacy cannot slip between check and write.
  Uploads are checked by :mod:`hub.export.received` (ONNX only, never unpickled, the test data
  re-run here) before anything is stored; blobs written for a write that then fails are removed.

Every method is blocking (SQLAlchemy); the server runs them on an executor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hub.catalog import access, accounts, browse, file_queries, queries
from hub.catalog.accounts import Principal
from hub.catalog.gc import publishing_lock
from hub.catalog.model_files import store_checked_files
from hub.catalog.models import Model, Version, utcnow
from hub.catalog.refs import MAX_VERSION
from hub.errors import Conflict, InvalidInput, NotFound, ParityFailed
from hub.export.card_fields import parse_checked_card
from hub.export.received import ReceivedModel, check_received
from hub.families.tasks import canonical_task
from hub.settings import ServingOptions

PATCHABLE = ("description", "card", "tags", "task", "license", "private")


@dataclass(frozen=True)
class UploadMetadata:
    """The ``metadata`` part of an upload (every field optional)."""

    tags: tuple[str, ...] = ()
    task: str | None = None
    license: str | None = None
    description: str | None = None
    alias: str | None = None
    family: str = "onnx"
    framework: str = "onnx"
    framework_version: str = ""
    library: str | None = None
    label_outputs: tuple[str, ...] = ()
    client_parity: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None
    #: For a new model: created private (its events never reach strangers). Ignored afterwards:
    #: an existing model's privacy changes only through PATCH (owner or admin).
    private: bool | None = None
    #: A generator's noise input (``[n, d]``): the server draws it from ``seed``/``num_samples``.
    latent_input: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Blob:
    """Where a downloadable file of a version is: its digest and size."""

    model: str
    version: int
    sha256: str
    size: int
    role: str = "graph"


class CatalogService:
    """The ``/api`` operations over one :class:`hub.api.Hub` (database + artifact store)."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    # -- who --------------------------------------------------------------------------------
    def authenticate(self, token: str) -> Principal:
        """The principal of a bearer token (Unauthorized when unknown, revoked, expired).

        A read; a write (``last_used_at``) only about once a minute per token, so requests
        with tokens do not queue for SQLite's write lock."""
        with self.hub.db.session() as session:
            principal, stale = accounts.check_token(session, token)
        if stale and principal.token_id is not None:
            token_id = principal.token_id
            self.hub.db.transaction(lambda s: accounts.touch_token(s, token_id))
        return principal

    def model_access(self, name: str) -> access.ModelAccess | None:
        with self.hub.db.session() as session:
            return access.model_access(session, name)

    # -- reading ----------------------------------------------------------------------------
    def list_models(self, principal: Principal, query: browse.ModelQuery) -> dict[str, Any]:
        with self.hub.db.session() as session:
            page, cursor = browse.list_models_page(session, principal, query)
            return {"models": [browse.model_summary(m) for m, _ in page], "next_cursor": cursor}

    def _readable(self, session: Session, principal: Principal, name: str) -> Model:
        queries.check_model_name(name)
        access.check_read(access.model_access(session, name), principal, name)
        return queries.require_model(session, name)

    def get_model(self, principal: Principal, name: str) -> dict[str, Any]:
        with self.hub.db.session() as session:
            return browse.model_detail(self._readable(session, principal, name))

    def get_version(self, principal: Principal, name: str, ref: str) -> dict[str, Any]:
        with self.hub.db.session() as session:
            model = self._readable(session, principal, name)
            version = queries.resolve_version(session, model, ref)
            manifest = file_queries.version_manifest(session, version)
            return {**browse.version_detail(model, version), "files": manifest.to_json()}

    def blob(self, principal: Principal, name: str, ref: str, kind: str) -> Blob:
        """The digest and size of ``model.onnx`` or ``test_data.npz`` of a version."""
        with self.hub.db.session() as session:
            model = self._readable(session, principal, name)
            version = queries.resolve_version(session, model, ref)
            if kind == "model":  # the graph alone (a version's size counts its data files)
                graph = file_queries.version_manifest(session, version).graph
                return Blob(name, version.number, graph.sha256, graph.size)
            if version.test_data_sha256 is None:
                raise NotFound(f"{name}:{version.number} has no test data set")
            digest = version.test_data_sha256
        # the test data set is small: its size is that of its verified bytes, from any store
        return Blob(name, version.number, digest, len(self.hub.artifacts.read(digest)))

    def version_file(self, principal: Principal, name: str, ref: str, path: str) -> Blob:
        """The digest and size of the file ``path`` of a version's manifest (NotFound for a
        path the manifest does not list: nothing outside it is ever served)."""
        with self.hub.db.session() as session:
            model = self._readable(session, principal, name)
            version = queries.resolve_version(session, model, ref)
            manifest = file_queries.version_manifest(session, version)
        for entry in manifest.files:
            if entry.path == path:
                return Blob(name, version.number, entry.sha256, entry.size, entry.role)
        raise NotFound(f"{name}:{version.number} has no file {path!r}")

    def count_download(self, name: str, number: int) -> None:
        def write(session: Session) -> None:
            model = queries.require_model(session, name)
            browse.count_download(session, model, browse.live_version(model, number))

        self.hub.db.transaction(write)

    # -- writing ----------------------------------------------------------------------------
    def patch_model(self, principal: Principal, name: str, changes: dict[str, Any]) -> dict:
        """Owner or admin: description, card, tags (replaced), task, license, private."""
        unknown = sorted(set(changes) - set(PATCHABLE))
        if unknown:
            raise InvalidInput(
                f"unknown field(s) {', '.join(unknown)} (fields: {', '.join(PATCHABLE)})"
            )
        card = None
        if changes.get("card") is not None:
            card = parse_checked_card(_text(changes, "card", 1_000_000), where="card")
        for key in ("description", "task", "license"):
            if changes.get(key) is not None:
                _text(changes, key, 100_000 if key == "description" else 100)
        if changes.get("task") is not None:  # the vocabulary's name, an alias stored as it
            changes = {**changes, "task": canonical_task(changes["task"], "field 'task'")}
        if "private" in changes and not isinstance(changes["private"], bool):
            raise InvalidInput("field 'private' must be true or false")
        tags = changes.get("tags")
        if tags is not None:
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise InvalidInput("field 'tags' must be a list of strings")
            tags = [queries.check_tag(t) for t in tags]

        def write(session: Session) -> dict[str, Any]:
            queries.check_model_name(name)
            access.check_owner(access.model_access(session, name), principal, name)
            model = queries.require_model(session, name, for_update=True)
            changed: dict[str, Any] = {}
            for key in ("description", "task", "license", "private"):
                if key in changes and getattr(model, key) != changes[key]:
                    setattr(model, key, changes[key])
                    changed[key] = changes[key]
            if card is not None:
                model.card = card.render()
                changed["card"] = "(updated)"
            if tags is not None:
                model.tags = queries._tags(session, tags)
                changed["tags"] = sorted(tags)
            if changed:
                model.updated_at = utcnow()
                queries.add_event(session, "model.updated", name, payload=changed)
            session.flush()
            return browse.model_detail(queries.require_model(session, name))

        return self.hub.db.transaction(write)

    def publish_received(
        self,
        principal: Principal,
        name: str,
        model_bytes: bytes | Path,
        test_data: bytes | None,
        card_text: str | None,
        metadata: UploadMetadata,
    ) -> dict[str, Any]:
        """Check an uploaded model here, store it, and add the model's next version.

        ``model_bytes`` is the ONNX file's bytes, or the path of a graph whose external-data
        files lie beside it in a folder this process wrote (a pull): those are checked in place
        (:mod:`hub.export.received_files`) and stored file by file, streamed. The model is
        created (owned by the caller) when absent. Raises before writing anything when a check
        fails; a failed parity re-run is ParityFailed (422).
        """
        queries.check_model_name(name)
        if metadata.alias is not None:
            queries.check_alias_name(metadata.alias)
        tags = [queries.check_tag(t) for t in metadata.tags]
        with self.hub.db.session() as session:  # fail early; re-checked under the row lock
            found = access.model_access(session, name)
        if found is None:
            access.check_create(principal, name)
        else:
            access.check_write(found, principal, name)
        card = parse_checked_card(card_text, where="card") if card_text is not None else None
        files = None
        if isinstance(model_bytes, Path):
            from hub.export.received_files import check_received_folder

            received, files = check_received_folder(
                model_bytes,
                test_data,
                tolerance=self.hub.tolerance,
                label_outputs=metadata.label_outputs,
                label=model_bytes.name,
            )
        else:
            received = check_received(
                model_bytes,
                test_data,
                tolerance=self.hub.tolerance,
                label_outputs=metadata.label_outputs,
                label="part 'model'",
            )
        if metadata.latent_input is not None:
            _check_latent_input(received, metadata.latent_input)
        if received.report is not None and not received.report.passed:
            raise ParityFailed(
                f"the test data re-run here does not match its expected outputs; nothing was "
                f"published\n{received.report.summary()}",
                received.report,
            )
        return self._store(principal, name, received, card, tags, metadata, files)

    def _store(
        self, principal, name, received: ReceivedModel, card, tags, metadata, files=None
    ) -> dict:
        store = self.hub.artifacts
        task = canonical_task(metadata.task, "metadata task") or canonical_task(
            card.task if card else None, "card front matter task"
        )
        extra: dict[str, Any] = {
            "library": metadata.library or metadata.framework,
            "label_outputs": list(metadata.label_outputs),
            **metadata.extra,
        }
        if card is not None:
            extra["card"] = card.render()
            if card.metadata.get("serving") is not None:
                extra["serving"] = ServingOptions.decode(
                    card.metadata["serving"], "card front matter 'serving'"
                ).as_dict()
        extra["published_by"] = principal.user
        if metadata.client_parity is not None:
            extra["client_parity"] = metadata.client_parity
        if metadata.provenance is not None:
            extra["provenance"] = metadata.provenance
        if metadata.latent_input is not None:
            extra["latent_input"] = metadata.latent_input

        def write(session: Session) -> dict[str, Any]:
            found = access.model_access(session, name)
            if found is None:
                access.check_create(principal, name)
                accounts.get_or_create_user(session, principal.user or "")
            else:
                queries.require_model(session, name, for_update=True)
                access.check_write(access.model_access(session, name), principal, name)
            model = queries.upsert_model(
                session,
                name,
                principal.user if found is None else found.owner,
                task=task,
                license=metadata.license or (card.license if card else None),
                description=metadata.description or (card.description if card else None),
                card=card.render() if card else None,
                tags=[*tags, *(card.tags if card else [])],
            )
            if found is None and metadata.private:
                model.private = True
            version = queries.add_version(
                session,
                model,
                family=metadata.family,
                framework=metadata.framework,
                framework_version=metadata.framework_version,
                opset=received.opset,
                ir_version=received.ir_version,
                inputs=[t.to_json() for t in received.inputs],
                outputs=[t.to_json() for t in received.outputs],
                sha256=manifest.graph.sha256,
                size=manifest.total_size,
                parity=received.report.to_json() if received.report else None,
                test_data_sha256=data_sha,
                task=task,
                extra=extra,
            )
            file_queries.add_version_files(session, version, manifest)
            if metadata.alias is not None:
                queries.set_alias(session, model, metadata.alias, version.number)
            session.flush()
            session.expire(model, ["aliases"])
            model = queries.require_model(session, name)
            return browse.version_detail(model, version)

        # Blobs are never deleted here, even when the write fails: a concurrent publish of
        # identical bytes may share them; `onnxhub gc` collects unreferenced ones (and never
        # between this store and its commit: the lock).
        with publishing_lock(store):
            manifest = store_checked_files(store, received.model_bytes, files, [])
            data_sha = None
            if received.test_data is not None:
                data_sha, _ = store.put(received.test_data)
            return self.hub.db.transaction(write)

    def delete_version(self, principal: Principal, name: str, number: int) -> dict[str, Any]:
        """Owner or admin: mark the version deleted (409 while an alias points at it)."""

        def write(session: Session) -> dict[str, Any]:
            queries.check_model_name(name)
            access.check_owner(access.model_access(session, name), principal, name)
            model = queries.require_model(session, name, for_update=True)
            version: Version = browse.live_version(model, number)
            pointing = sorted(a.name for a in model.aliases if a.version_id == version.id)
            if pointing:
                raise Conflict(
                    f"{name}:{number} is what alias(es) {', '.join(pointing)} point at; "
                    "move or delete them first"
                )
            version.deleted_at = utcnow()
            model.updated_at = utcnow()
            queries.add_event(
                session, "version.deleted", name, version=number, payload={"sha256": version.sha256}
            )
            session.flush()
            return {"model": name, "version": number, "deleted": True}

        return self.hub.db.transaction(write)

    def set_alias(self, principal: Principal, name: str, alias: str, number: Any) -> dict:
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise InvalidInput("field 'version' must be a positive integer")
        if number > MAX_VERSION:
            raise InvalidInput(f"field 'version' is over the largest version number {MAX_VERSION}")
        queries.check_alias_name(alias)

        def write(session: Session) -> dict[str, Any]:
            queries.check_model_name(name)
            access.check_write(access.model_access(session, name), principal, name)
            model = queries.require_model(session, name, for_update=True)
            queries.set_alias(session, model, alias, number)
            return {"model": name, "alias": alias, "version": number}

        return self.hub.db.transaction(write)

    def delete_alias(self, principal: Principal, name: str, alias: str) -> None:
        queries.check_alias_name(alias)

        def write(session: Session) -> None:
            queries.check_model_name(name)
            access.check_write(access.model_access(session, name), principal, name)
            queries.delete_alias(
                session, queries.require_model(session, name, for_update=True), alias
            )

        self.hub.db.transaction(write)


def _check_latent_input(received: ReceivedModel, name: str) -> None:
    spec = next((t for t in received.inputs if t.name == name), None)
    if spec is None or len(spec.shape) != 2 or spec.shape[1] <= 0:
        raise InvalidInput(
            f"metadata field 'latent_input': {name!r} is not a [n, d] input of the model"
        )


def _text(changes: dict[str, Any], key: str, limit: int) -> str:
    value = changes[key]
    if not isinstance(value, str):
        raise InvalidInput(f"field {key!r} must be a string")
    if len(value) > limit:
        raise InvalidInput(f"field {key!r} is longer than {limit} characters")
    if "\x00" in value:
        raise InvalidInput(f"field {key!r} must not contain NUL characters")
    return value
