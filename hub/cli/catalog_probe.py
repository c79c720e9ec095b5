"""Whether the catalog database answers when ``onnxhub serve`` starts.

In a deployment the server and its database often start together. A replica whose PostgreSQL
is not reachable yet does not wait before listening: it starts, answers ``/v2/health/live``,
reports not-ready on ``/v2/health/ready`` (with the reason) and opens the catalog once the
database answers (:mod:`hub.catalog.deferred_open`). A database that answers with an error
(bad credentials, no such database) is a configuration error and stops the start at once.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from hub.errors import StorageError, first_line

log = logging.getLogger(__name__)


def probe_catalog(settings: Any) -> str | None:
    """One connection attempt: None when the database answers (SQLite is not probed), else the
    first line of why it is unreachable (logged at warning level, password masked).

    :raises StorageError: the database answered with an error (bad credentials, no database).
    """
    from hub.catalog.db import is_unreachable, make_engine

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return None
    shown = url.render_as_string(hide_password=True)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except OperationalError as exc:
        if not is_unreachable(exc):
            raise StorageError(f"cannot open the catalog at {shown}: {exc.orig}") from None
        error = first_line(exc.orig or exc)
        log.warning(
            "catalog database %s is unreachable (%s); starting not-ready, the catalog is opened "
            "(schema checked) once it answers",
            shown,
            error,
        )
        return error
    finally:
        engine.dispose()
