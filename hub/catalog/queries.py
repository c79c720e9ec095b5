"""Query functions over the catalog. They take a session and never commit.

The transaction owner (:class:`hub.api.Hub`) commits; every write here adds its event row to
the same session, so a change and its event commit together or not at all.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from hub.catalog import notify
from hub.catalog.models import Alias, Event, Model, Owner, Tag, Version, utcnow
from hub.catalog.records import EventInfo, ModelInfo, VersionInfo
from hub.catalog.refs import (  # noqa: F401  (re-exported: the rules live in refs)
    ALIAS_NAME,
    MODEL_NAME,
    TAG_NAME,
    check_alias_name,
    check_model_name,
    check_tag,
    parse_ref,
)
from hub.errors import NotFound
from hub.onnx.signature import TensorSpec

PRODUCTION = "production"


def add_event(
    session: Session,
    kind: str,
    model: str,
    version: int | None = None,
    alias: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append one event to the outbox in the caller's transaction (on PostgreSQL also
    serialised and announced with NOTIFY at commit: see :mod:`hub.catalog.notify`)."""
    notify.before_event_insert(session)
    row = Event(kind=kind, model_name=model, version=version, alias=alias, payload=payload or {})
    session.add(row)
    notify.announce_event(session, model)
    return row


def get_or_create_owner(session: Session, name: str) -> Owner:
    owner = session.scalar(select(Owner).where(Owner.name == name))
    if owner is None:
        owner = Owner(name=name)
        session.add(owner)
        session.flush()
    return owner


def _tags(session: Session, names: Iterable[str]) -> list[Tag]:
    wanted = sorted({check_tag(n) for n in names})
    if not wanted:
        return []
    existing = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(wanted)))}
    for name in wanted:
        if name not in existing:
            existing[name] = Tag(name=name)
            session.add(existing[name])
    session.flush()
    return [existing[n] for n in wanted]


def _model_query():
    return select(Model).options(
        selectinload(Model.owner),
        selectinload(Model.tags),
        selectinload(Model.versions),
        selectinload(Model.aliases).selectinload(Alias.version),
    )


def find_model(session: Session, name: str, for_update: bool = False) -> Model | None:
    """The model ``name`` with its owner, tags, versions and aliases loaded, or None."""
    query = _model_query().where(Model.name == name)
    if for_update:
        query = query.with_for_update(of=Model)
    return session.scalar(query)


def require_model(session: Session, name: str, for_update: bool = False) -> Model:
    model = find_model(session, check_model_name(name), for_update)
    if model is None:
        raise NotFound(f"unknown model {name!r}")
    return model


def upsert_model(
    session: Session,
    name: str,
    owner: str,
    *,
    task: str | None = None,
    license: str | None = None,
    description: str | None = None,
    card: str | None = None,
    tags: Iterable[str] = (),
) -> Model:
    """Create the model, or lock it and merge the given card fields into it."""
    model = find_model(session, check_model_name(name), for_update=True)
    tag_rows = _tags(session, tags)
    if model is None:
        model = Model(
            name=name,
            owner=get_or_create_owner(session, owner),
            task=task,
            license=license,
            description=description,
            card=card,
            tags=tag_rows,
            versions=[],
            aliases=[],
        )
        session.add(model)
        session.flush()
        add_event(session, "model.created", name, payload={"owner": owner})
        return model
    changed: dict[str, Any] = {}
    for field, value in (
        ("task", task),
        ("license", license),
        ("description", description),
        ("card", card),
    ):
        if value is not None and getattr(model, field) != value:
            setattr(model, field, value)
            changed[field] = value if field != "card" else "(updated)"
    new_tags = [t for t in tag_rows if t not in model.tags]
    if new_tags:
        model.tags.extend(new_tags)
        changed["tags"] = sorted(t.name for t in model.tags)
    if changed:
        model.updated_at = utcnow()
        add_event(session, "model.updated", name, payload=changed)
    return model


def next_version_number(session: Session, model: Model) -> int:
    """Versions are dense per model: one more than the highest so far."""
    current = session.scalar(select(func.max(Version.number)).where(Version.model_id == model.id))
    return (current or 0) + 1


def add_version(session: Session, model: Model, **fields: Any) -> Version:
    """Insert the next version of ``model`` and its ``version.published`` event."""
    number = next_version_number(session, model)
    version = Version(model_id=model.id, number=number, **fields)
    session.add(version)
    model.updated_at = utcnow()
    session.flush()
    add_event(
        session,
        "version.published",
        model.name,
        version=number,
        payload={
            "sha256": version.sha256,
            "family": version.family,
            "by": (version.extra or {}).get("published_by"),
        },
    )
    return version


def find_version(session: Session, model: Model, number: int) -> Version:
    version = session.scalar(
        select(Version).where(Version.model_id == model.id, Version.number == number)
    )
    if version is None:
        known = ", ".join(str(v.number) for v in model.versions) or "none"
        raise NotFound(f"model {model.name!r} has no version {number} (versions: {known})")
    if version.deleted_at is not None:
        raise NotFound(f"version {number} of {model.name!r} was deleted")
    return version


def resolve_version(session: Session, model: Model, ref: int | str | None) -> Version:
    """``ref`` as a version row: number, alias, or (None) ``production`` else the latest."""
    ref = parse_ref(ref)
    if isinstance(ref, int):
        return find_version(session, model, ref)
    aliases = {a.name: a for a in model.aliases}
    if ref is None:
        if PRODUCTION in aliases:
            return aliases[PRODUCTION].version
        live = [v for v in model.versions if v.deleted_at is None]
        if not live:
            raise NotFound(f"model {model.name!r} has no versions yet")
        return live[-1]
    if ref not in aliases:
        known = ", ".join(sorted(aliases)) or "none"
        raise NotFound(f"model {model.name!r} has no alias {ref!r} (aliases: {known})")
    return aliases[ref].version


def set_alias(session: Session, model: Model, alias: str, number: int) -> Version:
    """Point ``alias`` at version ``number`` (creating or moving it)."""
    check_alias_name(alias)
    version = find_version(session, model, number)
    row = next((a for a in model.aliases if a.name == alias), None)
    previous = None
    if row is None:
        row = Alias(model_id=model.id, name=alias, version=version)
        session.add(row)
        model.aliases.append(row)
    else:
        previous = row.version.number
        row.version = version
        row.version_id = version.id
        row.updated_at = utcnow()
    session.flush()
    add_event(
        session,
        "alias.set",
        model.name,
        version=number,
        alias=alias,
        payload={"previous": previous},
    )
    return version


def delete_alias(session: Session, model: Model, alias: str) -> None:
    row = next((a for a in model.aliases if a.name == alias), None)
    if row is None:
        raise NotFound(f"model {model.name!r} has no alias {alias!r}")
    number = row.version.number
    session.delete(row)
    add_event(session, "alias.deleted", model.name, version=number, alias=alias)


def list_models(
    session: Session,
    search: str | None = None,
    task: str | Iterable[str] | None = None,
    tag: str | None = None,
) -> list[Model]:
    """Models matching a name/description search, a task and a tag, by name.

    ``task`` is one name or several (a task and its aliases). ``search`` is a literal
    substring (case-insensitive): ``%``, ``_`` and the escape character match only
    themselves, never act as SQL wildcards.
    """
    query = _model_query().order_by(Model.name)
    if search:
        needle = search.lower()
        query = query.where(
            or_(
                func.lower(Model.name).contains(needle, autoescape=True),
                func.lower(Model.description).contains(needle, autoescape=True),
            )
        )
    if task:
        names = [task] if isinstance(task, str) else list(task)
        query = query.where(Model.task.in_(names))
    if tag:
        query = query.where(Model.tags.any(Tag.name == tag))
    return list(session.scalars(query))


def blob_in_use(session: Session, digest: str) -> bool:
    """Whether any version references ``digest`` as its model, a model file or test data."""
    from hub.catalog.file_queries import file_in_use

    return bool(
        session.scalar(
            select(func.count())
            .select_from(Version)
            .where(or_(Version.sha256 == digest, Version.test_data_sha256 == digest))
        )
    ) or file_in_use(session, digest)


def events_after(session: Session, last_id: int, limit: int = 500) -> list[Event]:
    return list(
        session.scalars(select(Event).where(Event.id > last_id).order_by(Event.id).limit(limit))
    )


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Event.id))) or 0)


# -- records -----------------------------------------------------------------------------


def model_info(model: Model) -> ModelInfo:
    return ModelInfo(
        name=model.name,
        owner=model.owner.name,
        task=model.task,
        license=model.license,
        tags=tuple(t.name for t in model.tags),
        description=model.description,
        created_at=model.created_at,
        updated_at=model.updated_at,
        latest_version=model.versions[-1].number if model.versions else None,
        aliases={a.name: a.version.number for a in model.aliases},
        versions=tuple(v.number for v in model.versions),
    )


def version_info(model: Model, version: Version) -> VersionInfo:
    aliases = tuple(sorted(a.name for a in model.aliases if a.version_id == version.id))
    return VersionInfo(
        model=model.name,
        version=version.number,
        family=version.family,
        framework=version.framework,
        framework_version=version.framework_version,
        opset=version.opset,
        ir_version=version.ir_version,
        inputs=tuple(TensorSpec.from_json(t) for t in version.inputs),
        outputs=tuple(TensorSpec.from_json(t) for t in version.outputs),
        sha256=version.sha256,
        size=version.size,
        parity=version.parity,
        test_data_sha256=version.test_data_sha256,
        task=version.task,
        created_at=version.created_at,
        aliases=aliases,
        metadata=dict(version.extra or {}),
    )


def event_info(event: Event) -> EventInfo:
    return EventInfo(
        id=event.id,
        kind=event.kind,
        model=event.model_name,
        version=event.version,
        alias=event.alias,
        payload=dict(event.payload or {}),
        created_at=event.created_at,
    )
