"""The catalog on SQLite and on PostgreSQL: versions, aliases, events, dedup, atomicity."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect

from hub.api import Hub
from hub.catalog import queries
from hub.catalog.db import create_schema
from hub.errors import InvalidInput, NotFound, ParityFailed, StorageError
from hub.settings import Settings


def blob_files(hub: Hub) -> list[Path]:
    root = hub.settings.artifacts
    # blobs only, not temporary files
    found = root.rglob("*") if root.exists() else []
    return sorted(p for p in found if p.is_file() and not p.name.startswith("."))


def test_publish_creates_dense_versions_and_events(hub: Hub, logreg, ridge) -> None:
    model, X = logreg
    v1 = hub.publish(model, name="iris", sample=X, tags=["demo"], alias="production")
    v2 = hub.publish(model, name="iris", sample=X[:10])
    assert (v1.version, v2.version) == (1, 2)
    assert v1.aliases == ("production",)
    assert v1.inputs[0].shape == (-1, 4) and v1.inputs[0].datatype == "FP32"
    info = hub.get_model("iris")
    assert info.versions == (1, 2) and info.latest_version == 2
    assert info.aliases == {"production": 1}
    assert "demo" in info.tags
    assert info.task == "tabular-classification"
    kinds = [(e.kind, e.version, e.alias) for e in hub.events_after(0)]
    assert kinds == [
        ("model.created", None, None),
        ("version.published", 1, None),
        ("alias.set", 1, "production"),
        ("version.published", 2, None),
    ]
    assert hub.last_event_id() == hub.events_after(0)[-1].id


def test_resolution_prefers_production_then_latest(hub: Hub, logreg) -> None:
    model, X = logreg
    hub.publish(model, name="iris", sample=X)
    hub.publish(model, name="iris", sample=X)
    assert hub.get_version("iris").version == 2  # no production alias: latest
    hub.set_alias("iris", "production", 1)
    assert hub.get_version("iris").version == 1
    assert hub.get_version("iris", "2").version == 2
    assert hub.get_version("iris", 2).version == 2
    moved = hub.set_alias("iris", "production", "2")
    assert moved.version == 2 and "production" in moved.aliases
    last = hub.events_after(0)[-1]
    assert (last.kind, last.version, last.alias, last.payload["previous"]) == (
        "alias.set",
        2,
        "production",
        1,
    )
    hub.delete_alias("iris", "production")
    assert hub.get_version("iris").version == 2
    assert hub.events_after(0)[-1].kind == "alias.deleted"


def test_unknown_names_are_not_found_and_change_nothing(hub: Hub, logreg) -> None:
    model, X = logreg
    hub.publish(model, name="iris", sample=X)
    before = hub.last_event_id()
    with pytest.raises(NotFound, match="unknown model 'nope'"):
        hub.get_version("nope")
    with pytest.raises(NotFound, match="no version 7"):
        hub.get_version("iris", 7)
    with pytest.raises(NotFound, match="no alias 'staging'"):
        hub.get_version("iris", "staging")
    with pytest.raises(NotFound, match="no version 5"):
        hub.set_alias("iris", "production", 5)
    with pytest.raises(InvalidInput, match="invalid alias"):
        hub.set_alias("iris", "9lives", 1)
    assert hub.last_event_id() == before
    assert hub.get_model("iris").aliases == {}


def test_search_by_text_task_and_tag(hub: Hub, logreg, ridge) -> None:
    clf, Xc = logreg
    reg, Xr = ridge
    card = "---\nlicense: mit\ntags: [flowers]\n---\n\n# Iris\n\nClassifies iris flowers.\n"
    hub.publish(clf, name="iris", sample=Xc, card=card)
    hub.publish(reg, name="linear", sample=Xr, tags=["numbers"])
    assert [m.name for m in hub.list_models()] == ["iris", "linear"]
    assert [m.name for m in hub.list_models(search="FLOWERS")] == ["iris"]
    assert [m.name for m in hub.list_models(task="tabular-regression")] == ["linear"]
    assert [m.name for m in hub.list_models(tag="numbers")] == ["linear"]
    assert hub.list_models(tag="absent") == []
    iris = hub.get_model("iris")
    assert iris.license == "mit" and "flowers" in iris.tags
    assert iris.description == "Classifies iris flowers."


def test_identical_bytes_are_stored_once_but_versioned(hub: Hub, logreg) -> None:
    model, X = logreg
    v1 = hub.publish(model, name="iris", sample=X)
    v2 = hub.publish(model, name="iris", sample=X)
    assert v1.sha256 == v2.sha256 and v2.version == 2
    assert v1.test_data_sha256 == v2.test_data_sha256
    assert len(blob_files(hub)) == 2  # one ONNX blob, one test data set


def test_failed_parity_writes_nothing(hub: Hub, logreg) -> None:
    model, X = logreg
    honest = model.predict_proba
    # The framework now answers differently from the graph the exporter builds.
    model.predict_proba = lambda rows: np.clip(honest(rows) + 0.05, 0, 1)
    with pytest.raises(ParityFailed, match="nothing was published") as info:
        hub.publish(model, name="iris", sample=X)
    failed = {o.name: o for o in info.value.report.failures()}
    assert set(failed) == {"probabilities"}
    assert failed["probabilities"].max_abs_error == pytest.approx(0.05, abs=0.01)
    assert hub.list_models() == [] and hub.last_event_id() == 0
    assert blob_files(hub) == []


def test_parity_failure_can_be_overridden_and_is_stored(hub: Hub, logreg) -> None:
    model, X = logreg
    honest = model.predict_proba
    model.predict_proba = lambda rows: np.clip(honest(rows) + 0.05, 0, 1)
    version = hub.publish(model, name="iris", sample=X, allow_parity_failure=True)
    assert version.parity is not None and version.parity["passed"] is False


def test_catalog_failure_leaves_blobs_to_gc(
    hub: Hub, logreg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed catalog write deletes nothing inline (a concurrent publish of identical bytes
    may share the blobs); ``gc`` collects them once nothing references them."""
    model, X = logreg

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise StorageError("disk full (simulated)")

    with monkeypatch.context() as patch:
        patch.setattr(queries, "add_version", boom)
        with pytest.raises(StorageError, match="simulated"):
            hub.publish(model, name="iris", sample=X)
    assert hub.list_models() == [] and hub.last_event_id() == 0
    left = blob_files(hub)
    assert len(left) == 2  # the ONNX graph and the test data set
    report = hub.collect_garbage(dry_run=False, min_age=0)
    assert sorted(d for d, _ in report.unreferenced) == sorted(p.name for p in left)
    assert blob_files(hub) == []


def test_wrong_feature_count_writes_nothing(hub: Hub, logreg) -> None:
    model, X = logreg
    with pytest.raises(InvalidInput, match="feature"):
        hub.publish(model, name="iris", sample=np.hstack([X, X[:, :1]]))
    assert hub.list_models() == [] and blob_files(hub) == []


CONCURRENT_PUBLISHER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from sklearn.linear_model import Ridge
    from hub.api import Hub
    from hub.settings import Settings

    home, url, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    with Hub(Settings.for_home(home, database_url=url)) as hub:
        for i in range(3):
            model = Ridge(alpha=1.0 + seed + i).fit(X, X @ [1.0, 2.0, 3.0])
            print(hub.publish(model, name="shared", sample=X[:5]).version, flush=True)
    """
)


def test_concurrent_publishes_from_two_processes(settings: Settings, tmp_path: Path) -> None:
    script = tmp_path / "publisher.py"
    script.write_text(CONCURRENT_PUBLISHER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(settings.home), settings.database_url, str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    printed = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        printed += [int(line) for line in out.split()]
    assert sorted(printed) == [1, 2, 3, 4, 5, 6]
    with Hub(settings) as hub:
        assert hub.get_model("shared").versions == (1, 2, 3, 4, 5, 6)
        published = [e.version for e in hub.events_after(0) if e.kind == "version.published"]
        assert sorted(published) == [1, 2, 3, 4, 5, 6]


def test_unwritable_database_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the catalog folder should be")
    with pytest.raises(StorageError, match="cannot create the catalog folder"):
        Hub(Settings.for_home(tmp_path, database_url=f"sqlite:///{blocker / 'catalog.db'}"))


def test_read_only_database_refuses_writes_cleanly(tmp_path: Path, logreg) -> None:
    model, X = logreg
    with Hub(Settings.for_home(tmp_path / "home")) as writable:
        writable.publish(model, name="iris", sample=X)
        db_file = Path(writable.settings.database_url.removeprefix("sqlite:///"))
    url = f"sqlite:///file:{db_file}?mode=ro&uri=true"
    with Hub(Settings.for_home(tmp_path / "home", database_url=url)) as read_only:
        assert read_only.get_model("iris").versions == (1,)
        blobs_before = blob_files(read_only)
        with pytest.raises(StorageError, match="catalog write failed"):
            read_only.publish(model, name="iris", sample=X)
        assert blob_files(read_only) == blobs_before
        assert read_only.get_model("iris").versions == (1,)


def test_default_sqlite_catalog_is_created_in_wal_mode(tmp_path: Path) -> None:
    import sqlalchemy as sa

    with Hub(Settings.for_home(tmp_path / "fresh-home")) as hub:
        assert hub.settings.database_url == f"sqlite:///{tmp_path / 'fresh-home' / 'catalog.db'}"
        with hub.db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            tables = set(sa.inspect(conn).get_table_names())
    assert {"models", "versions", "aliases", "events", "owners", "tags"} <= tables


def _hold_exclusive_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE IF NOT EXISTS placeholder (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_schema_creation_outlasts_a_lock_sqlite_answers_without_waiting(tmp_path: Path) -> None:
    # timeout=0 makes every lock conflict come back at once, as SQLite's WAL clean-up window does.
    path = tmp_path / "catalog.db"
    holder = _hold_exclusive_lock(path)
    release = threading.Timer(0.3, holder.rollback)
    release.start()
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        create_schema(engine, wait_s=10)
    finally:
        release.join()
        holder.close()
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"models", "versions", "aliases", "events"} <= tables


def test_schema_creation_gives_up_on_a_lock_that_stays(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    holder = _hold_exclusive_lock(path)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(StorageError, match="cannot open the catalog .*database is locked"):
            create_schema(engine, wait_s=0.3)
    finally:
        holder.close()
        engine.dispose()
