"""The hub's Python API: publish, open, browse; the one transaction owner of the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from hub.catalog import file_queries, queries
from hub.catalog.artifacts import open_store
from hub.catalog.db import Database
from hub.catalog.gc import DEFAULT_MIN_AGE, GcReport, publishing_lock
from hub.catalog.gc import collect as collect_blobs
from hub.catalog.records import EventInfo, ModelInfo, ModelPath, VersionInfo
from hub.catalog.refs import parse_version_number
from hub.errors import InvalidInput
from hub.settings import Settings

if TYPE_CHECKING:  # imported where used: reading the catalog never loads onnx or onnxruntime
    from hub import publishing
    from hub.catalog.manifest import Manifest
    from hub.export.cards import ModelCard
    from hub.export.convert import CheckedExport
    from hub.export.parity import ParityReport, Tolerance
    from hub.families.registry import FamilyRegistry
    from hub.families.types import SampleData
    from hub.onnx.predictor import Predictor


class Hub:
    """A hub over one catalog database and one artifact store, built from :class:`Settings`."""

    def __init__(
        self,
        settings: Settings | None = None,
        registry: FamilyRegistry | None = None,
        *,
        open_catalog_later: bool = False,
    ):
        """``open_catalog_later``: the catalog database is not contacted now; its schema is
        checked on first use once it answers (``onnxhub serve`` started while it is down)."""
        self.settings = settings or Settings.from_env()
        self.db = Database(self.settings.database_url, open_later=open_catalog_later)
        self.artifacts = open_store(self.settings.artifacts, self.settings.home / "artifact-cache")
        self._registry = registry

    @property
    def registry(self) -> FamilyRegistry:
        """The family plugins, discovered on first use (serving never needs them)."""
        if self._registry is None:
            from hub.families.registry import get_plugin_manager

            self._registry = get_plugin_manager()
        return self._registry

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> "Hub":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def tolerance(self) -> Tolerance:
        from hub.export.parity import Tolerance

        s = self.settings
        return Tolerance(s.parity_atol, s.parity_rtol, s.parity_max_label_mismatch)

    # -- publishing ------------------------------------------------------------------------
    def export(
        self,
        model_or_path: Any,
        sample: SampleData,
        *,
        family: str | None = None,
        tolerance: Tolerance | None = None,
        opset: int | None = None,
    ) -> CheckedExport:
        """Export and check without publishing anything."""
        from hub.export.convert import convert_and_check
        from hub.onnx.deadline import time_limit

        with time_limit(self.settings.parity_timeout):  # every check run of the export
            return convert_and_check(
                self.registry,
                model_or_path,
                sample,
                family=family,
                tolerance=tolerance or self.tolerance,
                opset=opset,
            )

    def publish(
        self,
        model_or_path: Any,
        *,
        name: str,
        sample: SampleData = None,
        family: str | None = None,
        card: str | Path | ModelCard | None = None,
        tags: Iterable[str] = (),
        task: str | None = None,
        alias: str | None = None,
        license: str | None = None,
        tolerance: Tolerance | None = None,
        allow_parity_failure: bool = False,
        opset: int | None = None,
    ) -> VersionInfo:
        """Export ``model_or_path``, check parity on ``sample`` and publish the next version.

        Nothing is written unless every check passes: a failed parity check raises
        :class:`ParityFailed` (pass ``allow_parity_failure=True`` to publish anyway, the report
        is stored either way). Identical bytes are stored once; each publish is a new version.
        ``sample`` may be omitted only for a model that is already ONNX (a synthetic sample is
        made). ``task`` is a name of :mod:`hub.families.tasks` or one of its aliases. The steps
        are in :mod:`hub.publishing`.
        """
        from hub import publishing

        request = publishing.check_request(
            name, alias=alias, tags=tags, card=card, task=task, license=license
        )
        from hub.catalog.accounts import check_user_name

        check_user_name(self.settings.user)  # ONNXHUB_USER: before the (slow) export
        from hub.onnx.deadline import RunTimedOut

        try:
            checked = self.export(
                model_or_path, sample, family=family, tolerance=tolerance, opset=opset
            )
        except RunTimedOut as exc:
            raise RunTimedOut(f"publishing {name!r}: {exc.message}") from None
        try:
            publishing.require_parity(checked, name, allow_parity_failure)
            entry = publishing.catalog_entry(request, checked)
            with publishing_lock(self.artifacts):  # gc never deletes between store and commit
                manifest, data_sha = self._store_blobs(checked)
                fields = publishing.version_fields(
                    entry,
                    checked,
                    sha256=manifest.graph.sha256,
                    size=manifest.total_size,
                    test_data_sha256=data_sha,
                )
                return self.db.transaction(
                    lambda session: self._write_version(session, request, entry, fields, manifest)
                )
        finally:
            if checked.files is not None:
                checked.files.cleanup()

    def _store_blobs(self, checked: CheckedExport) -> tuple[Manifest, str | None]:
        """The export's files and test data in the artifact store (never deleted here: a
        failed publish leaves them to ``onnxhub gc``, as a concurrent publish may share them)."""
        from hub.catalog.model_files import store_checked_files

        manifest = store_checked_files(self.artifacts, checked.model_bytes, checked.files, [])
        data_sha = None
        if checked.test_data is not None:
            data_sha, _ = self.artifacts.put(checked.test_data)
        return manifest, data_sha

    def _write_version(
        self,
        session: Any,
        request: publishing.PublishRequest,
        entry: publishing.CatalogEntry,
        fields: dict[str, Any],
        manifest: Manifest,
    ) -> VersionInfo:
        """The model (created or updated), its new version, files and alias, in ``session``."""
        from hub.catalog import accounts

        # The local CLI runs where the database is: it is the admin path, so it may publish a
        # version of anyone's model; the version records who did (a new model is theirs).
        acting = accounts.check_user_name(self.settings.user)
        card = request.card.render() or None
        model = queries.upsert_model(
            session,
            request.name,
            acting,
            task=entry.task,
            license=entry.license,
            description=request.card.description,
            card=card,
            tags=list(entry.tags),
        )
        extra = {**fields.get("extra", {}), "published_by": acting}
        if card is not None:  # stored per version: a new version may change the card
            extra["card"] = card
        version = queries.add_version(session, model, **{**fields, "extra": extra})
        accounts.get_or_create_user(session, acting)  # created on first use
        file_queries.add_version_files(session, version, manifest)
        if request.alias is not None:
            queries.set_alias(session, model, request.alias, version.number)
        session.flush()
        session.expire(model, ["aliases"])
        model = queries.require_model(session, request.name)
        return queries.version_info(model, version)

    def collect_garbage(
        self, *, dry_run: bool = True, min_age: float = DEFAULT_MIN_AGE
    ) -> GcReport:
        """Blobs no live version (or other catalog row) references, deleted unless
        ``dry_run``; blobs younger than ``min_age`` seconds are kept (see :mod:`hub.catalog.gc`)."""
        return collect_blobs(self.db.engine, self.artifacts, dry_run=dry_run, min_age=min_age)

    # -- reading ---------------------------------------------------------------------------
    def get_model(self, name: str) -> ModelInfo:
        """The model ``name`` (NotFound if unknown)."""
        with self.db.session() as session:
            return queries.model_info(queries.require_model(session, name))

    def list_models(
        self, search: str | None = None, task: str | None = None, tag: str | None = None
    ) -> list[ModelInfo]:
        """Models matching a search string (a literal substring), task and tag.

        ``task`` is a task of :mod:`hub.families.tasks` or an alias of one (InvalidInput for
        another name); versions catalogued under an alias of it match too.
        """
        tasks = None
        if task:
            from hub.families.tasks import task_spellings

            tasks = task_spellings(task)
        with self.db.session() as session:
            return [queries.model_info(m) for m in queries.list_models(session, search, tasks, tag)]

    def get_version(self, name: str, ref: int | str | None = None) -> VersionInfo:
        """A version by number or alias; None means ``production`` if set, else the latest."""
        with self.db.session() as session:
            model = queries.require_model(session, name)
            return queries.version_info(model, queries.resolve_version(session, model, ref))

    def list_versions(self, name: str) -> list[VersionInfo]:
        with self.db.session() as session:
            model = queries.require_model(session, name)
            return [queries.version_info(model, v) for v in model.versions]

    def set_alias(self, name: str, alias: str, version: int | str) -> VersionInfo:
        """Create or move ``alias`` to ``version``; emits ``alias.set``."""
        number = parse_version_number(version)

        def write(session):
            model = queries.require_model(session, name, for_update=True)
            queries.set_alias(session, model, alias, number)
            return name

        self.db.transaction(write)
        return self.get_version(name, alias)

    def delete_alias(self, name: str, alias: str) -> None:
        def write(session):
            queries.delete_alias(
                session, queries.require_model(session, name, for_update=True), alias
            )

        self.db.transaction(write)

    def events_after(self, last_id: int, limit: int = 500) -> list[EventInfo]:
        """Events with id greater than ``last_id``, oldest first."""
        with self.db.session() as session:
            return [queries.event_info(e) for e in queries.events_after(session, last_id, limit)]

    def last_event_id(self) -> int:
        with self.db.session() as session:
            return queries.last_event_id(session)

    # -- artifacts -------------------------------------------------------------------------
    def model_bytes(self, version: VersionInfo) -> bytes:
        """The ONNX bytes of ``version``, verified against their sha256."""
        return self.artifacts.read(version.sha256)

    def test_data(self, version: VersionInfo) -> bytes:
        """The version's test data set (``.npz`` of inputs and expected outputs)."""
        if version.test_data_sha256 is None:
            raise InvalidInput(f"{version.ref} has no test data set")
        return self.artifacts.read(version.test_data_sha256)

    def model_source(self, version: VersionInfo) -> ModelPath:
        """What a session is built from, a local file verified against its sha256 (streamed):
        a one-file version's blob in the store (a remote store's read-through cache), or the
        graph's path in a local folder (:meth:`materialise`), ``mapped``, when it has data
        files. Never the bytes: a session built from bytes keeps them for its life."""
        if self.manifest(version).data:
            return ModelPath(self.materialise(version), mapped=True)
        return ModelPath(self.artifacts.verified_file(version.sha256))

    def manifest(self, version: VersionInfo) -> Manifest:
        """The files of ``version`` (path, size, sha256, role), graph first; ``to_json()`` is
        what the catalog API returns."""
        with self.db.session() as session:
            return file_queries.manifest_of(session, version.model, version.version)

    def materialise(self, version: VersionInfo) -> Path:
        """The path of ``version``'s graph in a local folder holding all its files (hard links
        to the store where possible), each verified against the manifest: what onnxruntime
        loads, so that it memory-maps external weights. StorageError names a bad file."""
        from hub.catalog.model_files import materialise

        return materialise(
            self.artifacts,
            self.manifest(version),
            self.settings.home / "cache" / "versions",
            version.ref,
        )

    def prune_local_folders(self) -> list[Path]:
        """Remove local version folders (:meth:`materialise`) that no live version needs; run
        it with ``onnxhub gc``, whose collected blobs they would otherwise keep on disk. A
        server that still maps a removed folder keeps its open files until it unloads."""
        from hub.catalog.model_files import prune

        with self.db.session() as session:
            keep = {m.digest for m in file_queries.live_manifests(session)}
        return prune(self.settings.home / "cache" / "versions", keep)

    def download_files(self, version: VersionInfo, folder: Path) -> list[Path]:
        """Copy ``version``'s graph and data files into ``folder`` (streamed, each sha256
        verified); the paths written, graph first."""
        from hub.catalog.model_files import download

        return download(self.artifacts, self.manifest(version), folder, version.ref)

    def open(self, name: str, ref: int | str | None = None) -> Predictor:
        """A ready onnxruntime predictor for ``name`` at ``ref``."""
        from hub.onnx.predictor import Predictor
        from hub.onnx.providers import choose_providers
        from hub.onnx.sessions import make_session

        version = self.get_version(name, ref)
        session = make_session(
            self.model_source(version),
            providers=choose_providers(self.settings.providers),
            intra_op_threads=self.settings.intra_op_threads,
            label=version.ref,
        )
        return Predictor(version, session)

    def check(self, name: str, ref: int | str | None = None) -> tuple[VersionInfo, ParityReport]:
        """Re-run the version's test data set through onnxruntime here; same figures as publish."""
        from hub.export.parity import ParityReport, compare_outputs, unpack_test_data

        predictor = self.open(name, ref)
        feeds, expected = unpack_test_data(self.test_data(predictor.version))
        outputs = predictor.predict(feeds)
        stored = (
            ParityReport.from_json(predictor.version.parity) if predictor.version.parity else None
        )
        tolerance = stored.tolerance if stored else self.tolerance
        labels = tuple(predictor.version.metadata.get("label_outputs", ()))
        return predictor.version, compare_outputs(outputs, expected, labels, tolerance)
