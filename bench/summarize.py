#!/usr/bin/env python3
"""Markdown tables (with the ratios the benchmark is about) from bench/run.sh output.

    python3 bench/summarize.py /tmp/onnxhub-bench/results/<run> [<run> ...]

Reads ``results.jsonl`` in each folder given (several runs are merged: each cell
is the median over the runs that have it, n shown). Targets checked:

* ``onnxhub / HTTP floor`` req/s at c=64 >= 75 %
* c=1 p50 <= HTTP floor c=1 p50 + in-process onnxruntime batch-1 p50 + 0.15 ms
* ``onnxhub / MLServer`` req/s at c=64 >= 7x (against MLServer's best mode, and
  against its default, no adaptive batching)
* binary-tensor 32-row requests: onnxhub rows/s against the in-process
  onnxruntime batch-32 rows/s (reported) and the binary HTTP floor's (>= 70 %, issue 15)
* binary-tensor 256-row requests: onnxhub rows/s >= 50 % of in-process onnxruntime's at
  batch 256 (rows/s at the median call time)
* overload (``body`` "overload": c=512 against a small queue): the accepted requests' p99
  (bucket bound of the server's histogram), the 503 answers and their Retry-After, and the
  accepted req/s against the c=64 JSON figure

The targets are issue 15's (2026-11-30); the sections of RESULTS.md before it used 60 %,
+0.3 ms and 5x.

"srv µs/req" is the server's CPU time (PID and children, from /proc) per
request over the window. On a shared machine the server rarely gets its whole
core, so req/s moves with the neighbours' load; CPU per request moves much less,
and the CPU-normalised ratio (floor µs/req over onnxhub µs/req) says what share
of the floor's throughput onnxhub would reach on an idle core.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

C_TARGET = 64
FLOOR_SHARE_TARGET = 0.75
LATENCY_SLACK_MS = 0.15
MLSERVER_FACTOR_TARGET = 7.0
BIN_FLOOR_TARGET = (32, 0.70)
BIN_ORT_TARGET = (256, 0.50)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f(x, nd=1):
    if x is None:
        return "-"
    if abs(x) >= 10000:
        return f"{x:,.0f}"
    if abs(x) >= 1000:
        return f"{x:,.{min(nd, 1)}f}" if nd else f"{x:,.0f}"
    return f"{x:.{nd}f}"


def pct(x):
    return "-" if x is None else f"{100 * x:.0f} %"


def judged(share, num, den, target, unit=""):
    """``63 % (1,234 / 2,000) **met**``, or ``-`` without a share."""
    if share is None:
        return "-"
    verdict = "**met**" if share >= target else "**missed**"
    return f"{pct(share)} ({f(num, 0)} / {f(den, 0)}{unit}) {verdict}"


def ratio(a, b):
    return a / b if a is not None and b else None


def load(dirs):
    serve = defaultdict(list)  # (server, model, body, batch, conc) -> [records]
    ort = defaultdict(list)  # (model, batch) -> [records]
    metas = []
    for d in dirs:
        p = Path(d) / "results.jsonl"
        if not p.exists():
            print(f"<!-- no {p} -->")
            continue
        for line in p.read_text().splitlines():
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if r.get("kind") == "meta":
                metas.append(r)
            elif r.get("kind") == "ort_floor":
                ort[(r["model"], r["batch"])].append(r)
            elif "concurrency" in r:
                lab = dict(kv.split("=", 1) for kv in r.get("label", "").split() if "=" in kv)
                key = (
                    lab.get("server"),
                    lab.get("model"),
                    r.get("body", "json"),
                    r.get("batch", 1),
                    r["concurrency"],
                )
                serve[key].append(r)
    return serve, ort, metas


def cell(serve, server, model, conc, body="json", batch=1):
    rs = serve.get((server, model, body, batch, conc))
    if not rs:
        return None
    return {
        "rps": med([r["rps"] for r in rs]),
        "rows": med([r["rows_per_s"] for r in rs]),
        "p50": med([r["p50_ms"] for r in rs]),
        "p99": med([r["p99_ms"] for r in rs]),
        "cpu": med([r.get("server_cpu_pct") for r in rs]),
        # server CPU per request (µs): robust to how much of its core the server got
        "us": med(
            [
                1e4 * r["server_cpu_pct"] / r["rps"]
                for r in rs
                if r.get("server_cpu_pct") and r.get("rps")
            ]
        ),
        "errors": sum(r.get("errors", 0) for r in rs),
        "n": len(rs),
        "gen": rs[0].get("generator", "?").split("/")[0],
    }


def g(c, k):
    return None if c is None else c[k]


def main() -> None:
    dirs = sys.argv[1:]
    if not dirs:
        sys.exit(__doc__)
    serve, ort, metas = load(dirs)
    models = []
    for key in list(serve) + [(None, m) for m, _ in ort]:
        m = key[1]
        if m and m not in models:
            models.append(m)
    order = {"lr": 0, "rf": 1, "mlp": 2}
    models.sort(key=lambda m: order.get(m, 9))
    concs = sorted({k[4] for k in serve if k[2] == "json"})
    ml_modes = sorted({k[0] for k in serve if k[0] and k[0].startswith("mlserver")})

    def ort_p50_ms(m, b):
        rs = ort.get((m, b))
        return med([r["p50_us"] for r in rs]) / 1000 if rs else None

    def ort_rows_p50(m, b):
        # rows/s if every call took the median time: robust to the neighbours' preemptions,
        # which stretch the mean (and calls/s) but rarely the median
        p50 = ort_p50_ms(m, b)
        return b / (p50 / 1000) if p50 else None

    def ml_best(m, c):
        best = None
        for mode in ml_modes:
            x = cell(serve, mode, m, c)
            if x and (best is None or x["rps"] > best[1]["rps"]):
                best = (mode.removeprefix("mlserver-"), x)
        return best

    # -- targets -------------------------------------------------------------------------------
    print("### Targets\n")
    print(
        f"| model | onnxhub / HTTP floor req/s, c={C_TARGET} (>= {pct(FLOOR_SHARE_TARGET)}) "
        f"| c=1 p50 ms: onnxhub vs budget = floor p50 + ORT b=1 p50 + {LATENCY_SLACK_MS} "
        f"| onnxhub / MLServer best req/s, c={C_TARGET} (>= {MLSERVER_FACTOR_TARGET:.0f}x) "
        f"| onnxhub / MLServer nobatch, c={C_TARGET} "
        f"| CPU-normalised, c={C_TARGET}: floor µs/req / onnxhub µs/req |"
    )
    print("|---|---|---|---|---|---|")
    for m in models:
        hub64, fl64 = cell(serve, "onnxhub", m, C_TARGET), cell(serve, "http_floor", m, C_TARGET)
        share = ratio(g(hub64, "rps"), g(fl64, "rps"))
        s_share = judged(share, g(hub64, "rps"), g(fl64, "rps"), FLOOR_SHARE_TARGET)
        hub1, fl1, o1 = (
            cell(serve, "onnxhub", m, 1),
            cell(serve, "http_floor", m, 1),
            ort_p50_ms(m, 1),
        )
        if hub1 and fl1 and o1 is not None:
            budget = fl1["p50"] + o1 + LATENCY_SLACK_MS
            s_lat = (
                f"{hub1['p50']:.3f} vs {budget:.3f} ({fl1['p50']:.3f} + {o1:.3f} + {LATENCY_SLACK_MS}) "
                + ("**met**" if hub1["p50"] <= budget else "**missed**")
            )
        else:
            s_lat = "-"
        best = ml_best(m, C_TARGET)
        fac = ratio(g(hub64, "rps"), best[1]["rps"]) if best else None
        s_ml = (
            "-"
            if fac is None
            else f"{fac:.1f}x (vs {f(best[1]['rps'], 0)}, {best[0]}) "
            + ("**met**" if fac >= MLSERVER_FACTOR_TARGET else "**missed**")
        )
        nob = cell(serve, "mlserver-nobatch", m, C_TARGET)
        fac2 = ratio(g(hub64, "rps"), g(nob, "rps"))
        s_ml2 = "-" if fac2 is None else f"{fac2:.1f}x (vs {f(nob['rps'], 0)})"
        norm = ratio(g(fl64, "us"), g(hub64, "us"))
        s_norm = (
            "-"
            if norm is None
            else f"{pct(norm)} ({f(g(fl64, 'us'), 0)} / {f(g(hub64, 'us'), 0)} µs)"
        )
        print(f"| {m} | {s_share} | {s_lat} | {s_ml} | {s_ml2} | {s_norm} |")

    # -- binary targets ------------------------------------------------------------------------
    bin_conc = sorted({k[4] for k in serve if k[2] == "binary"})
    if bin_conc:
        bc = bin_conc[0]
        (fb, ftarget), (ob, otarget) = BIN_FLOOR_TARGET, BIN_ORT_TARGET
        print(
            f"\n| model | {fb}-row binary c={bc}: onnxhub / floor rows/s (>= {pct(ftarget)}) "
            f"| same, CPU-normalised (floor µs/req / onnxhub µs/req) "
            f"| {ob}-row binary c={bc}: onnxhub / ORT batch {ob} rows/s at p50 (>= {pct(otarget)}) |"
        )
        print("|---|---|---|---|")
        for m in models:
            h = cell(serve, "onnxhub", m, bc, "binary", fb)
            fl = cell(serve, "http_floor", m, bc, "binary", fb)
            share = ratio(g(h, "rows"), g(fl, "rows"))
            norm = ratio(g(fl, "us"), g(h, "us"))
            s_fl = judged(share, g(h, "rows"), g(fl, "rows"), ftarget)
            s_norm = judged(norm, g(fl, "us"), g(h, "us"), ftarget, " µs")
            h2 = cell(serve, "onnxhub", m, bc, "binary", ob)
            o2 = ort_rows_p50(m, ob)
            share2 = ratio(g(h2, "rows"), o2)
            s_ort = judged(share2, g(h2, "rows"), o2, otarget)
            print(f"| {m} | {s_fl} | {s_norm} | {s_ort} |")

    # -- overload ------------------------------------------------------------------------------
    overload = {k: v for k, v in serve.items() if k[2] == "overload"}
    if overload:
        print("\n### Overload (one-row JSON, many connections against a small queue)\n")
        print(
            "| model | conc | answers/s | accepted req/s | accepted / c=64 JSON req/s "
            "| accepted p99 <= ms (server histogram) | wrk p99 ms (all answers) | 503 | "
            "503 with Retry-After | other errors | n |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for (_, m, _, _, c), rs in sorted(overload.items(), key=lambda kv: order.get(kv[0][1], 9)):
            acc = med([r.get("accepted_rps") for r in rs])
            base = g(cell(serve, "onnxhub", m, C_TARGET), "rps")
            n503 = sum(r.get("status_503") or 0 for r in rs)
            other = sum((r.get("errors") or 0) - (r.get("status_503") or 0) for r in rs)
            print(
                f"| {m} | {c} | {f(med([r['rps'] for r in rs]))} | {f(acc)} | {pct(ratio(acc, base))} "
                f"| {f(med([r.get('accepted_p99_ms_le') for r in rs]), 1)} "
                f"| {f(med([r['p99_ms'] for r in rs]), 1)} | {n503:,} "
                f"| {sum(r.get('retry_after') or 0 for r in rs):,} | {other:,} | {len(rs)} |"
            )

    # -- JSON [1, F] requests ------------------------------------------------------------------
    print("\n### JSON requests, one row each (req/s = rows/s)\n")
    print(
        "| model | conc | onnxhub req/s | p50 ms | p99 ms | srv CPU % | srv µs/req | HTTP floor req/s | p50 ms "
        "| p99 ms | srv CPU % | srv µs/req | onnxhub / floor | MLServer best req/s (mode) | p50 ms | p99 ms "
        "| srv µs/req | onnxhub / MLServer | n |"
    )
    print(
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for m in models:
        for c in concs:
            h, fl, best = (
                cell(serve, "onnxhub", m, c),
                cell(serve, "http_floor", m, c),
                ml_best(m, c),
            )
            ml = best[1] if best else None
            n = max([x["n"] for x in (h, fl, ml) if x] or [0])
            fx = "-" if not (h and ml) else f"{h['rps'] / ml['rps']:.1f}x"
            print(
                f"| {m} | {c} | {f(g(h, 'rps'))} | {f(g(h, 'p50'), 3)} | {f(g(h, 'p99'), 3)} | {f(g(h, 'cpu'))} "
                f"| {f(g(h, 'us'), 0)} | {f(g(fl, 'rps'))} | {f(g(fl, 'p50'), 3)} | {f(g(fl, 'p99'), 3)} "
                f"| {f(g(fl, 'cpu'))} | {f(g(fl, 'us'), 0)} | {pct(ratio(g(h, 'rps'), g(fl, 'rps')))} "
                f"| {f(g(ml, 'rps'))}{'' if not best else ' (' + best[0] + ')'} | {f(g(ml, 'p50'), 2)} "
                f"| {f(g(ml, 'p99'), 2)} | {f(g(ml, 'us'), 0)} | {fx} | {n} |"
            )

    # -- binary 32-row requests ----------------------------------------------------------------
    bins = sorted({(k[3], k[4]) for k in serve if k[2] == "binary"})
    if bins:
        print("\n### Binary-tensor requests (JSON header + raw FP32 bytes, binary outputs)\n")
        print(
            "| model | rows/req | conc | onnxhub req/s | rows/s | p50 ms | p99 ms | srv CPU % | srv µs/req "
            "| HTTP floor rows/s | srv CPU % | srv µs/req | onnxhub / floor | ORT in-process rows/s (same batch) "
            "| onnxhub / ORT | ORT rows/s at p50 | onnxhub / ORT at p50 | n |"
        )
        print(
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )
        for m in models:
            for b, c in bins:
                h = cell(serve, "onnxhub", m, c, "binary", b)
                fl = cell(serve, "http_floor", m, c, "binary", b)
                o = ort.get((m, b))
                orows = med([r["rows_per_s"] for r in o]) if o else None
                n = max([x["n"] for x in (h, fl) if x] or [0])
                print(
                    f"| {m} | {b} | {c} | {f(g(h, 'rps'))} | {f(g(h, 'rows'), 0)} | {f(g(h, 'p50'), 3)} "
                    f"| {f(g(h, 'p99'), 3)} | {f(g(h, 'cpu'))} | {f(g(h, 'us'), 0)} | {f(g(fl, 'rows'), 0)} "
                    f"| {f(g(fl, 'cpu'))} | {f(g(fl, 'us'), 0)} "
                    f"| {pct(ratio(g(h, 'rows'), g(fl, 'rows')))} | {f(orows, 0)} "
                    f"| {pct(ratio(g(h, 'rows'), orows))} | {f(ort_rows_p50(m, b), 0)} "
                    f"| {pct(ratio(g(h, 'rows'), ort_rows_p50(m, b)))} | {n} |"
                )

    # -- in-process floor ----------------------------------------------------------------------
    if ort:
        print("\n### In-process onnxruntime floor (server core, one thread)\n")
        print(
            "| model | batch | calls/s | rows/s | p50 µs | p99 µs | rows/s at p50 (batch / p50) | n |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for m, b in sorted(ort, key=lambda k: (order.get(k[0], 9), k[1])):
            rs = ort[(m, b)]
            print(
                f"| {m} | {b} | {f(med([r['calls_per_s'] for r in rs]), 0)} | {f(med([r['rows_per_s'] for r in rs]), 0)} "
                f"| {f(med([r['p50_us'] for r in rs]))} | {f(med([r['p99_us'] for r in rs]))} "
                f"| {f(ort_rows_p50(m, b), 0)} | {len(rs)} |"
            )

    # -- every served cell ---------------------------------------------------------------------
    print("\n### Every served cell\n")
    print(
        "| server | model | body | rows/req | conc | req/s | rows/s | p50 ms | p99 ms | errors | srv CPU % "
        "| srv µs/req | generator | n |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    sorder = {"onnxhub": 0, "http_floor": 1, "mlserver-nobatch": 2, "mlserver-batch": 3}
    for key in sorted(
        serve, key=lambda k: (order.get(k[1], 9), sorder.get(k[0], 9), k[2], k[3], k[4])
    ):
        server, m, body, b, c = key
        x = cell(serve, server, m, c, body, b)
        print(
            f"| {server} | {m} | {body} | {b} | {c} | {f(x['rps'])} | {f(x['rows'], 0)} | {f(x['p50'], 3)} "
            f"| {f(x['p99'], 3)} | {x['errors']} | {f(x['cpu'])} | {f(x['us'], 0)} | {x['gen']} | {x['n']} |"
        )

    if metas:
        print("\n<details><summary>load average before each leg</summary>\n")
        for r in metas:
            print(f"- {r['utc']} {r['leg']}: {' '.join(r['loadavg'])}")
        print("\n</details>")


if __name__ == "__main__":
    main()
