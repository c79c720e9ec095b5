"""Users and API tokens. Functions take a session and never commit.

Tokens are ``onh_`` followed by 43 URL-safe characters (256 random bits). Only the sha256 of
the whole token is stored, so a leaked database reveals no usable token; the token is returned
once, by :func:`create_token`. Scopes are cumulative: ``write`` includes ``read``, ``admin``
includes both; an ``admin`` token can only belong to an admin user.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from hub.catalog.account_tables import SCOPES, ApiToken, User
from hub.catalog.models import utcnow
from hub.errors import Conflict, InvalidInput, NotFound, Unauthorized

TOKEN_PREFIX = "onh_"
TOKEN_PATTERN = re.compile(r"^onh_[A-Za-z0-9_-]{43}$")
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: ``last_used_at`` is written at most this often per token, so reads do not all become writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user and the scopes of the token used (anonymous: ``user`` is None)."""

    user: str | None = None
    scopes: frozenset[str] = frozenset()
    token_id: int | None = None

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes

    def has_scope(self, scope: str) -> bool:
        """Whether the token grants ``scope`` (``admin`` > ``write`` > ``read``)."""
        wanted = SCOPES.index(scope)
        return any(SCOPES.index(s) >= wanted for s in self.scopes)

    def to_json(self) -> dict[str, object]:
        return {"user": self.user, "scopes": sorted(self.scopes, key=SCOPES.index)}


ANONYMOUS = Principal()


def check_user_name(name: str) -> str:
    if not isinstance(name, str) or not USER_NAME.match(name):
        raise InvalidInput(
            f"invalid user name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise InvalidInput(f"unknown scope {scope!r} (scopes: {', '.join(SCOPES)})")
    return scope


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` as a timedelta (InvalidInput otherwise)."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(
            f"invalid duration {text!r}: a positive number and a unit s, m, h, d or w (e.g. 30d)"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def hash_token(token: str) -> str:
    """The stored form of a token: sha256 hex of its UTF-8 bytes."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_user(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def require_user(session: Session, name: str) -> User:
    user = find_user(session, check_user_name(name))
    if user is None:
        raise NotFound(f"unknown user {name!r}")
    return user


def create_user(
    session: Session, name: str, *, display_name: str | None = None, admin: bool = False
) -> User:
    """Add a user; Conflict when the name is taken."""
    check_user_name(name)
    if find_user(session, name) is not None:
        raise Conflict(f"user {name!r} already exists")
    user = User(name=name, display_name=display_name, admin=admin)
    session.add(user)
    session.flush()
    return user


def get_or_create_user(session: Session, name: str) -> User:
    """The user ``name``, created (not admin) on first use: how ``ONNXHUB_USER`` appears."""
    user = find_user(session, check_user_name(name))
    return user if user is not None else create_user(session, name)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def create_token(
    session: Session,
    user_name: str,
    *,
    name: str = "default",
    scope: str = "read",
    expires_in: timedelta | None = None,
) -> tuple[str, ApiToken]:
    """A new token for ``user_name``: (the secret, shown once; its row)."""
    check_scope(scope)
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise InvalidInput("a token name has 1-100 characters")
    user = require_user(session, user_name)
    if scope == "admin" and not user.admin:
        raise InvalidInput(f"user {user_name!r} is not an admin: an admin token needs one")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:8],
        scopes=[scope],
        expires_at=utcnow() + expires_in if expires_in else None,
    )
    row.user = user
    session.add(row)
    session.flush()
    return secret, row


def list_tokens(session: Session, user_name: str | None = None) -> list[ApiToken]:
    query = select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id)
    if user_name is not None:
        query = query.where(ApiToken.user_id == require_user(session, user_name).id)
    return list(session.scalars(query))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Mark the token revoked (idempotent); NotFound for an unknown id."""
    if not 0 < token_id < 2**31:
        raise NotFound(f"unknown token id {token_id}")
    row = session.scalar(
        select(ApiToken).options(selectinload(ApiToken.user)).where(ApiToken.id == token_id)
    )
    if row is None:
        raise NotFound(f"unknown token id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def check_token(
    session: Session, token: str, now: datetime | None = None
) -> tuple[Principal, bool]:
    """(the principal a bearer token stands for, whether its ``last_used_at`` is stale);
    Unauthorized saying why it is refused. Reads only: the message never repeats the token."""
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        raise Unauthorized("malformed token: expected 'onh_' followed by 43 characters")
    found = session.execute(
        select(ApiToken, User.name, User.admin)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()  # one query: this runs on every request that carries a token
    if found is None:
        raise Unauthorized("unknown token")
    row, user_name, user_admin = found
    now = now or utcnow()
    if row.revoked_at is not None:
        raise Unauthorized(f"token {row.prefix}... was revoked")
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        raise Unauthorized(f"token {row.prefix}... expired at {_aware(row.expires_at).isoformat()}")
    stale = row.last_used_at is None or now - _aware(row.last_used_at) >= LAST_USED_RESOLUTION
    scopes = frozenset(s for s in row.scopes if s in SCOPES)
    if "admin" in scopes and not user_admin:
        scopes = scopes - {"admin"}  # the user lost admin rights after the token was made
    return Principal(user=user_name, scopes=scopes, token_id=row.id), stale


def touch_token(session: Session, token_id: int, now: datetime | None = None) -> None:
    """Record that the token was just used."""
    session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now or utcnow())
    )


def authenticate(session: Session, token: str, now: datetime | None = None) -> Principal:
    """:func:`check_token`, refreshing ``last_used_at`` when stale (the caller commits)."""
    principal, stale = check_token(session, token, now)
    if stale and principal.token_id is not None:
        touch_token(session, principal.token_id, now)
    return principal


def principal_for_user(session: Session, name: str) -> Principal:
    """The local CLI's principal: ``ONNXHUB_USER``, created on first use, with every scope its
    rights allow (the CLI runs where the database is, so it needs no token)."""
    user = get_or_create_user(session, name)
    scopes = {"read", "write"} | ({"admin"} if user.admin else set())
    return Principal(user=user.name, scopes=frozenset(scopes))
