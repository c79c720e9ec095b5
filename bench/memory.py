"""What a loaded model costs in memory against ONNXHUB_MAX_LOADED_BYTES, next to its file size.

    nice -n 19 .venv/bin/python bench/memory.py [--mlp-mb 100] [--repeat 3] [--keep]

1. ``make_models.py --no-onnx`` and ``publish_models.py`` build and publish ``lr``, ``rf`` and
   ``mlp`` into a fresh hub (``ONNXHUB_HOME=<work>/home`` in a new temporary work dir, removed
   at the end unless ``--keep``). ``large_model.py``'s ``write_mlp`` writes a ReLU MLP of
   about ``--mlp-mb`` MB of float32 weights (2048-wide layers, ~25M parameters at 100 MB),
   published twice: ``mlp<MB>`` as one ONNX file and ``mlp<MB>x`` with its weights as external
   data files (``mlp100`` and ``mlp100x`` at the default).
2. Each model is loaded in a fresh Python process, one at a time, through
   ``InferenceRuntime.load`` with ``Settings.from_env()``: the code ``onnxhub serve`` runs on a
   model's first request (fetch, session build, warm-up, inline-run timing). The process reads
   its resident set just before and after, and ``InferenceRuntime.snapshot()``'s
   ``loaded_bytes``: the cost counted against ``ONNXHUB_MAX_LOADED_BYTES``.
   ``--repeat`` rounds of this; per model the table shows the run with the median counted cost.
3. Prints a Markdown table (sizes in MB of 10^6 bytes) for bench/RESULTS.md. "RSS growth" is
   the whole process's across ``load``; where it exceeds the counted cost, the load kept memory
   the budget does not see (the count covers the fetch, build and warm-up on the loader
   thread; what the event loop's side of ``load`` keeps is outside it).

``ONNXHUB_*`` settings in the environment apply (e.g. ``ONNXHUB_INTRA_OP_THREADS``), except the
home and the catalog location: the run never touches a real catalog.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from large_model import proc_status, write_mlp  # noqa: E402  (a sibling script, not a package)

MB = 1e6
BENCH_MODELS = ("lr", "rf", "mlp")


def hub_env(work: Path) -> dict[str, str]:
    """The environment of every step: the temporary hub, never a configured catalog."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ONNXHUB_DATABASE_URL", "ONNXHUB_ARTIFACTS")
    }
    return {**env, "ONNXHUB_HOME": str(work / "home"), "BENCH_WORK": str(work)}


def mlp_names(mlp_mb: float) -> tuple[str, str]:
    """The large MLP's names, one file and external data: ``mlp100``, ``mlp100x`` at 100 MB."""
    name = f"mlp{mlp_mb:g}"
    return name, f"{name}x"


def build(work: Path, mlp_mb: float) -> list[str]:
    """Publish the bench models and the large MLP (one file and external data); their names."""
    env = hub_env(work)
    for script, args in (
        ("make_models.py", ["--out", str(work), "--no-onnx"]),
        ("publish_models.py", ["--work", str(work), "--models", ",".join(BENCH_MODELS)]),
    ):
        subprocess.run(
            [sys.executable, str(BENCH / script), *args],
            check=True,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    import onnx

    from hub.api import Hub
    from hub.settings import Settings

    one_file, with_data = mlp_names(mlp_mb)
    external = work / "src" / with_data
    info = write_mlp(external, int(mlp_mb * MB), width=2048)
    single = work / "src" / one_file / "model.onnx"
    single.parent.mkdir(parents=True)
    onnx.save_model(onnx.load(str(external / "model.onnx")), str(single))  # weights inline
    sample = np.random.default_rng(1).standard_normal((4, info["width"])).astype(np.float32)
    with Hub(Settings.from_env(env)) as hub:
        hub.publish(str(single), name=one_file, sample=sample)
        hub.publish(str(external / "model.onnx"), name=with_data, sample=sample)
    return [*BENCH_MODELS, one_file, with_data]


async def measure(name: str) -> dict[str, Any]:
    """Load ``name`` as ``onnxhub serve`` would; this process's memory around the load."""
    from hub.api import Hub
    from hub.serving.runtime import InferenceRuntime
    from hub.settings import Settings

    settings = Settings.from_env()
    with Hub(settings) as hub:
        version = hub.get_version(name)
        runtime = InferenceRuntime(hub, settings)
        await runtime.start()
        try:
            await runtime.resolve(name, None)  # catalog queries warm before the first reading
            before = proc_status(os.getpid())
            await runtime.load(name)
            after = proc_status(os.getpid())
            [entry] = runtime.snapshot()
        finally:
            await runtime.close()
        files = hub.manifest(version).files
    return {
        "model": name,
        "files": len(files),
        "file_bytes": version.size,
        "cost_bytes": entry["loaded_bytes"],
        "rss_before": before["VmRSS"],
        "rss_after": after["VmRSS"],
        "peak": after["VmHWM"],
        "file_backed_growth": after["RssFile"] - before["RssFile"],
    }


def table(runs: list[list[dict[str, Any]]]) -> str:
    """The Markdown table: per model, the run with the median counted cost (and the range)."""
    lines = [
        "| model | files | ONNX size (MB) | counted cost (MB) [range] | counted / size "
        "| RSS before -> after (MB) | RSS growth / size | file-backed growth (MB) "
        "| peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tries in runs:
        costs = sorted(t["cost_bytes"] for t in tries)
        r = next(t for t in tries if t["cost_bytes"] == costs[len(costs) // 2])
        size, growth = r["file_bytes"], r["rss_after"] - r["rss_before"]
        lines.append(
            f"| {r['model']} | {r['files']} | {size / MB:.3f} "
            f"| {r['cost_bytes'] / MB:.1f} [{costs[0] / MB:.1f}-{costs[-1] / MB:.1f}] "
            f"| {r['cost_bytes'] / size:,.1f}x "
            f"| {r['rss_before'] / MB:.1f} -> {r['rss_after'] / MB:.1f} "
            f"| {growth / size:,.1f}x | {r['file_backed_growth'] / MB:.1f} "
            f"| {r['peak'] / MB:.1f} |"
        )
    return "\n".join(lines)


def header() -> str:
    """Date, commit and library versions of this run."""
    import onnxruntime

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{today}, git {commit or '?'}, onnxruntime {onnxruntime.__version__}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mlp-mb", type=float, default=100.0, help="the large MLP's weights, MB")
    ap.add_argument("--repeat", type=int, default=3, help="loads per model, each in a new process")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # internal: measure one model, print JSON
    args = ap.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child))))
        return

    work = Path(tempfile.mkdtemp(prefix="onnxhub-memory-"))
    try:
        names = build(work, args.mlp_mb)
        runs: list[list[dict[str, Any]]] = [[] for _ in names]
        for _ in range(args.repeat):  # rounds, so a passing neighbour hits every model alike
            for name, tries in zip(names, runs):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", name],
                    check=True,
                    env=hub_env(work),
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                tries.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"measured {name}", file=sys.stderr, flush=True)
        print(f"{header()}, {args.repeat} fresh processes per model")
        print()
        print(table(runs))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
