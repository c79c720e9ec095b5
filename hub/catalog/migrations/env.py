"""Alembic environment: always given a connection by :mod:`hub.catalog.migrate`.

No alembic.ini is needed: the caller passes an open connection (already inside the transaction
that holds the schema lock) in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from hub.catalog.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run catalog migrations through `onnxhub db ...` (hub.catalog.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: autogenerate writes batch operations (copy and move).
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    compare_server_default=True,
)
with context.begin_transaction():
    context.run_migrations()
