"""``/metrics`` across the workers of ``onnxhub serve --workers N``.

Each worker keeps its own metrics (:class:`hub.server.metrics.ServerMetrics`) and writes
them, once a second and at shutdown, to ``<folder>/worker-<i>.prom`` in the folder its
supervisor gave it. Whichever worker a scrape reaches answers every worker's series, each
labelled ``worker="<i>"`` (its own read live, the others' from their files, at most a second
old). Sum them over workers in PromQL, e.g.::

    sum without (worker) (rate(onnxhub_inference_requests_total[1m]))
    histogram_quantile(0.99, sum without (worker) (rate(onnxhub_inference_latency_seconds_bucket[1m])))

A single-process server answers its own metrics unchanged, without the label.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from hub.server.keys import METRICS

#: Seconds between a worker's writes of its metrics file.
EXPORT_INTERVAL = 1.0


class WorkerMetrics:
    """One worker's side: export its own text, aggregate everyone's on a scrape."""

    def __init__(self, directory: Path | str, index: int, render: Callable[[], bytes]) -> None:
        self.directory = Path(directory)
        self.index = index
        self._render = render
        self.path = self.directory / f"worker-{index}.prom"

    def export(self) -> None:
        """Write this worker's metrics (atomically: a scrape never reads half a file)."""
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        partial.write_bytes(self._render())
        os.replace(partial, self.path)

    def texts(self) -> dict[int, str]:
        """Every worker's metrics text by index: this one's live, the others' from files."""
        found = {self.index: self._render().decode("utf-8")}
        for path in sorted(self.directory.glob("worker-*.prom")):
            try:
                index = int(path.stem.split("-", 1)[1])
            except ValueError:
                continue
            if index != self.index:
                with contextlib.suppress(OSError):  # a worker restarting meanwhile
                    found[index] = path.read_text("utf-8")
        return found

    def aggregate(self) -> bytes:
        """One Prometheus text with every worker's series labelled ``worker``."""
        return merge(self.texts())


class _Families:
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def merge(texts: dict[int, str]) -> bytes:
    """The families of ``texts`` (worker index -> Prometheus text) merged into one text,
    each sample labelled ``worker``; a family keeps the help and type of its first worker."""
    merged: dict[str, Metric] = {}
    for index in sorted(texts):
        for family in text_string_to_metric_families(texts[index]):
            target = merged.get(family.name)
            if target is None:
                target = merged[family.name] = Metric(
                    family.name, family.documentation, family.type, family.unit
                )
            worker = str(index)
            for sample in family.samples:
                labels = {**sample.labels, "worker": worker}
                target.samples.append(
                    Sample(sample.name, labels, sample.value, sample.timestamp, sample.exemplar)
                )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(merged.values()))
    return generate_latest(registry)


WORKER_METRICS = web.AppKey("worker_metrics", WorkerMetrics)


def install(app: web.Application, directory: Path | str, index: int) -> None:
    """Make ``app`` worker ``index`` of a multi-process server sharing ``directory``."""
    app[WORKER_METRICS] = WorkerMetrics(directory, index, app[METRICS].render)
    app.cleanup_ctx.append(_export_context)


async def _export_context(app: web.Application) -> AsyncIterator[None]:
    worker = app[WORKER_METRICS]

    async def export_forever() -> None:
        while True:
            with contextlib.suppress(OSError):
                worker.export()
            await asyncio.sleep(EXPORT_INTERVAL)

    task = asyncio.get_running_loop().create_task(export_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(OSError):
            worker.export()  # the final counts stay visible to the other workers


def render_metrics(app: web.Application) -> bytes:
    """What ``/metrics`` answers: every worker's series, or this server's own."""
    worker = app.get(WORKER_METRICS)
    if worker is None:
        return app[METRICS].render()
    return worker.aggregate()
