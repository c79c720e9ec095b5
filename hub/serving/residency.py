"""Which model versions are loaded: lazy loading, least-recently-used eviction under a budget.

The budget is ``max_loaded_bytes`` (counted as what each load really cost: resident memory
measured around the model's fetch, its session's build and warm-up, never less than its files;
see :mod:`hub.serving.memory`) and ``max_loaded_models``. Eviction is invisible to clients: the
next request simply reloads. A retired model stops taking new requests at once and is closed
when its last request finishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Callable, Mapping

from hub.catalog.records import ModelPath, VersionInfo
from hub.errors import InvalidInput
from hub.serving.batching import AdaptiveBatcher
from hub.serving.inline_batching import make_batcher
from hub.serving.memory import resident_bytes
from hub.serving.sessions import EffectiveServingOptions, LoadedModel, load_model
from hub.settings import ServingOptions

log = logging.getLogger(__name__)

Key = tuple[str, int]


@dataclass
class Resident:
    """A loaded model and the batcher in front of it."""

    model: LoadedModel
    batcher: AdaptiveBatcher


class ModelResidency:
    """Loads versions on demand (one load per version however many requests wait for it) and
    keeps the set of loaded versions under the memory budget.

    ``fetch``: a version's model (``Hub.model_source``), called on a ``loader`` thread just
    before its session is built, inside the memory measured as the load's cost.
    """

    def __init__(
        self,
        *,
        fetch: Callable[[VersionInfo], bytes | ModelPath],
        loader: Executor,
        providers: Callable[[], list[str]],
        intra_op_threads: int,
        defaults: EffectiveServingOptions,
        max_loaded_bytes: int,
        max_loaded_models: int,
        notify: Callable[[dict], None],
        on_batch: Callable[[str, int], None] | None = None,
        model_options: Mapping[str, ServingOptions] | None = None,
        warmup_timeout: float = 0.0,
        drain_timeout: float = 30.0,
        inline_runs: bool = False,
    ) -> None:
        self._fetch = fetch
        self._loader = loader
        self._providers = providers
        self._intra_op_threads = intra_op_threads
        self._defaults = defaults
        self._max_bytes = max_loaded_bytes
        self._max_models = max(1, max_loaded_models)
        self._notify = notify
        self._on_batch = on_batch
        self._model_options = model_options or {}
        self._resident: OrderedDict[Key, Resident] = OrderedDict()
        self._warmup_timeout = warmup_timeout
        self.drain_timeout = drain_timeout
        self._inline_runs = inline_runs
        self._loading: dict[Key, asyncio.Task] = {}
        self._closing: set[asyncio.Task] = set()

    def get_nowait(self, key: Key) -> Resident | None:
        """The resident model for ``key`` (marking it recently used), or None."""
        resident = self._resident.get(key)
        if resident is not None:
            self._resident.move_to_end(key)
        return resident

    def is_resident(self, key: Key) -> bool:
        return key in self._resident

    def residents(self) -> list[Resident]:
        return list(self._resident.values())

    @property
    def loaded_bytes(self) -> int:
        return sum(r.model.size for r in self._resident.values())

    async def get(self, info: VersionInfo) -> Resident:
        """The resident model for ``info``, loading and warming it first if needed."""
        key = (info.model, info.version)
        resident = self.get_nowait(key)
        if resident is not None:
            return resident
        task = self._loading.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(info))
            self._loading[key] = task
            task.add_done_callback(lambda _t: self._loading.pop(key, None))
        return await asyncio.shield(task)

    async def _load(self, info: VersionInfo) -> Resident:
        loop = asyncio.get_running_loop()
        # Settings < the version's own metadata["serving"] < ONNXHUB_MODEL_OPTIONS for its name.
        options = self._defaults.override(_card_options(info))
        options = options.override(self._model_options.get(info.model))
        loaded = await loop.run_in_executor(
            self._loader, self._fetch_and_load, info, options, self._providers()
        )
        await loaded.plan_inline_on_loop()
        resident = Resident(loaded, make_batcher(loaded, self._on_batch))
        self._resident[loaded.key] = resident
        log.info(
            "loaded %s on %s (%d bytes, batching %s)",
            info.ref,
            ", ".join(loaded.providers),
            loaded.size,
            "on" if loaded.batchable else "off",
        )
        self._notify(
            {
                "kind": "model.loaded",
                "model": info.model,
                "version": info.version,
                "providers": loaded.providers,
            }
        )
        self._evict(keep=loaded.key)
        return resident

    def _fetch_and_load(
        self, info: VersionInfo, options: EffectiveServingOptions, providers: list[str]
    ) -> LoadedModel:
        """On a loader thread: fetch the model and load it, the resident set read before the
        fetch, so that what fetching keeps (verifying, laying out files) counts in its cost."""
        before = resident_bytes()
        return load_model(
            info,
            self._fetch(info),
            providers,
            self._intra_op_threads,
            options,
            self._warmup_timeout,
            self._inline_runs,
            resident_before=before,
        )

    def _evict(self, keep: Key) -> None:
        while len(self._resident) > 1 and (
            len(self._resident) > self._max_models or self.loaded_bytes > self._max_bytes
        ):
            victim = next(k for k in self._resident if k != keep)
            self.retire(victim, reason="evicted")

    def retire(self, key: Key, reason: str) -> None:
        """Stop routing to ``key``; close it once its in-flight requests have finished."""
        resident = self._resident.pop(key, None)
        if resident is None:
            return
        log.info("unloading %s:%d (%s)", key[0], key[1], reason)
        self._notify(
            {"kind": "model.unloaded", "model": key[0], "version": key[1], "reason": reason}
        )
        task = asyncio.get_running_loop().create_task(
            self._close(resident, self.drain_timeout, reason)
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(resident: Resident, drain_timeout: float, reason: str) -> None:
        """Drain for up to ``drain_timeout`` s, terminate what still runs, then close."""
        await resident.batcher.close(drain_timeout, reason)
        await resident.model.close_when_idle()

    def terminate_all(self, reason: str) -> int:
        """End every run in flight of every loaded model; returns how many."""
        return sum(r.model.terminate_runs(reason) for r in self._resident.values())

    def retire_model(self, name: str, reason: str) -> None:
        for key in [k for k in self._resident if k[0] == name]:
            self.retire(key, reason)

    async def close(self) -> None:
        """Retire everything, wait for in-flight requests to drain, close all sessions."""
        for task in list(self._loading.values()):
            task.cancel()
        for key in list(self._resident):
            self.retire(key, reason="shutdown")
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


def _card_options(info: VersionInfo) -> ServingOptions | None:
    """The version's stored card ``serving:`` block. Publish validates it; a version written
    before that check with a bad block is served with the level below, and says so."""
    stored = (info.metadata or {}).get("serving")
    if stored is None:
        return None
    try:
        return ServingOptions.decode(stored, f"{info.ref}: card 'serving'")
    except InvalidInput as exc:
        log.warning("%s; ignoring the card's serving options", exc.message)
        return None
