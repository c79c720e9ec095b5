"""The community features as a service: likes, comments and contributions, with access checks.

The transaction owner for the community routes of ``/api`` and for the pages, as
:class:`hub.catalog.sharing.CatalogService` is for the catalog routes. Rules:

- Everything starts with read access to the model: a private model the caller may not see is
  the unknown-model 404, whatever the action.
- Liking, commenting and contributing need a signed-in caller with a ``write`` token (401
  anonymous, 403 read-only); any such user may do them on a model they can see.
- Approving or rejecting a contribution needs write on the model (owner, collaborator, admin);
  deleting a comment its author or an admin.

Every method is blocking (SQLAlchemy, onnxruntime for the checks); the server runs them on an
executor.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hub.catalog import access, contributions, queries, social
from hub.catalog.accounts import Principal
from hub.catalog.browse import version_detail
from hub.catalog.gc import publishing_lock
from hub.catalog.models import Model, Version
from hub.errors import Forbidden, InvalidInput, Unauthorized
from hub.export.card_fields import parse_checked_card
from hub.export.contribution_checks import run_checks

MAX_TITLE_CHARS = 200


@dataclass(frozen=True)
class ContributionUpload:
    """What a contributor sends: the ONNX bytes, an optional test data set and card, the
    metadata of the version it would become, and the pull-request text."""

    model: bytes
    test_data: bytes | None = None
    card: str | None = None
    title: str | None = None
    description: str | None = None
    signature_change: str | None = None
    family: str = "onnx"
    framework: str = "onnx"
    framework_version: str = ""
    library: str | None = None
    task: str | None = None
    label_outputs: tuple[str, ...] = ()


def _signed_in_writer(principal: Principal, action: str) -> str:
    if principal.user is None:
        raise Unauthorized(f"{action} needs a token (Authorization: Bearer ...)")
    if not principal.has_scope("write"):
        raise Forbidden(f"{action} needs a token with the 'write' scope")
    return principal.user


def _text(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "\x00" in value or len(value) > limit:
        raise InvalidInput(f"field {field!r} must be a string of at most {limit} characters")
    return value.strip() or None


class CommunityService:
    """Likes, comments and contributions over one :class:`hub.api.Hub`."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    # -- helpers ----------------------------------------------------------------------------
    def size_limit(self) -> int:
        """The largest model a contribution may be: the upload limit, and the memory budget of
        loaded models when there is one (a bigger model could never be served here)."""
        settings = self.hub.settings
        budget = settings.max_loaded_bytes or settings.max_request_bytes
        return min(settings.max_request_bytes, budget)

    def _readable(
        self, session: Session, principal: Principal, name: str, for_update: bool = False
    ) -> Model:
        queries.check_model_name(name)
        access.check_read(access.model_access(session, name), principal, name)
        return queries.require_model(session, name, for_update=for_update)

    # -- likes ------------------------------------------------------------------------------
    def set_like(self, principal: Principal, name: str, liked: bool) -> dict[str, Any]:
        """Like or unlike (idempotent): ``{"model", "liked", "likes"}``."""

        def write(session: Session) -> dict[str, Any]:
            model = self._readable(session, principal, name)
            user = _signed_in_writer(principal, f"liking {name!r}")
            count = social.set_like(session, model, user, liked)
            return {"model": name, "liked": liked, "likes": count}

        return self.hub.db.transaction(write)

    def like_state(self, principal: Principal, name: str) -> dict[str, Any]:
        with self.hub.db.session() as session:
            model = self._readable(session, principal, name)
            return {
                "model": name,
                "liked": social.likes_model(session, model.id, principal.user),
                "likes": social.like_count(session, model.id),
            }

    # -- comments ---------------------------------------------------------------------------
    def list_comments(
        self, principal: Principal, name: str, contribution: int | None = None
    ) -> list[dict[str, Any]]:
        with self.hub.db.session() as session:
            model = self._readable(session, principal, name)
            if contribution is not None:
                contributions.get_contribution(session, model, contribution)
            rows = social.list_comments(session, model, contribution)
            return [social.comment_json(c) for c in rows]

    def add_comment(
        self, principal: Principal, name: str, body: Any, contribution: int | None = None
    ) -> dict[str, Any]:
        body = social.check_comment_body(body)

        def write(session: Session) -> dict[str, Any]:
            model = self._readable(session, principal, name)
            user = _signed_in_writer(principal, f"commenting on {name!r}")
            return social.comment_json(social.add_comment(session, model, user, body, contribution))

        return self.hub.db.transaction(write)

    def delete_comment(self, principal: Principal, name: str, comment_id: int) -> None:
        def write(session: Session) -> None:
            model = self._readable(session, principal, name)
            _signed_in_writer(principal, "deleting a comment")
            social.delete_comment(session, model, comment_id, principal)

        self.hub.db.transaction(write)

    # -- contributions ----------------------------------------------------------------------
    def list_contributions(
        self, principal: Principal, name: str, status: str | None = None
    ) -> list[dict[str, Any]]:
        with self.hub.db.session() as session:
            model = self._readable(session, principal, name)
            rows = contributions.list_contributions(session, model, status)
            return [contributions.contribution_json(name, r) for r in rows]

    def get_contribution(self, principal: Principal, name: str, number: int) -> dict[str, Any]:
        with self.hub.db.session() as session:
            model = self._readable(session, principal, name)
            row = contributions.get_contribution(session, model, number)
            return contributions.contribution_json(name, row)

    def open_contribution(
        self, principal: Principal, name: str, upload: ContributionUpload
    ) -> dict[str, Any]:
        """Run the checks, store the files and the contribution (open, whatever the checks
        found); ``{"id", "status", "checks", ...}``."""
        title = _text(upload.title, "title", MAX_TITLE_CHARS)
        description = _text(upload.description, "description", 100_000)
        signature_change = _text(upload.signature_change, "signature_change", 1000)
        card = parse_checked_card(upload.card, where="card") if upload.card else None
        with self.hub.db.session() as session:  # fail early, before the (slow) checks
            model = self._readable(session, principal, name)
            author = _signed_in_writer(principal, f"contributing to {name!r}")
            target = contributions.target_of(model)
            digests = contributions.version_digests(model)
        digest = hashlib.sha256(upload.model).hexdigest()
        outcome = run_checks(
            upload.model,
            upload.test_data,
            tolerance=self.hub.tolerance,
            max_bytes=self.size_limit(),
            target=target,
            existing_digests=digests,
            digest=digest,
            label_outputs=upload.label_outputs,
            signature_change=signature_change,
        )
        meta: dict[str, Any] = {
            "family": upload.family,
            "framework": upload.framework,
            "framework_version": upload.framework_version,
            "library": upload.library or upload.framework,
            "task": upload.task,
            "label_outputs": list(upload.label_outputs),
            "signature_change": signature_change,
        }
        if card is not None:
            meta["card"] = card.render()
        store = self.hub.artifacts

        def write(session: Session) -> dict[str, Any]:
            model = self._readable(session, principal, name, for_update=True)
            row = contributions.open_contribution(
                session,
                model,
                author,
                title=title or f"New version proposed by {author}",
                description=description,
                sha256=model_sha,
                size=len(upload.model),
                test_data_sha256=data_sha,
                outcome=outcome,
                target=None if target is None else target.number,
                meta=meta,
            )
            return contributions.contribution_json(name, row)

        # Blobs are never deleted here, even when the write fails: a concurrent upload of
        # identical bytes may share them; `onnxhub gc` collects unreferenced ones (and never
        # between this store and its commit: the lock).
        with publishing_lock(store):
            model_sha, _ = store.put(upload.model)
            data_sha = None
            if upload.test_data is not None:
                data_sha, _ = store.put(upload.test_data)
            return self.hub.db.transaction(write)

    def _review(self, session: Session, principal: Principal, name: str, number: int):
        queries.check_model_name(name)
        access.check_write(access.model_access(session, name), principal, name)
        model = queries.require_model(session, name, for_update=True)
        return model, contributions.get_contribution(session, model, number, for_update=True)

    def approve(
        self,
        principal: Principal,
        name: str,
        number: int,
        alias: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        """Owner, collaborator or admin: the contribution becomes the next version;
        ``{"contribution": ..., "version": ...}``."""
        if alias is not None:
            queries.check_alias_name(alias)
        comment = _text(comment, "comment", social.MAX_COMMENT_CHARS)

        def write(session: Session) -> dict[str, Any]:
            model, row = self._review(session, principal, name, number)
            version: Version = contributions.approve(
                session, model, row, principal.user or "", alias=alias, comment=comment
            )
            session.flush()
            session.expire(model, ["aliases", "versions"])
            model = queries.require_model(session, name)
            return {
                "contribution": contributions.contribution_json(name, row),
                "version": version_detail(model, version),
            }

        return self.hub.db.transaction(write)

    def reject(self, principal: Principal, name: str, number: int, comment: Any) -> dict:
        """Owner, collaborator or admin: close it with a comment saying why."""
        comment = _text(comment, "comment", social.MAX_COMMENT_CHARS)
        if not comment:
            raise InvalidInput("field 'comment' is required: say why the contribution is rejected")

        def write(session: Session) -> dict[str, Any]:
            model, row = self._review(session, principal, name, number)
            contributions.reject(session, model, row, principal.user or "", comment)
            return contributions.contribution_json(name, row)

        return self.hub.db.transaction(write)
