"""Reads the web pages need beyond the JSON API's: the filter choices of the catalog page and
everything the model page shows in one go. Functions take a session and never commit; private
models stay hidden exactly as in :mod:`hub.catalog.access`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from hub.catalog import access, browse, queries, social
from hub.catalog.accounts import Principal
from hub.catalog.community_tables import Contribution
from hub.catalog.models import Model, Owner, Tag, Version, model_tags
from hub.errors import HubError
from hub.export.parity import unpack_test_data


@dataclass(frozen=True)
class Facets:
    """The values the catalog's filters offer, over the models the caller may see."""

    tasks: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)


def facets(session: Session, principal: Principal) -> Facets:
    visible = select(Model.id).where(access.visible_to(principal))
    tasks = session.scalars(
        select(Model.task)
        .where(Model.id.in_(visible), Model.task.is_not(None))
        .distinct()
        .order_by(Model.task)
    )
    owners = session.scalars(
        select(Owner.name).where(Owner.id.in_(select(Model.owner_id).where(Model.id.in_(visible))))
    )
    tags = session.scalars(
        select(Tag.name)
        .where(Tag.id.in_(select(model_tags.c.tag_id).where(model_tags.c.model_id.in_(visible))))
        .order_by(Tag.name)
    )
    library = Version.extra["library"].as_string()
    libraries = session.scalars(
        select(library)
        .where(Version.model_id.in_(visible), Version.deleted_at.is_(None), library.is_not(None))
        .distinct()
    )
    return Facets(
        tasks=[t for t in tasks if t],
        tags=list(tags),
        libraries=sorted(x for x in libraries if x),
        owners=sorted(owners),
    )


@dataclass(frozen=True)
class ModelPage:
    """What ``/models/{name}`` shows: the model and the selected version as the API shapes
    them, likes, comments, open contributions, and one test row to try."""

    model: dict[str, Any]
    version: dict[str, Any] | None
    likes: int
    liked: bool
    comments: list[dict[str, Any]]
    open_contributions: int
    can_review: bool
    try_row: dict[str, Any] | None
    latent_input: str | None


def _try_row(artifacts: Any, version: Version) -> dict[str, Any] | None:
    """Row 0 of each input of the version's test data set, as nested lists."""
    if version.test_data_sha256 is None:
        return None
    try:
        feeds, _ = unpack_test_data(artifacts.read(version.test_data_sha256))
    except (HubError, OSError, ValueError, KeyError):
        return None
    row = {}
    for spec in version.inputs:
        array = feeds.get(spec["name"])
        if array is None:
            return None
        first = np.asarray(array)[:1]
        if first.dtype == np.float32:
            # the shortest decimal that reads back as the same float32 (5.8, not 5.80000019)
            short = [float(np.format_float_positional(v)) for v in first.ravel()]
            row[spec["name"]] = np.reshape(short, first.shape).tolist()
        else:
            row[spec["name"]] = first.tolist()
    return row


def model_page(
    session: Session, artifacts: Any, principal: Principal, name: str, ref: str | None
) -> ModelPage:
    """The model page of ``name`` at version ``ref`` (default: production, else latest);
    the unknown-model NotFound when the caller may not see it."""
    queries.check_model_name(name)
    found = access.check_read(access.model_access(session, name), principal, name)
    model = queries.require_model(session, name)
    live = [v for v in model.versions if v.deleted_at is None]
    version_row = queries.resolve_version(session, model, ref) if live or ref else None
    open_count = session.scalar(
        select(func.count()).where(Contribution.model_id == model.id, Contribution.status == "open")
    )
    comments = social.list_comments(session, model)
    can_review = (
        principal.user is not None
        and principal.has_scope("write")
        and (principal.admin or found.is_member(principal))
    )
    return ModelPage(
        model=browse.model_detail(model),
        version=None if version_row is None else browse.version_detail(model, version_row),
        likes=social.like_count(session, model.id),
        liked=social.likes_model(session, model.id, principal.user),
        comments=[social.comment_json(c) for c in comments],
        open_contributions=int(open_count or 0),
        can_review=can_review,
        try_row=None if version_row is None else _try_row(artifacts, version_row),
        latent_input=None if version_row is None else (version_row.extra or {}).get("latent_input"),
    )


def contribution_comments(session: Session, model: Model, contribution_id: int) -> list[dict]:
    return [social.comment_json(c) for c in social.list_comments(session, model, contribution_id)]


def load_model(session: Session, principal: Principal, name: str) -> tuple[Model, bool]:
    """(model, whether the caller may review its contributions); 404 when unseen."""
    queries.check_model_name(name)
    found = access.check_read(access.model_access(session, name), principal, name)
    model = session.scalar(
        select(Model).options(selectinload(Model.owner)).where(Model.name == name)
    )
    assert model is not None
    can_review = (
        principal.user is not None
        and principal.has_scope("write")
        and (principal.admin or found.is_member(principal))
    )
    return model, can_review
