"""The full-text index (hub.catalog.search_index) outside the models: installed by its revision
with the existing rows, left out of the schema comparison, repaired after a revision rebuilds
``models`` on SQLite (which drops the triggers), and removed by the downgrade."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from hub.catalog import migrate, search_index
from hub.catalog.db import Database, make_engine, schema_transaction

HEAD = migrate.head_revision()


def _sqlite_objects(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                row[0]
                for row in connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
                )
            }
    finally:
        engine.dispose()


def _indexed(url: str, query: str) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                f"SELECT rowid FROM {search_index.FTS_TABLE} WHERE {search_index.FTS_TABLE} "
                "MATCH ? ORDER BY rowid",
                (query,),
            )
            return [r[0] for r in rows]
    finally:
        engine.dispose()


def _add_model(url: str, name: str, description: str) -> int:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            owner = connection.exec_driver_sql("SELECT id FROM owners LIMIT 1").scalar()
            if owner is None:
                connection.exec_driver_sql(
                    "INSERT INTO owners (name, created_at) VALUES ('local', CURRENT_TIMESTAMP)"
                )
                owner = connection.exec_driver_sql("SELECT id FROM owners").scalar()
            connection.execute(
                sa.text(
                    "INSERT INTO models (name, owner_id, description, private, downloads, "
                    "created_at, updated_at) VALUES (:n, :o, :d, 0, 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"n": name, "o": owner, "d": description},
            )
            return int(connection.exec_driver_sql("SELECT max(id) FROM models").scalar())
    finally:
        engine.dispose()


def test_a_rebuild_of_models_gets_its_triggers_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    Database(url).dispose()
    assert set(search_index.TRIGGERS) | {search_index.FTS_TABLE} <= _sqlite_objects(url)
    first = _add_model(url, "glacier", "measures ice cores")
    assert _indexed(url, '"cored"*') == [first]  # stemmed: cores -> core

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
    engine = make_engine(url)
    with schema_transaction(engine) as connection:
        migrate.upgrade(connection, "test", location=location)
    engine.dispose()
    assert set(search_index.TRIGGERS) <= _sqlite_objects(url)  # repaired after the rebuild
    second = _add_model(url, "moraine", "maps ice sheets")
    assert _indexed(url, '"ice"*') == [first, second]


def test_the_downgrade_removes_it_and_the_upgrade_indexes_existing_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    Database(url).dispose()
    engine = make_engine(url)
    with schema_transaction(engine) as connection:
        command.downgrade(migrate.alembic_config(connection), "0004")
    engine.dispose()
    assert not {o for o in _sqlite_objects(url) if search_index.is_search_object(o)}
    added = _add_model(url, "tundra", "lichen and moss")
    engine = make_engine(url)
    with schema_transaction(engine) as connection:
        migrate.upgrade(connection, "test")
    engine.dispose()
    assert _indexed(url, '"mosses"*') == [added]  # indexed by the upgrade itself


def test_include_object_leaves_out_only_the_search_objects() -> None:
    for name in ("models_fts", "models_fts_data", "models_fts_insert", "ix_models_search_vector"):
        assert not search_index.include_object(None, name, "table", True, None)
    for name in ("models", "versions", "ix_models_name", None):
        assert search_index.include_object(None, name, "table", True, None)
