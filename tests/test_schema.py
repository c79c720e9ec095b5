"""registry.db.sql is generated from the SQLAlchemy metadata and must not go stale."""

from pathlib import Path

import sqlalchemy as sa

from hub.catalog.models import Base
from hub.catalog.schema import REGENERATE, render_schema

ROOT = Path(__file__).resolve().parents[1]


def test_registry_schema_file_is_current() -> None:
    committed = (ROOT / "registry.db.sql").read_text()
    assert committed == render_schema("sqlite"), (
        f"registry.db.sql is stale; regenerate: {REGENERATE}"
    )


def test_schema_file_builds_the_same_tables(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        for statement in (ROOT / "registry.db.sql").read_text().split(";"):
            if (
                statement.strip()
                and not statement.strip().startswith("--")
                or "CREATE" in statement
            ):
                conn.exec_driver_sql(statement)
    tables = set(sa.inspect(engine).get_table_names())
    assert tables == set(Base.metadata.tables)
