"""Schema migrations: a 0.1.0 catalog upgrades with its data, the migrated schema equals the
models, a newer schema is refused, and a new revision can be written."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from hub.api import Hub
from hub.catalog import migrate, search_index
from hub.catalog.db import Database, make_engine, schema_transaction
from hub.catalog.models import Base
from hub.cli.main import cli
from hub.errors import StorageError
from hub.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
HEAD = migrate.head_revision()


def load_0_1_0_catalog(url: str) -> None:
    """Write the tables and rows that onnxhub 0.1.0 left in a catalog (fixture SQL)."""
    engine = sa.create_engine(url)
    dialect = engine.dialect.name
    script = (FIXTURES / f"catalog-0.1.0.{dialect}.sql").read_text()
    if dialect == "sqlite":
        with sqlite3.connect(engine.url.database) as connection:  # type: ignore[arg-type]
            connection.executescript(script)
    else:
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                cursor.execute(script)
            raw.commit()
        finally:
            raw.close()
    engine.dispose()


def schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            options = {
                "compare_type": True,
                "compare_server_default": True,
                # the full-text index lives outside the models (hub.catalog.search_index)
                "include_object": search_index.include_object,
            }
            context = MigrationContext.configure(connection, opts=options)
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def revision_of(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return migrate.state(connection).current
    finally:
        engine.dispose()


def db_command(url: str, home: Path, *args: str):  # type: ignore[no-untyped-def]
    env = {"ONNXHUB_DATABASE_URL": url, "ONNXHUB_HOME": str(home)}
    return CliRunner().invoke(cli, ["db", *args], env=env)


def assert_0_1_0_data_intact(hub: Hub) -> None:
    assert [m.name for m in hub.list_models()] == ["iris", "linear"]
    iris = hub.get_model("iris")
    assert iris.versions == (1, 2)
    assert iris.aliases == {"production": 1}
    assert iris.tags == ("iris", "tabular")
    assert (iris.task, iris.license, iris.description) == (
        "classification",
        "MIT",
        "Iris classifier",
    )
    production = hub.get_version("iris", "production")
    assert (production.version, production.sha256, production.size) == (1, "a" * 64, 1234)
    assert production.metadata["serving"] == {"max_batch_size": 8}
    assert [s.name for s in production.outputs] == ["label", "probabilities"]
    assert production.parity is not None and production.parity["rows"] == 45
    assert list(hub.get_version("linear", None).inputs[0].shape) == [-1, 5]
    events = [(e.id, e.kind, e.model, e.version) for e in hub.events_after(0)]
    assert events == [
        (1, "version.published", "iris", 1),
        (2, "version.published", "iris", 2),
        (3, "version.published", "linear", 1),
        (4, "alias.set", "iris", 1),
    ]


def test_a_0_1_0_sqlite_catalog_is_upgraded_on_first_use(tmp_path: Path, ridge) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    load_0_1_0_catalog(url)
    assert revision_of(url) is None
    with Hub(Settings.for_home(tmp_path, database_url=url)) as hub:
        assert_0_1_0_data_intact(hub)
        model, X = ridge
        published = hub.publish(model, name="linear", sample=X)
        assert (published.model, published.version) == ("linear", 2)
        assert hub.events_after(4)[0].id == 5
    assert revision_of(url) == HEAD
    assert schema_diff(url) == []


def test_a_0_1_0_postgresql_catalog_waits_for_db_upgrade(
    postgres_url: str, tmp_path: Path, ridge
) -> None:
    load_0_1_0_catalog(postgres_url)
    settings = Settings.for_home(tmp_path, database_url=postgres_url)
    with pytest.raises(
        StorageError, match=r"pre-migration \(0\.1\.0\), older than .*onnxhub db upgrade"
    ):
        Hub(settings)
    assert revision_of(postgres_url) is None  # refusing wrote nothing

    current = db_command(postgres_url, tmp_path, "current")
    assert current.exit_code == 0, current.output
    assert "pre-migration (0.1.0); this onnxhub's head is" in current.output
    upgraded = db_command(postgres_url, tmp_path, "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f": pre-migration (0.1.0) -> {HEAD}" in upgraded.output
    assert db_command(postgres_url, tmp_path, "current").output.strip() == f"{HEAD} (head)"

    with Hub(settings) as hub:
        assert_0_1_0_data_intact(hub)
        model, X = ridge
        assert hub.publish(model, name="linear", sample=X).version == 2  # sequences carried on
        assert hub.events_after(4)[0].id == 5
    assert schema_diff(postgres_url) == []


def test_a_new_catalog_is_migrated_to_exactly_the_models(database_url: str) -> None:
    Database(database_url).dispose()
    assert revision_of(database_url) == HEAD
    assert schema_diff(database_url) == []
    engine = make_engine(database_url)
    with engine.connect() as connection:
        versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    engine.dispose()
    assert versions == [(HEAD,)]


def test_a_newer_schema_is_refused_with_both_revisions(database_url: str, tmp_path: Path) -> None:
    Database(database_url).dispose()
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    message = f"schema revision 9999, newer than this onnxhub knows (its newest is {HEAD})"
    with pytest.raises(StorageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Database(database_url)
    for args in (["db", "current"], ["db", "upgrade"], ["serve", "--port", "1"]):
        env = {"ONNXHUB_DATABASE_URL": database_url, "ONNXHUB_HOME": str(tmp_path)}
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == StorageError.exit_code, (args, result.output)
        assert result.output.count("\n") == 1 and message in result.output, args
    assert revision_of(database_url) == "9999"


def test_tables_that_are_not_a_catalog_are_not_guessed_at(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE models (id INTEGER PRIMARY KEY)")
    engine.dispose()
    with pytest.raises(StorageError, match=r"some of the catalog's tables .*\(missing: aliases, "):
        Database(url)


def test_concurrent_first_opens_migrate_once(database_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_catalog() -> None:
        try:
            start.wait()
            Database(database_url).dispose()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_catalog) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert revision_of(database_url) == HEAD


def test_the_shipped_revisions_form_one_numbered_chain() -> None:
    scripts = list(migrate._scripts().walk_revisions())  # newest first
    numbers = [s.revision for s in reversed(scripts)]
    assert numbers == [f"{n:04d}" for n in range(1, len(numbers) + 1)]
    for script in scripts:
        assert Path(script.path).name.startswith(f"{script.revision}_")
    assert numbers[0] == migrate.BASELINE and numbers[-1] == HEAD


def test_a_new_revision_is_autogenerated_from_the_models(tmp_path: Path) -> None:
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    engine = make_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
    with schema_transaction(engine) as connection:
        migrate.upgrade(connection, "scratch")
        path = migrate.new_revision(connection, "Nothing changed", location=location)
    engine.dispose()
    expected = f"{int(HEAD) + 1:04d}_nothing_changed.py"
    assert path == location / "versions" / expected
    text = path.read_text()
    assert f"Revision ID: {int(HEAD) + 1:04d}\nRevises: {HEAD}\n" in text
    assert f'down_revision: str | Sequence[str] | None = "{HEAD}"' in text  # formatted by ruff
    # the models equal the migrations, so the generated upgrade has nothing to do
    upgrade_body = text.split("def upgrade() -> None:")[1].split("def downgrade")[0]
    statements = [line.strip() for line in upgrade_body.splitlines() if line.strip()]
    assert [s for s in statements if not s.startswith("#")] == ["pass"]


def test_a_revision_that_rebuilds_a_table_keeps_the_rows_that_refer_to_it(tmp_path: Path) -> None:
    """SQLite rebuilds a table to alter it (alembic's batch mode): with foreign keys enforced,
    dropping the old ``models`` would cascade into versions and aliases. Migrations run with
    them off and checked before the commit."""
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / "9001_rebuild_models.py").write_text(
        "from alembic import op\n\n"
        f'revision = "9001"\ndown_revision = "{HEAD}"\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade() -> None:\n"
        '    with op.batch_alter_table("models", recreate="always"):\n'
        "        pass\n\n\n"
        "def downgrade() -> None:\n"
        "    pass\n"
    )
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    load_0_1_0_catalog(url)
    Database(url).dispose()  # 0.1.0 -> head, with the rows of the fixture
    engine = make_engine(url)
    with schema_transaction(engine) as connection:
        before, after = migrate.upgrade(connection, "test", location=location)
    with engine.connect() as connection:
        counts = [
            connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
            for table in ("models", "versions", "aliases", "model_tags")
        ]
        enforced = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    engine.dispose()
    assert (before, after) == (HEAD, "9001")
    assert counts == [2, 3, 1, 3]
    assert enforced == 1  # the pool's connection has them back on
