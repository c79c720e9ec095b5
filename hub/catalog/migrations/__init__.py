"""Alembic migrations of the catalog schema, run through :mod:`hub.catalog.migrate`.

``env.py`` and ``script.py.mako`` are alembic's; ``versions/`` holds one file per revision.
Add a revision with ``onnxhub db revision -m "what changes"`` (see CONTRIBUTING.md).
"""
