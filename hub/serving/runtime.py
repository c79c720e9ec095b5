"""The data plane: resolve a model reference, check the inputs, run through the batcher.

It knows nothing of HTTP. Blocking catalog calls (SQLAlchemy) run on a small executor of their
own; onnxruntime runs on each model's executor. References (``None``, an alias, a version
number) are resolved once and cached; catalog events re-resolve the cached references of the
model they name and swap the new version in only once it is loaded and warm.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from hub.catalog.records import EventInfo, VersionInfo
from hub.catalog.refs import parse_ref
from hub.errors import InvalidInput, ModelFault, NotFound, Unavailable
from hub.families.generation import draw_latent
from hub.onnx import feeds as onnx_feeds
from hub.onnx.providers import choose_providers
from hub.serving.residency import ModelResidency, Resident
from hub.serving.sessions import EffectiveServingOptions, LoadedModel

log = logging.getLogger(__name__)

Ref = int | str | None
#: Catalog events that can change what a reference points at.
ROUTING_EVENTS = frozenset({"version.published", "alias.set", "alias.deleted", "version.deleted"})
MAX_GENERATED_SAMPLES = 4096
#: Bound of the reference cache; its keys come from clients (only resolved ones are kept).
MAX_ROUTES = 4096


def normalize_ref(ref: int | str | None) -> Ref:
    """The canonical form of a client's version reference, before anything is cached.

    ``None`` / ``""``: the default version; ASCII digits within the catalog's integer range:
    that version number (``"03"`` is 3); anything else must be a valid alias name. Spellings
    such as ``" 1"`` or ``"1\t"`` are refused (InvalidInput, 400), never cached apart.
    """
    if ref is None or ref == "":
        return None
    return parse_ref(ref)  # the one reference parser of every entry point


@dataclass
class InferenceResult:
    """Outputs of one request, in the order asked for."""

    info: VersionInfo
    names: list[str]
    arrays: list[np.ndarray]
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelMetadata:
    info: VersionInfo
    versions: list[int]
    providers: list[str] | None
    ready: bool


class InferenceRuntime:
    """Serves every catalogued model of ``hub`` (see :class:`hub.api.Hub`)."""

    def __init__(
        self,
        hub: Any,
        settings: Any,
        *,
        notify: Callable[[dict], None] | None = None,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        self.hub = hub
        self.settings = settings
        self._notify = notify or (lambda event: None)
        self._catalog = ThreadPoolExecutor(max_workers=4, thread_name_prefix="onnxhub-catalog")
        self._loader = ThreadPoolExecutor(max_workers=2, thread_name_prefix="onnxhub-load")
        self.providers: list[str] = ["CPUExecutionProvider"]
        self._routes: OrderedDict[tuple[str, Ref], VersionInfo] = OrderedDict()
        self._drain_timer: asyncio.TimerHandle | None = None
        self._unloaded: set[str] = set()
        self._swap_lock = asyncio.Lock()
        self.residency = ModelResidency(
            # The model's verified local file (its folder with external data): called on the
            # loader threads, as verifying and laying files out may hash gigabytes.
            fetch=lambda info: hub.model_source(info),
            loader=self._loader,
            providers=lambda: self.providers,
            intra_op_threads=settings.intra_op_threads,
            defaults=EffectiveServingOptions.from_settings(settings),
            max_loaded_bytes=settings.max_loaded_bytes,
            max_loaded_models=settings.max_loaded_models,
            notify=self._notify,
            on_batch=on_batch,
            model_options=settings.model_options,
            warmup_timeout=settings.warmup_timeout,
            drain_timeout=settings.drain_timeout,
            inline_runs=settings.inline_runs == "auto",
        )

    async def call(self, fn: Callable, *args: Any) -> Any:
        """Run a blocking catalog call off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._catalog, fn, *args)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.providers = await loop.run_in_executor(
            self._loader, choose_providers, self.settings.providers
        )
        log.info("execution providers: %s", ", ".join(self.providers))

    def begin_drain(self) -> None:
        """Shutdown has begun: runs still in flight after the drain deadline are terminated."""
        if self._drain_timer is not None:
            return
        timeout = self.settings.drain_timeout
        self.residency.drain_timeout = 0.0  # the deadline below is the only wait left
        self._drain_timer = asyncio.get_running_loop().call_later(
            timeout, self.residency.terminate_all, "the server is shutting down"
        )

    async def close(self) -> None:
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        await self.residency.close()
        self._catalog.shutdown(wait=False)
        self._loader.shutdown(wait=False)

    # -- resolution -------------------------------------------------------------------------

    async def resolve(self, model: str, ref: Ref) -> VersionInfo:
        """The version ``ref`` names now (cached; kept fresh by catalog events)."""
        key = (model, normalize_ref(ref))
        info = self._routes.get(key)
        if info is None:
            info = await self.call(self.hub.get_version, model, key[1])
            self._remember(key, info)
        return info

    def _remember(self, key: tuple[str, Ref], info: VersionInfo) -> None:
        """Cache ``key`` -> ``info``, dropping the oldest entries beyond :data:`MAX_ROUTES`."""
        self._routes[key] = info
        while len(self._routes) > MAX_ROUTES:
            self._routes.popitem(last=False)

    async def _resident(self, model: str, ref: Ref) -> Resident:
        if model in self._unloaded:
            raise Unavailable(
                f"model {model!r} is unloaded; load it with POST /v2/repository/models/{model}/load"
            )
        info = self._routes.get((model, ref))  # only canonical references are ever keys
        if info is None:
            info = await self.resolve(model, ref)
        resident = self.residency.get_nowait((info.model, info.version))
        if resident is None:
            resident = await self.residency.get(info)
        return resident

    # -- inference --------------------------------------------------------------------------

    def admit(self, model: str, ref: Ref) -> None:
        """Unavailable (503 with Retry-After) at once when the model is loaded and its queue is
        full, before the caller reads and decodes a request; otherwise nothing (:meth:`infer`
        decides: it also loads, resolves and checks the queue again)."""
        info = self._routes.get((model, ref))
        if info is None:
            return
        resident = self.residency.get_nowait((info.model, info.version))
        if resident is not None:
            resident.batcher.check_capacity()

    async def infer(
        self,
        model: str,
        ref: Ref,
        feeds: dict[str, np.ndarray],
        outputs: list[str] | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> InferenceResult:
        """Run one request. ``feeds`` maps input names to arrays already in the declared dtype."""
        resident = await self._resident(model, ref)
        if resident.batcher.closed:  # retired (swapped or evicted) while it was loading
            resident = await self._resident(model, ref)
        loaded = resident.model
        loaded.acquire()
        try:
            extra: dict[str, Any] = {}
            if not feeds and loaded.info.task == "generation" and loaded.info.latent_input:
                feeds, extra = _latent_feeds(loaded, parameters or {})
            check_feeds(loaded, feeds)
            names = outputs or loaded.output_names
            if outputs:
                known = set(loaded.output_names)
                for name in outputs:
                    if name not in known:
                        raise InvalidInput(
                            f"unknown output {name!r} for {loaded.info.ref} "
                            f"(outputs: {', '.join(loaded.output_names)})"
                        )
            arrays = await resident.batcher.submit(feeds, names)
            check_output_rows(loaded, feeds, names, arrays)
        finally:
            loaded.release()
        return InferenceResult(loaded.info, names, arrays, extra)

    # -- metadata and repository ------------------------------------------------------------

    async def metadata(self, model: str, ref: Ref) -> ModelMetadata:
        """Signature, versions and (loading the model if needed) the providers it really got."""
        info = await self.resolve(model, ref)
        versions = await self.call(self._versions, model)
        ready = model not in self._unloaded
        providers = None
        if ready:
            providers = (await self.residency.get(info)).model.providers
        return ModelMetadata(info, versions or [info.version], providers, ready)

    def _versions(self, model: str) -> list[int]:
        for item in self.hub.list_models(search=model):
            if item.name == model:
                return sorted(item.versions)
        return []

    async def is_ready(self, model: str, ref: Ref) -> bool:
        await self.resolve(model, ref)  # NotFound for unknown names
        return model not in self._unloaded

    async def load(self, model: str) -> VersionInfo:
        """Explicit load (repository extension): returns once the served version is warm."""
        info = await self.resolve(model, None)
        self._unloaded.discard(model)
        await self.residency.get(info)
        return info

    async def unload(self, model: str) -> None:
        """Explicit unload: the model is not ready and refuses inference until loaded again."""
        await self.resolve(model, None)
        self._unloaded.add(model)
        self.residency.retire_model(model, reason="unloaded")

    async def index(self) -> list[dict[str, Any]]:
        models = await self.call(self.hub.list_models)
        entries = []
        for item in models:
            version = item.aliases.get("production", item.latest_version)
            unloaded = item.name in self._unloaded
            entries.append(
                {
                    "name": item.name,
                    "version": "" if version is None else str(version),
                    "state": "UNAVAILABLE" if unloaded else "READY",
                    "reason": "unloaded" if unloaded else "",
                }
            )
        return entries

    def snapshot(self) -> list[dict[str, Any]]:
        """Loaded versions with their providers and queue depth (for /metrics), and
        ``loaded_bytes``: what each load measurably cost (resident memory grown across session
        build and warm-up, at least its files), the figure counted against
        ``ONNXHUB_MAX_LOADED_BYTES``."""
        return [
            {
                "model": r.model.info.model,
                "version": r.model.info.version,
                "providers": r.model.providers,
                "queue_depth": r.batcher.queue_depth,
                "in_flight": r.batcher.in_flight,
                "loaded_bytes": r.model.size,
            }
            for r in self.residency.residents()
        ]

    # -- hot swap ---------------------------------------------------------------------------

    async def on_catalog_event(self, event: EventInfo) -> None:
        """Re-resolve the cached references of ``event.model``; load, warm, then swap."""
        if event.kind not in ROUTING_EVENTS:
            return
        async with self._swap_lock:
            deleted = (event.model, event.version) if event.kind == "version.deleted" else None
            if deleted is not None:
                self._routes.pop(deleted, None)
            for key in [
                k for k in self._routes if k[0] == event.model and not isinstance(k[1], int)
            ]:
                await self._reroute(key)
            if deleted is not None and deleted[1] is not None:
                self.residency.retire(deleted, reason="version deleted")  # type: ignore[arg-type]

    async def _reroute(self, key: tuple[str, Ref]) -> None:
        old = self._routes.get(key)
        try:
            new = await self.call(self.hub.get_version, key[0], key[1])
        except NotFound:
            self._routes.pop(key, None)
            return
        if old is None or key not in self._routes:
            # dropped from the cache before or during the lookup: re-adding it here would grow
            # the cache past MAX_ROUTES, and the next request resolves it afresh anyway
            return
        if new.version == old.version:
            self._routes[key] = new
            return
        old_key = (old.model, old.version)
        if self.residency.is_resident(old_key) and key[0] not in self._unloaded:
            await self.residency.get(new)  # load and warm before anyone is routed to it
        self._remember(key, new)
        log.info(
            "%s%s now serves version %d (was %d)",
            key[0],
            "" if key[1] is None else f"@{key[1]}",
            new.version,
            old.version,
        )
        self._notify(
            {
                "kind": "model.swapped",
                "model": key[0],
                "ref": key[1],
                "from_version": old.version,
                "to_version": new.version,
            }
        )
        if not any((i.model, i.version) == old_key for i in self._routes.values()):
            self.residency.retire(old_key, reason=f"replaced by version {new.version}")


def check_feeds(loaded: LoadedModel, feeds: dict[str, np.ndarray]) -> None:
    """400 for unknown or missing inputs, a wrong datatype, or a shape the graph cannot take.

    Feeds that match the slots exactly pass a quick check; anything else goes through the full
    check, which accepts what else fits (strings for BYTES) and words the error.
    """
    inputs = loaded.inputs
    if len(feeds) == len(inputs):
        for name, array in feeds.items():
            slot = inputs.get(name)
            if (
                slot is None
                or array.dtype != slot.dtype
                or not onnx_feeds.shape_fits(slot.shape, array.shape)
            ):
                break
        else:
            return
    onnx_feeds.check_feeds(inputs, feeds, label=loaded.info.ref)


def check_output_rows(
    loaded: LoadedModel, feeds: dict[str, np.ndarray], names: list[str], arrays: list[np.ndarray]
) -> None:
    """ModelFault (500, naming the model) when a model whose inputs all have a dynamic batch
    dimension answers an output whose first dimension is not the request's rows: never wrong
    rows with 200."""
    if not feeds or not loaded.dynamic_batch_inputs:
        return
    count = -1
    for feed in feeds.values():
        if feed.ndim:
            if count < 0:
                count = feed.shape[0]
            elif feed.shape[0] != count:
                return
    if count < 0:
        return
    for name, array in zip(names, arrays):
        # a ZipMap output is a list of dicts, not an array
        shape = array.shape if isinstance(array, np.ndarray) else np.shape(array)
        if not shape or shape[0] != count:
            raise ModelFault(
                f"model {loaded.info.ref} answered output {name!r} with shape {list(shape)} to a "
                f"request of {count} rows, though its batch dimension is dynamic; the model "
                "does not keep one row per input row (republish it: publishing checks this)"
            )


def _int_parameter(parameters: dict[str, Any], name: str, default: int | None) -> int | None:
    value = parameters.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"parameter {name!r} must be an integer, got {value!r}")
    return value


def _latent_feeds(loaded: LoadedModel, parameters: dict[str, Any]) -> tuple[dict, dict]:
    name = loaded.info.latent_input
    slot = loaded.inputs.get(name) if name is not None else None
    if name is None or slot is None or len(slot.shape) != 2 or slot.shape[1] <= 0:
        raise InvalidInput(f"{loaded.info.ref}: latent input {name!r} is not a [n, d] tensor")
    num_samples = _int_parameter(parameters, "num_samples", 1) or 0
    if not 1 <= num_samples <= MAX_GENERATED_SAMPLES:
        raise InvalidInput(f"num_samples must be between 1 and {MAX_GENERATED_SAMPLES}")
    seed = _int_parameter(parameters, "seed", None)
    if seed is None:
        seed = secrets.randbits(32)
    if seed < 0:
        raise InvalidInput("seed must not be negative")
    latent = draw_latent(num_samples, slot.shape[1], seed).astype(slot.dtype, copy=False)
    return {name: latent}, {"seed": seed, "num_samples": num_samples}
