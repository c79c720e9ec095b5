"""``onnxhub serve``: the Open Inference Protocol (KServe v2) server for every catalogued model."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys

import click

#: Seconds shutdown waits, beyond the drain deadline, for responses to be written.
SHUTDOWN_GRACE = 2.0


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="TCP port.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Log model loads, swaps, evictions and the execution providers in use.",
)
@click.option(
    "--auth",
    type=click.Choice(["public-read", "required"]),
    envvar="ONNXHUB_AUTH",
    default="public-read",
    show_default=True,
    help="public-read: anonymous callers read and infer on public models, writes need a token; "
    "required: every route but /v2/health/* needs a token.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Server processes sharing the port (SO_REUSEPORT), each with its own runtime; "
    "default: ONNXHUB_WORKERS (0: the usable cores, at most 8).",
)
@click.option("--worker-index", type=int, default=None, hidden=True)
@click.option("--worker-dir", type=click.Path(file_okay=False), default=None, hidden=True)
def serve(
    host: str,
    port: int,
    log_level: str,
    auth: str,
    workers: int | None,
    worker_index: int | None,
    worker_dir: str | None,
) -> None:
    """Serve every catalogued model over KServe v2 REST (tritonclient compatible).

    Models load on first use; publishing a version or moving an alias swaps it in live.
    SIGINT/SIGTERM stop accepting, drain in-flight requests and close the sessions.
    With several workers, each is such a server; SIGINT/SIGTERM stop them all.
    """
    from sqlalchemy.engine import make_url

    from hub.api import Hub
    from hub.cli.catalog_probe import probe_catalog
    from hub.errors import InvalidInput
    from hub.server import event_loop, worker_metrics
    from hub.server.app import create_app
    from hub.server.auth import AUTH_MODE
    from hub.server.connections import run_server
    from hub.server.supervisor import Supervisor, default_workers
    from hub.settings import Settings

    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings.from_env()
    event_loop.resolve(settings.event_loop)  # uvloop asked for and missing: fail before start
    count = settings.workers if workers is None else workers
    count = count or default_workers()
    # A database not up yet is not waited for: the server listens, is not ready, and opens the
    # catalog once it answers (each worker on its own; the schema lock serialises them).
    open_later = probe_catalog(settings) is not None
    if count > 1 and worker_index is None:
        if port == 0:
            raise InvalidInput("--workers above 1 needs a fixed --port (they share it)")
        if not open_later:
            Hub(settings).close()  # the catalog is migrated once, before any worker opens it
        click.echo(
            f"onnxhub serving on http://{host}:{port}/v2 with {count} worker processes",
            err=True,
        )
        args = ["--host", host, "--port", str(port), "--log-level", log_level, "--auth", auth]
        supervisor = Supervisor(count, args, settings.drain_timeout + SHUTDOWN_GRACE + 5.0)
        sys.exit(supervisor.run())
    hub = Hub(settings, open_catalog_later=open_later)
    deferred = hub.db.deferred
    if deferred is not None:  # a schema this release refuses, met later: stop with its message
        deferred.on_fatal = lambda _exc: os.kill(os.getpid(), signal.SIGTERM)
    try:
        app = create_app(hub, settings)
        app[AUTH_MODE] = auth
        if worker_index is not None and worker_dir is not None:
            worker_metrics.install(app, worker_dir, worker_index)
        app.on_startup.append(_freeze_startup_objects)
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        click.echo(f"onnxhub serving {shown} on http://{host}:{port}/v2", err=True)
        run_server(
            app,
            host=host,
            port=port,
            header_timeout=settings.header_timeout,
            max_connections=settings.max_connections,
            shutdown_timeout=settings.drain_timeout + SHUTDOWN_GRACE,
            event_loop=settings.event_loop,
            reuse_port=worker_index is not None,
        )
    finally:
        hub.close()
    if deferred is not None and deferred.fatal is not None:
        raise deferred.fatal


async def _freeze_startup_objects(app: object) -> None:
    """Move everything alive after start-up (modules, sessions, catalog) out of the collector's
    reach: a full collection over them costs tens of milliseconds, which showed as p99 stalls."""
    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    serve()
