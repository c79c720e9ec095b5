"""``onnxhub db``: where the catalog's schema stands, upgrading it, and adding a revision."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click


@click.group()
def db() -> None:
    """The catalog's schema (alembic revisions shipped with onnxhub).

    The embedded SQLite catalog upgrades itself on first use; a PostgreSQL catalog is
    upgraded with 'onnxhub db upgrade' (stop older servers on it first).
    """


@db.command()
def current() -> None:
    """Print the catalog's schema revision and this onnxhub's newest (exit 0 when current)."""
    from hub.catalog import migrate
    from hub.catalog.db import display_url, make_engine
    from hub.settings import Settings

    engine = make_engine(Settings.from_env().database_url)
    where = display_url(engine)
    try:
        with engine.connect() as connection:
            found = migrate.state(connection)
    finally:
        engine.dispose()
    migrate.check_openable(found, where)
    if found.up_to_date:
        click.echo(f"{found.current} (head)")
    elif found.empty:
        click.echo(f"empty database; the first use creates revision {found.head}")
    else:
        current = found.current or "pre-migration (0.1.0)"
        click.echo(f"{current}; this onnxhub's head is {found.head}: run `onnxhub db upgrade`")


@db.command()
@click.option("--revision", default="head", show_default=True, help="Revision to upgrade to.")
def upgrade(revision: str) -> None:
    """Upgrade the catalog at ONNXHUB_DATABASE_URL to this onnxhub's schema.

    One transaction: a failed step leaves the catalog as it was. A catalog made before
    migrations existed (0.1.0) is recognised and brought forward with its data.
    """
    from hub.catalog import migrate
    from hub.catalog.db import display_url, make_engine, schema_transaction
    from hub.settings import Settings

    engine = make_engine(Settings.from_env().database_url)
    where = display_url(engine)
    try:
        with schema_transaction(engine) as connection:
            before, after = migrate.upgrade(connection, where, revision)
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"catalog at {where} is already at {after}")
    else:
        click.echo(f"catalog at {where}: {before or 'empty'} -> {after}")


@db.command()
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option(
    "--empty", is_flag=True, help="Write an empty revision (data migrations) instead of a diff."
)
def revision(message: str, empty: bool) -> None:
    """Write hub/catalog/migrations/versions/NNNN_<message>.py (for developers).

    It holds the difference between the models (hub/catalog/models.py and the modules it
    imports) and a scratch SQLite catalog at the current head. Review it before committing.
    """
    from hub.catalog import migrate
    from hub.catalog.db import make_engine, schema_transaction

    with tempfile.TemporaryDirectory(prefix="onnxhub-revision-") as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'catalog.db'}")
        try:
            with schema_transaction(engine) as connection:
                migrate.upgrade(connection, "a scratch catalog")
                path = migrate.new_revision(connection, message, autogenerate=not empty)
        finally:
            engine.dispose()
    click.echo(f"wrote {path}; review it, then run the catalog tests on SQLite and PostgreSQL")
