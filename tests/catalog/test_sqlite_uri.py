"""Issue 9 item 21: a SQLite URI filename is a URI, not a folder named ``file:`` to create."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from hub.api import Hub
from hub.catalog.db import sqlite_file
from hub.settings import Settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////abs/catalog.db", Path("/abs/catalog.db")),
        ("sqlite:///rel/catalog.db", Path("rel/catalog.db")),
        ("sqlite:///file:/abs/catalog.db?uri=true", Path("/abs/catalog.db")),
        ("sqlite:///file:/abs/with%20space.db?uri=true", Path("/abs/with space.db")),
        ("sqlite:///file:/abs/catalog.db?mode=ro&uri=true", None),  # read-only: nothing to make
        ("sqlite:///file::memory:?cache=shared&uri=true", None),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
    ],
)
def test_sqlite_file(url: str, expected: Path | None) -> None:
    assert sqlite_file(make_url(url)) == expected


def test_uri_catalog_leaves_no_folder_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    target = tmp_path / "made" / "catalog.db"
    with Hub(
        Settings.for_home(tmp_path / "home", database_url=f"sqlite:///file:{target}?uri=true")
    ):
        pass
    assert target.is_file()  # its folder was created where the URI says
    with Hub(
        Settings.for_home(
            tmp_path / "home", database_url=f"sqlite:///file:{target}?mode=ro&uri=true"
        )
    ) as read_only:
        assert read_only.list_models() == []
    assert list(work.iterdir()) == []  # the old code made ./file:/tmp/... here
