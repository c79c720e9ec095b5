"""Who may see and change a model. Functions take a session and never commit.

Rules (the same for the API, the V2 routes, the event stream and ``/metrics``):

- read: a public model, anyone (anonymous included, unless the server requires a token);
  a private model, only its owner, a collaborator or an admin. To anyone else a private model
  does not exist: :func:`check_read` raises the very NotFound an unknown name gets.
- write (publish a version, move an alias, load/unload on a server): a ``write`` token of the
  owner or a collaborator, or an ``admin`` token. Anonymous: 401; a known caller without the
  scope or the role: 403.
- owner actions (edit the card and flags, delete a version, manage collaborators): the owner
  or an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, exists, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hub.catalog.account_tables import WRITE_ROLE, Collaborator, User
from hub.catalog.accounts import Principal, require_user
from hub.catalog.models import Model, Owner
from hub.catalog.queries import add_event, require_model
from hub.errors import Conflict, Forbidden, NotFound, Unauthorized


@dataclass(frozen=True)
class ModelAccess:
    """What access decisions need to know about one model."""

    name: str
    owner: str
    private: bool
    collaborators: frozenset[str]

    def is_member(self, principal: Principal) -> bool:
        user = principal.user
        return user is not None and (user == self.owner or user in self.collaborators)


def unknown_model(name: str) -> NotFound:
    """The error for an unknown model, and for a private one the caller may not see."""
    return NotFound(f"unknown model {name!r}")


def model_access(session: Session, name: str) -> ModelAccess | None:
    """The access record of ``name``, or None when there is no such model."""
    row = session.execute(
        select(Model.id, Model.private, Owner.name)
        .join(Owner, Model.owner_id == Owner.id)
        .where(Model.name == name)
    ).first()
    if row is None:
        return None
    model_id, private, owner = row
    collaborators = session.scalars(
        select(User.name)
        .join(Collaborator, Collaborator.user_id == User.id)
        .where(Collaborator.model_id == model_id)
    )
    return ModelAccess(name, owner, bool(private), frozenset(collaborators))


def can_read(access: ModelAccess, principal: Principal) -> bool:
    return not access.private or principal.admin or access.is_member(principal)


def check_read(access: ModelAccess | None, principal: Principal, name: str) -> ModelAccess:
    """``access`` if the caller may see the model, else the unknown-model NotFound."""
    if access is None or not can_read(access, principal):
        raise unknown_model(name)
    return access


def _require_signed_in(principal: Principal, action: str) -> None:
    if principal.user is None:
        raise Unauthorized(f"{action} needs a token (Authorization: Bearer ...)")


def check_write(access: ModelAccess | None, principal: Principal, name: str) -> ModelAccess:
    """Publish, alias, load/unload: 404 if unseen, 401 anonymous, 403 without scope or role."""
    access = check_read(access, principal, name)
    action = f"writing to model {name!r}"
    _require_signed_in(principal, action)
    if not principal.has_scope("write"):
        raise Forbidden(f"{action} needs a token with the 'write' scope")
    if not (principal.admin or access.is_member(principal)):
        raise Forbidden(f"{action} is for its owner and collaborators")
    return access


def check_owner(access: ModelAccess | None, principal: Principal, name: str) -> ModelAccess:
    """Card, flags, version deletion, collaborators: the owner (write scope) or an admin."""
    access = check_read(access, principal, name)
    action = f"changing model {name!r}"
    _require_signed_in(principal, action)
    if not principal.has_scope("write"):
        raise Forbidden(f"{action} needs a token with the 'write' scope")
    if not (principal.admin or principal.user == access.owner):
        raise Forbidden(f"{action} is for its owner ({access.owner}) or an admin")
    return access


def check_create(principal: Principal, name: str) -> None:
    """Creating a model by publishing its first version: any signed-in ``write`` token."""
    _require_signed_in(principal, f"creating model {name!r}")
    if not principal.has_scope("write"):
        raise Forbidden(f"creating model {name!r} needs a token with the 'write' scope")


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Model` keeping the models ``principal`` may see."""
    if principal.admin:
        return true()
    if principal.user is None:
        return Model.private.is_(false())
    is_owner = exists().where(Owner.id == Model.owner_id, Owner.name == principal.user)
    is_collaborator = exists().where(
        and_(
            Collaborator.model_id == Model.id,
            Collaborator.user_id == User.id,
            User.name == principal.user,
        )
    )
    return or_(Model.private.is_(false()), is_owner, is_collaborator)


def add_collaborator(session: Session, model_name: str, user_name: str) -> None:
    """Give ``user_name`` the ``write`` role on the model; Conflict if already there or owner."""
    model = require_model(session, model_name, for_update=True)
    user = require_user(session, user_name)
    if model.owner.name == user.name:
        raise Conflict(f"{user_name!r} owns {model_name!r}: an owner is not a collaborator")
    present = session.get(Collaborator, (model.id, user.id))
    if present is not None:
        raise Conflict(f"{user_name!r} already collaborates on {model_name!r}")
    session.add(Collaborator(model_id=model.id, user_id=user.id, role=WRITE_ROLE))
    session.flush()
    add_event(session, "collaborator.added", model_name, payload={"user": user_name})


def remove_collaborator(session: Session, model_name: str, user_name: str) -> None:
    model = require_model(session, model_name, for_update=True)
    user = require_user(session, user_name)
    result = cast(
        "CursorResult[Any]",
        session.execute(
            delete(Collaborator).where(
                Collaborator.model_id == model.id, Collaborator.user_id == user.id
            )
        ),
    )
    if not result.rowcount:
        raise NotFound(f"{user_name!r} is not a collaborator on {model_name!r}")
    add_event(session, "collaborator.removed", model_name, payload={"user": user_name})


def list_collaborators(session: Session, model_name: str) -> list[str]:
    model = require_model(session, model_name)
    return list(
        session.scalars(
            select(User.name)
            .join(Collaborator, Collaborator.user_id == User.id)
            .where(Collaborator.model_id == model.id)
            .order_by(User.name)
        )
    )
