"""Waiting for a catalog database that is not up yet (``onnxhub serve`` at start-up).

In a deployment the server and its database often start together; a replica whose PostgreSQL
is not reachable yet retries with backoff (logging each attempt, password masked) instead of
exiting, and starts serving once the database answers. A database that answers with an error
(bad credentials, no such database) is not waited for: that is a configuration error.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

#: Seconds between attempts: doubling from the first, capped at the second.
BACKOFF = (1.0, 30.0)


def wait_for_catalog(settings: Any, sleep: Any = time.sleep) -> int:
    """Return once the catalog database accepts a connection; the number of failed attempts.

    SQLite is never waited for. A refused, reset or timed-out connection is retried with
    backoff; any other error is raised at once.
    """
    from hub.catalog.db import is_unreachable, make_engine

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return 0
    shown = url.render_as_string(hide_password=True)
    engine = make_engine(settings.database_url)
    delay, failures = BACKOFF[0], 0
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                if failures:
                    log.info(
                        "catalog database %s is reachable after %d attempt(s)", shown, failures + 1
                    )
                return failures
            except OperationalError as exc:
                if not is_unreachable(exc):
                    raise
                failures += 1
                first = (str(exc.orig).strip().splitlines() or [""])[0]
                log.warning(
                    "catalog database %s is unreachable (%s); retrying in %.0f s",
                    shown,
                    first,
                    delay,
                )
                sleep(delay)
                delay = min(delay * 2, BACKOFF[1])
    finally:
        engine.dispose()
