"""Alembic environment: always given a connection by :mod:`hub.catalog.migrate`.

No alembic.ini is needed: the caller passes an open connection (already inside the transaction
that holds the schema lock) in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from hub.catalog.models import Base
from hub.catalog.search_index import include_object

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
    # the full-text index (an FTS5 table and its triggers, a tsvector GIN index) is installed by
    # its own revision and cannot be declared in the models: never compared, never dropped
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
