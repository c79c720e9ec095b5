"""Contributions: proposed next versions of a model, reviewed by its owner. Functions take a
session and never commit; :class:`hub.catalog.community.CommunityService` owns transactions.

Life of a contribution: ``open`` (stored with its checks: events ``contribution.opened`` and
``contribution.checked``), then either ``approved`` (it becomes the model's next version, with
the server's parity report: ``contribution.approved`` and ``version.published``) or
``rejected`` with a comment (``contribution.rejected``). One whose checks failed can be read
and commented on, never approved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.catalog.accounts import get_or_create_user
from hub.catalog.community_tables import CONTRIBUTION_STATES, Contribution
from hub.catalog.models import Model, Version, utcnow
from hub.catalog.queries import PRODUCTION, add_event, add_version, set_alias
from hub.errors import Conflict, InvalidInput, NotFound
from hub.export.contribution_checks import CheckOutcome, Target


def target_version(model: Model) -> Version | None:
    """What a contribution is compared with: ``production``, else the latest live version."""
    for alias in model.aliases:
        if alias.name == PRODUCTION:
            return alias.version
    live = [v for v in model.versions if v.deleted_at is None]
    return live[-1] if live else None


def target_of(model: Model) -> Target | None:
    version = target_version(model)
    if version is None:
        return None
    return Target(version.number, tuple(version.inputs), tuple(version.outputs))


def version_digests(model: Model) -> list[str]:
    return [v.sha256 for v in model.versions]


def open_contribution(
    session: Session,
    model: Model,
    author: str,
    *,
    title: str,
    description: str | None,
    sha256: str,
    size: int,
    test_data_sha256: str | None,
    outcome: CheckOutcome,
    target: int | None,
    meta: dict[str, Any],
) -> Contribution:
    """Store a contribution and its checks (status ``open``) with its two events."""
    user = get_or_create_user(session, author)
    row = Contribution(
        model_id=model.id,
        author_id=user.id,
        status="open",
        title=title,
        description=description,
        sha256=sha256,
        size=size,
        test_data_sha256=test_data_sha256,
        opset=outcome.opset,
        ir_version=outcome.ir_version,
        inputs=outcome.inputs,
        outputs=outcome.outputs,
        checks=outcome.checks,
        signature_diff=outcome.signature_diff,
        parity=outcome.parity.to_json() if outcome.parity else None,
        target_version=target,
        meta=meta,
    )
    row.author = user
    row.decided_by = None
    session.add(row)
    session.flush()
    add_event(
        session,
        "contribution.opened",
        model.name,
        payload={"contribution": row.id, "author": author, "sha256": sha256},
    )
    add_event(
        session,
        "contribution.checked",
        model.name,
        payload={
            "contribution": row.id,
            "passed": outcome.passed,
            "failed": outcome.failed_names(),
        },
    )
    return row


def _query():
    return select(Contribution).options(
        selectinload(Contribution.author), selectinload(Contribution.decided_by)
    )


def list_contributions(
    session: Session, model: Model, status: str | None = None
) -> list[Contribution]:
    """The model's contributions, newest first; ``status`` filters (open/approved/rejected)."""
    statement = _query().where(Contribution.model_id == model.id)
    if status is not None:
        if status not in CONTRIBUTION_STATES:
            raise InvalidInput(
                f"unknown status {status!r} (statuses: {', '.join(CONTRIBUTION_STATES)})"
            )
        statement = statement.where(Contribution.status == status)
    return list(session.scalars(statement.order_by(Contribution.id.desc())))


def get_contribution(
    session: Session, model: Model, contribution_id: int, for_update: bool = False
) -> Contribution:
    statement = _query().where(
        Contribution.id == contribution_id, Contribution.model_id == model.id
    )
    if for_update:
        statement = statement.with_for_update()
    row = session.scalar(statement)
    if row is None:
        raise NotFound(f"model {model.name!r} has no contribution {contribution_id}")
    return row


def _require_open(row: Contribution, action: str) -> None:
    if row.status != "open":
        raise Conflict(f"contribution {row.id} is {row.status}; only an open one can be {action}")


def approve(
    session: Session,
    model: Model,
    row: Contribution,
    reviewer: str,
    *,
    alias: str | None = None,
    comment: str | None = None,
) -> Version:
    """Make the contribution the model's next version (aliases untouched unless ``alias``)."""
    _require_open(row, "approved")
    failed = [c["name"] for c in row.checks if not c["passed"]]
    if failed:
        raise Conflict(
            f"contribution {row.id} failed its checks ({', '.join(failed)}): it cannot be approved"
        )
    if row.sha256 in version_digests(model):
        raise Conflict(f"contribution {row.id}: the same bytes are already a version of this model")
    meta = dict(row.meta or {})
    extra: dict[str, Any] = {
        "library": meta.get("library") or meta.get("framework") or "onnx",
        "label_outputs": list(meta.get("label_outputs") or []),
        "contribution": {"id": row.id, "author": row.author.name},
    }
    for key in ("card", "latent_input", "serving"):
        if meta.get(key) is not None:
            extra[key] = meta[key]
    version = add_version(
        session,
        model,
        family=meta.get("family") or "onnx",
        framework=meta.get("framework") or "onnx",
        framework_version=meta.get("framework_version") or "",
        opset=int(row.opset or 0),
        ir_version=int(row.ir_version or 0),
        inputs=list(row.inputs),
        outputs=list(row.outputs),
        sha256=row.sha256,
        size=int(row.size),
        parity=row.parity,
        test_data_sha256=row.test_data_sha256,
        task=meta.get("task") or model.task,
        extra=extra,
    )
    if alias is not None:
        set_alias(session, model, alias, version.number)
    user = get_or_create_user(session, reviewer)
    row.status, row.decided_at, row.decided_by_id = "approved", utcnow(), user.id
    row.decided_by = user
    row.decision_comment = comment
    row.version_number = version.number
    add_event(
        session,
        "contribution.approved",
        model.name,
        version=version.number,
        payload={"contribution": row.id, "reviewer": reviewer, "alias": alias},
    )
    return version


def reject(session: Session, model: Model, row: Contribution, reviewer: str, comment: str) -> None:
    """Close the contribution without a version; the comment says why."""
    _require_open(row, "rejected")
    user = get_or_create_user(session, reviewer)
    row.status, row.decided_at, row.decided_by_id = "rejected", utcnow(), user.id
    row.decided_by = user
    row.decision_comment = comment
    add_event(
        session,
        "contribution.rejected",
        model.name,
        payload={"contribution": row.id, "reviewer": reviewer},
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def contribution_json(model_name: str, row: Contribution) -> dict[str, Any]:
    """The API shape: id, model, status, author, title, description, checks, passed,
    signature_diff, parity, target_version, sha256, size, inputs, outputs, opset, ir_version,
    created_at, decided_at, decided_by, decision_comment, version."""
    return {
        "id": row.id,
        "model": model_name,
        "status": row.status,
        "author": row.author.name,
        "title": row.title,
        "description": row.description,
        "checks": list(row.checks),
        "passed": all(c["passed"] for c in row.checks) and bool(row.checks),
        "signature_diff": dict(row.signature_diff or {}),
        "parity": row.parity,
        "target_version": row.target_version,
        "sha256": row.sha256,
        "size": int(row.size),
        "test_data_sha256": row.test_data_sha256,
        "inputs": list(row.inputs),
        "outputs": list(row.outputs),
        "opset": row.opset,
        "ir_version": row.ir_version,
        "created_at": _iso(row.created_at),
        "decided_at": _iso(row.decided_at),
        "decided_by": row.decided_by.name if row.decided_by is not None else None,
        "decision_comment": row.decision_comment,
        "version": row.version_number,
    }
