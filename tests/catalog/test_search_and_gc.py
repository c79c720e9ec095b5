"""Issue 9 items 12 (search is literal) and 14 (blobs collected by a reference-checked gc)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from onnx_graphs import scale_model

from hub.api import Hub
from hub.catalog import queries
from hub.catalog.gc import lock_path
from hub.cli.main import cli
from hub.errors import StorageError
from hub.settings import Settings

X = np.ones((2, 3), dtype=np.float32)


def _publish(hub: Hub, name: str, factor: float, **kwargs) -> None:  # type: ignore[no-untyped-def]
    hub.publish(scale_model(factor), name=name, sample=X, **kwargs)


@pytest.mark.parametrize("search", ["%", "_", "\\", "a%c", "50%"])
def test_search_wildcards_match_only_themselves(hub: Hub, search: str) -> None:
    """The issue's example: ``--search %`` matched every model."""
    for name in ("abc", "a_c", "a-c", "plain"):
        _publish(hub, name, 2.0)
    expected = {"%": [], "_": ["a_c"], "\\": [], "a%c": [], "50%": []}[search]
    assert [m.name for m in hub.list_models(search=search)] == expected


def test_search_still_finds_substrings_case_insensitively(hub: Hub) -> None:
    _publish(hub, "Iris-Big", 2.0)
    _publish(hub, "other", 2.0)
    assert [m.name for m in hub.list_models(search="iris-b")] == ["Iris-Big"]


def _blobs(hub: Hub) -> set[str]:
    root = hub.settings.artifacts
    return {p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


def test_concurrent_publishers_of_identical_bytes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Publisher A stores the blob first and then its catalog write fails; publisher B stores
    identical bytes meanwhile and commits. B's version must stay readable: before, A deleted
    the blob it had created, under B's feet."""
    home = tmp_path / "home"
    a_stored, b_committed = threading.Event(), threading.Event()
    errors: dict[str, BaseException] = {}

    a = Hub(Settings.for_home(home, user="bob"))
    b = Hub(Settings.for_home(home))
    original = queries.upsert_model

    def upsert(session, name, owner, **kwargs):  # type: ignore[no-untyped-def]
        if owner == "bob":  # publisher A: its blobs are stored; wait for B, then fail
            a_stored.set()
            assert b_committed.wait(30)
            raise StorageError("catalog write failed (simulated)")
        return original(session, name, owner, **kwargs)

    monkeypatch.setattr(queries, "upsert_model", upsert)

    def publish_a() -> None:
        try:
            _publish(a, "theirs", 3.0)
        except BaseException as exc:  # noqa: BLE001  (checked below)
            errors["a"] = exc

    thread = threading.Thread(target=publish_a)
    thread.start()
    assert a_stored.wait(30)
    _publish(b, "mine", 3.0)  # identical bytes: the same blob
    b_committed.set()
    thread.join(30)
    assert isinstance(errors.get("a"), StorageError)
    assert [m.name for m in b.list_models()] == ["mine"]
    version = b.get_version("mine")
    assert version.sha256 in _blobs(b)
    np.testing.assert_array_equal(b.open("mine").predict({"x": X})["y"], X * 3)
    report = b.collect_garbage(dry_run=False, min_age=0)
    assert report.unreferenced == []  # A's blobs are B's: referenced, kept
    _, report_check = b.check("mine")
    assert report_check.passed
    a.close()
    b.close()


def test_gc_collects_only_unreferenced_blobs(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(hub, "kept", 2.0)
    kept = hub.get_version("kept")

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise StorageError("disk full (simulated)")

    with monkeypatch.context() as patch:
        patch.setattr(queries, "add_version", boom)
        with pytest.raises(StorageError):
            _publish(hub, "failed", 5.0)
    orphans = _blobs(hub) - {kept.sha256, kept.test_data_sha256}
    assert len(orphans) == 2
    young = hub.collect_garbage(dry_run=False)  # default min_age: an hour
    assert young.deleted == [] and young.kept_young == 2
    dry = hub.collect_garbage(min_age=0)
    assert dry.dry_run and {d for d, _ in dry.unreferenced} == orphans and dry.deleted == []
    assert _blobs(hub) >= orphans  # a dry run deletes nothing
    done = hub.collect_garbage(dry_run=False, min_age=0)
    assert set(done.deleted) == orphans
    assert _blobs(hub) == {kept.sha256, kept.test_data_sha256}
    assert lock_path(hub.settings.artifacts).is_file()  # beside the blobs, not among them
    assert not any(p.name.startswith(".") for p in hub.settings.artifacts.rglob("*"))


def test_gc_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ONNXHUB_HOME", str(home))
    with Hub(Settings.for_home(home)) as hub:
        hub.artifacts.put(b"an orphan blob")
    runner = CliRunner()
    result = runner.invoke(cli, ["gc", "--min-age", "0"])
    assert result.exit_code == 0, result.output
    assert "1 unreferenced blob(s), 14 bytes; run `onnxhub gc --yes` to delete" in result.output
    result = runner.invoke(cli, ["gc", "--min-age", "0", "--yes"])
    assert result.exit_code == 0 and "deleted 1 blob(s), 14 bytes" in result.output
    result = runner.invoke(cli, ["gc", "--min-age", "0", "--json"])
    assert '"unreferenced": []' in result.output
