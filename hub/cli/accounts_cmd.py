"""Accounts on the local catalog: ``onnxhub users``, ``onnxhub tokens``, ``onnxhub collaborators``.

These commands run where the database is and administer it directly (no token): like a
database's own admin tool. Writes that belong to someone are recorded as ``ONNXHUB_USER``
(default ``local``), created on first use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.table import Table

from hub.catalog import access, accounts
from hub.catalog.account_tables import SCOPES
from hub.cli.common import echo_json, open_hub, out
from hub.settings import Settings


def acting_user() -> str:
    """``ONNXHUB_USER`` (declared in :class:`hub.settings.Settings`), else ``local``."""
    return Settings.from_env().user


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


@click.group()
def users() -> None:
    """Users who can hold tokens, own models and collaborate."""


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="May see and change every model.")
@click.option("--display-name", help="Name shown in pages.")
def users_add(name: str, admin: bool, display_name: str | None) -> None:
    """Add the user NAME."""
    with open_hub() as hub:
        hub.db.transaction(
            lambda s: accounts.create_user(s, name, display_name=display_name, admin=admin)
        )
    click.echo(f"added user {name}{' (admin)' if admin else ''}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def users_list(as_json: bool) -> None:
    """List users."""
    with open_hub() as hub, hub.db.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "name": u.name,
                "display_name": u.display_name,
                "admin": u.admin,
                "created_at": u.created_at,
            }
            for u in accounts.list_users(session)
        ]
    if as_json:
        echo_json(rows)
        return
    table = Table("name", "display name", "admin", "created")
    for row in rows:
        table.add_row(
            row["name"],
            row["display_name"] or "",
            "yes" if row["admin"] else "",
            _when(row["created_at"]),
        )
    out.print(table)


@click.group()
def tokens() -> None:
    """API tokens (``Authorization: Bearer``), stored hashed, shown once."""


@tokens.command("create")
@click.argument("user")
@click.option("--name", default="default", show_default=True, help="A label for the token.")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="read",
    show_default=True,
    help="read; write (publish, aliases); admin (admin users only).",
)
@click.option("--expires-in", help="Lifetime such as 30d, 12h, 2w (default: no expiry).")
def tokens_create(user: str, name: str, scope: str, expires_in: str | None) -> None:
    """Create a token for USER and print it (the only time it is shown)."""
    lifetime = accounts.parse_duration(expires_in) if expires_in else None
    with open_hub() as hub:
        secret, row = hub.db.transaction(
            lambda s: accounts.create_token(s, user, name=name, scope=scope, expires_in=lifetime)
        )
    click.echo(secret)
    expiry = f", expires {_when(row.expires_at)} UTC" if row.expires_at else ""
    click.echo(
        f"token {row.id} for {user} (scope {scope}{expiry}); it is not shown again", err=True
    )


@tokens.command("list")
@click.argument("user", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tokens_list(user: str | None, as_json: bool) -> None:
    """List tokens (of USER, or everyone's): never the secrets, only their first characters."""
    with open_hub() as hub, hub.db.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": t.id,
                "user": t.user.name,
                "name": t.name,
                "prefix": t.prefix,
                "scopes": list(t.scopes),
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
                "expires_at": t.expires_at,
                "revoked": t.revoked_at is not None,
            }
            for t in accounts.list_tokens(session, user)
        ]
    if as_json:
        echo_json(rows)
        return
    table = Table(
        "id", "user", "name", "token", "scopes", "created", "last used", "expires", "revoked"
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["user"],
            r["name"],
            r["prefix"] + "...",
            ",".join(r["scopes"]),
            _when(r["created_at"]),
            _when(r["last_used_at"]),
            _when(r["expires_at"]),
            "yes" if r["revoked"] else "",
        )
    out.print(table)


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke the token TOKEN_ID (see ``onnxhub tokens list``)."""
    with open_hub() as hub:
        hub.db.transaction(lambda s: accounts.revoke_token(s, token_id))
    click.echo(f"revoked token {token_id}")


@click.group()
def collaborators() -> None:
    """Users other than the owner who may publish versions and move aliases."""


@collaborators.command("add")
@click.argument("model")
@click.argument("user")
def collaborators_add(model: str, user: str) -> None:
    """Give USER the write role on MODEL."""
    with open_hub() as hub:

        def work(session):
            accounts.get_or_create_user(session, acting_user())
            access.add_collaborator(session, model, user)

        hub.db.transaction(work)
    click.echo(f"{user} may now write to {model}")


@collaborators.command("remove")
@click.argument("model")
@click.argument("user")
def collaborators_remove(model: str, user: str) -> None:
    """Take USER's write role on MODEL away."""
    with open_hub() as hub:
        hub.db.transaction(lambda s: access.remove_collaborator(s, model, user))
    click.echo(f"{user} no longer writes to {model}")


@collaborators.command("list")
@click.argument("model")
def collaborators_list(model: str) -> None:
    """List MODEL's collaborators."""
    with open_hub() as hub, hub.db.session() as session:
        for name in access.list_collaborators(session, model):
            click.echo(name)
