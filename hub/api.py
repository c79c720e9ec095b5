"""The hub's Python API: publish, open, browse; the one transaction owner of the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from hub.catalog import file_queries, queries
from hub.catalog.artifacts import open_store
from hub.catalog.db import Database
from hub.catalog.manifest import Manifest
from hub.catalog.model_files import download, materialise, store_checked_files
from hub.catalog.records import EventInfo, ModelInfo, VersionInfo
from hub.errors import InvalidInput, ParityFailed
from hub.export.cards import ModelCard, parse_card
from hub.export.convert import CheckedExport, convert_and_check
from hub.export.parity import ParityReport, Tolerance, compare_outputs, unpack_test_data
from hub.families.registry import FamilyRegistry, get_plugin_manager
from hub.families.types import SampleData
from hub.onnx.predictor import Predictor
from hub.onnx.sessions import make_session
from hub.settings import ServingOptions, Settings


def _card_from(card: str | Path | ModelCard | None) -> ModelCard:
    if card is None:
        return ModelCard()
    if isinstance(card, ModelCard):
        return card
    if isinstance(card, Path):
        try:
            return parse_card(card.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidInput(f"cannot read model card {str(card)!r}: {exc.strerror}") from None
    return parse_card(card)


class Hub:
    """A hub over one catalog database and one artifact store, built from :class:`Settings`."""

    def __init__(self, settings: Settings | None = None, registry: FamilyRegistry | None = None):
        self.settings = settings or Settings.from_env()
        self.db = Database(self.settings.database_url)
        self.artifacts = open_store(self.settings.artifacts, self.settings.home / "artifact-cache")
        self._registry = registry

    @property
    def registry(self) -> FamilyRegistry:
        """The family plugins, discovered on first use (serving never needs them)."""
        if self._registry is None:
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
        sample: SampleData,
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
        """
        queries.check_model_name(name)
        if alias is not None:
            queries.check_alias_name(alias)
        tags = [queries.check_tag(t) for t in tags]
        parsed_card = _card_from(card)
        serving = parsed_card.metadata.get("serving")
        if serving is not None:  # checked before the (slow) export: fail fast, write nothing
            serving = ServingOptions.decode(serving, "card front matter 'serving'")
        checked = self.export(
            model_or_path, sample, family=family, tolerance=tolerance, opset=opset
        )
        if not checked.report.passed and not allow_parity_failure:
            if checked.files is not None:
                checked.files.cleanup()
            raise ParityFailed(
                f"parity check failed for {name!r}; nothing was published "
                f"(override with --allow-parity-failure)\n{checked.report.summary()}",
                checked.report,
            )
        defaults = checked.card_defaults
        resolved_task = task or parsed_card.task or checked.exported.task or defaults.get("task")
        all_tags = [*tags, *parsed_card.tags, *[str(t) for t in defaults.get("tags", [])]]
        created: list[str] = []
        try:
            # Every file streamed into the store (graph, then external data): the manifest.
            manifest = store_checked_files(
                self.artifacts, checked.model_bytes, checked.files, created
            )
            model_sha = manifest.graph.sha256
            data_sha, new = self.artifacts.put(checked.test_data)
            if new:
                created.append(data_sha)
            extra: dict[str, Any] = {
                "library": defaults.get("library", checked.framework),
                "label_outputs": list(checked.exported.label_outputs),
                **checked.exported.metadata,
            }
            if checked.exported.latent_input:
                extra["latent_input"] = checked.exported.latent_input
            if serving is not None:
                extra["serving"] = serving.as_dict()

            def write(session):  # type: ignore[no-untyped-def]
                model = queries.upsert_model(
                    session,
                    name,
                    self.settings.owner,
                    task=resolved_task,
                    license=license or parsed_card.license,
                    description=parsed_card.description,
                    card=parsed_card.render() or None,
                    tags=all_tags,
                )
                version = queries.add_version(
                    session,
                    model,
                    family=checked.family,
                    framework=checked.framework,
                    framework_version=checked.exported.framework_version,
                    opset=checked.opset,
                    ir_version=checked.ir_version,
                    inputs=[t.to_json() for t in checked.inputs],
                    outputs=[t.to_json() for t in checked.outputs],
                    sha256=model_sha,
                    size=manifest.total_size,
                    parity=checked.report.to_json(),
                    test_data_sha256=data_sha,
                    task=resolved_task,
                    extra=extra,
                )
                file_queries.add_version_files(session, version, manifest)
                if alias is not None:
                    queries.set_alias(session, model, alias, version.number)
                session.flush()
                session.expire(model, ["aliases"])
                model = queries.require_model(session, name)
                return queries.version_info(model, version)

            return self.db.transaction(write)
        except BaseException:
            self._drop_unreferenced(created)
            raise
        finally:
            if checked.files is not None:
                checked.files.cleanup()

    def _drop_unreferenced(self, digests: list[str]) -> None:
        if not digests:
            return
        try:
            with self.db.session() as session:
                for digest in digests:
                    if not queries.blob_in_use(session, digest):
                        self.artifacts.delete(digest)
        except Exception:  # the catalog itself is what failed; the blobs are unreferenced
            for digest in digests:
                self.artifacts.delete(digest)

    # -- reading ---------------------------------------------------------------------------
    def get_model(self, name: str) -> ModelInfo:
        """The model ``name`` (NotFound if unknown)."""
        with self.db.session() as session:
            return queries.model_info(queries.require_model(session, name))

    def list_models(
        self, search: str | None = None, task: str | None = None, tag: str | None = None
    ) -> list[ModelInfo]:
        """Models matching a search string, task and tag."""
        with self.db.session() as session:
            return [queries.model_info(m) for m in queries.list_models(session, search, task, tag)]

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
        number = queries.parse_ref(version)
        if not isinstance(number, int):
            raise InvalidInput(f"an alias points at a version number, not {version!r}")

        def write(session):  # type: ignore[no-untyped-def]
            model = queries.require_model(session, name, for_update=True)
            queries.set_alias(session, model, alias, number)
            return name

        self.db.transaction(write)
        return self.get_version(name, alias)

    def delete_alias(self, name: str, alias: str) -> None:
        def write(session):  # type: ignore[no-untyped-def]
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

    def model_source(self, version: VersionInfo) -> bytes | Path:
        """What a session is built from: the verified ONNX bytes of a one-file version, or the
        graph's path in a verified local folder (:meth:`materialise`) when it has data files."""
        if self.manifest(version).data:
            return self.materialise(version)
        return self.model_bytes(version)

    def manifest(self, version: VersionInfo) -> Manifest:
        """The files of ``version`` (path, size, sha256, role), graph first; ``to_json()`` is
        what the catalog API returns."""
        with self.db.session() as session:
            return file_queries.manifest_of(session, version.model, version.version)

    def materialise(self, version: VersionInfo) -> Path:
        """The path of ``version``'s graph in a local folder holding all its files (hard links
        to the store where possible), each verified against the manifest: what onnxruntime
        loads, so that it memory-maps external weights. StorageError names a bad file."""
        return materialise(
            self.artifacts,
            self.manifest(version),
            self.settings.home / "cache" / "versions",
            version.ref,
        )

    def download_files(self, version: VersionInfo, folder: Path) -> list[Path]:
        """Copy ``version``'s graph and data files into ``folder`` (streamed, each sha256
        verified); the paths written, graph first."""
        return download(self.artifacts, self.manifest(version), folder, version.ref)

    def prune_local_folders(self) -> list[Path]:
        """Remove local version folders (:meth:`materialise`) that no live version needs; run
        it with ``onnxhub gc``, whose collected blobs they would otherwise keep on disk. A
        server that still maps a removed folder keeps its open files until it unloads."""
        from hub.catalog.model_files import prune

        with self.db.session() as session:
            keep = {m.digest for m in file_queries.live_manifests(session)}
        return prune(self.settings.home / "cache" / "versions", keep)

    def open(self, name: str, ref: int | str | None = None) -> Predictor:
        """A ready onnxruntime predictor for ``name`` at ``ref``."""
        from hub.onnx.providers import choose_providers

        version = self.get_version(name, ref)
        source = self.model_source(version)
        session = make_session(
            source,
            providers=choose_providers(self.settings.providers),
            intra_op_threads=self.settings.intra_op_threads,
            label=version.ref,
            map_weights=isinstance(source, Path),
        )
        return Predictor(version, session)

    def check(self, name: str, ref: int | str | None = None) -> tuple[VersionInfo, ParityReport]:
        """Re-run the version's test data set through onnxruntime here; same figures as publish."""
        predictor = self.open(name, ref)
        feeds, expected = unpack_test_data(self.test_data(predictor.version))
        outputs = predictor.predict(feeds)
        stored = (
            ParityReport.from_json(predictor.version.parity) if predictor.version.parity else None
        )
        tolerance = stored.tolerance if stored else self.tolerance
        labels = tuple(predictor.version.metadata.get("label_outputs", ()))
        return predictor.version, compare_outputs(outputs, expected, labels, tolerance)
