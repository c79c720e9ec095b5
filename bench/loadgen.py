#!/usr/bin/env python3
"""Bounded closed-loop load generator for Open Inference Protocol V2 REST.

Used by bench/run.sh against ``onnxhub serve``, the HTTP floor
(bench/http_floor.py) and MLServer. Request bodies are either JSON
(``{"inputs":[{"name":..., "shape":[B,F], "datatype":"FP32", "data":[...]}]}``)
or, with ``--binary``, the binary tensor extension that tritonclient sends:
a JSON header (inputs carry ``parameters.binary_data_size``; with no
``outputs`` listed the request sets ``parameters.binary_data_output``) followed
by the raw little-endian FP32 bytes, with the header's length in the HTTP header
``Inference-Header-Content-Length``.

Closed loop, no think time: C connections each POST a V2 infer body to URL,
wait for the full response and send the next one. Two engines: wrk (default;
one wrk thread driven with v2_post.lua, one fixed body) or this process with
aiohttp (C asyncio workers, 16 rotating bodies). A warm-up period (default 2 s)
is run first and discarded, then the measurement window (default 10 s).
Everything stops by itself.

Output: one JSON object per concurrency level on stdout, e.g.
  {"url": ..., "concurrency": 8, "rps": 812.3, "rows_per_s": 812.3,
   "p50_ms": 9.6, "p90_ms": 11.0, "p99_ms": 14.2, "errors": 0, ...,
   "client_cpu_pct": 97.0, "server_cpu_pct": 99.1}
client_cpu_pct is the CPU used by this client process over the window (100 =
one full core); if it is near 100 the *client* is probably the bottleneck.
server_cpu_pct (with --server-pid) sums utime+stime of that PID and all its
descendants (MLServer's inference workers are child processes).

Only loopback targets are accepted.

Examples
  python bench/loadgen.py --url http://127.0.0.1:18100/v2/models/lr/infer --features 30 --check
  python bench/loadgen.py --url ... --features 64 --concurrency 1,8,64 --duration 10
  python bench/loadgen.py --url ... --batch 32 --binary --concurrency 8
  python bench/loadgen.py --engine aiohttp --url ... --features 30
  python bench/loadgen.py --write-body /tmp/body.json --features 30   # for wrk by hand
"""

import argparse
import asyncio
import json
import os
import random
import struct
import sys
import time
from urllib.parse import urlparse

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


HEADER_LEN = "Inference-Header-Content-Length"


def make_body(
    features, batch=1, input_name="input-0", seed=0, variant=0, outputs=None, binary=False
):
    """Return (body bytes, extra HTTP headers) for one V2 infer request."""
    rng = random.Random(seed * 1000 + variant)
    data = [round(rng.gauss(0.0, 1.0), 6) for _ in range(features * batch)]
    if not binary:
        body = {
            "inputs": [
                {"name": input_name, "shape": [batch, features], "datatype": "FP32", "data": data}
            ]
        }
        if outputs:
            body["outputs"] = [{"name": o} for o in outputs]
        return json.dumps(body, separators=(",", ":")).encode(), {
            "Content-Type": "application/json"
        }
    raw = struct.pack(f"<{len(data)}f", *data)
    # byte for byte what tritonclient.http (2.73) sends for one FP32 input with binary_data=True
    header = {
        "inputs": [
            {
                "name": input_name,
                "shape": [batch, features],
                "datatype": "FP32",
                "parameters": {"binary_data_size": len(raw)},
            }
        ]
    }
    if outputs:
        header["outputs"] = [{"name": o, "parameters": {"binary_data": True}} for o in outputs]
    else:
        header["parameters"] = {"binary_data_output": True}
    hdr = json.dumps(header, separators=(",", ":")).encode()
    return hdr + raw, {"Content-Type": "application/octet-stream", HEADER_LEN: str(len(hdr))}


def pct(sorted_vals, q):
    if not sorted_vals:
        return None
    k = (len(sorted_vals) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def proc_tree_cpu_ticks(root_pid):
    """utime+stime (clock ticks) of root_pid and all its descendants, from /proc."""
    parents = {}
    ticks = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2 :].split()
        # rest[0]=state, rest[1]=ppid, utime=rest[11], stime=rest[12]
        parents[int(d)] = int(rest[1])
        ticks[int(d)] = int(rest[11]) + int(rest[12])
    tree = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return sum(ticks.get(p, 0) for p in tree)


async def run_level(
    url, bodies, concurrency, warmup, duration, timeout_s, server_pid=None, rows_per_req=1
):
    import aiohttp

    latencies = []
    errors = 0
    err_samples = []
    completed = 0
    t_start = time.perf_counter()
    t_measure = t_start + warmup
    t_end = t_measure + duration
    conn = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    marks = {}

    async def worker(wid, session):
        nonlocal errors, completed
        i = wid
        while True:
            t0 = time.perf_counter()
            if t0 >= t_end:
                return
            body, headers = bodies[i % len(bodies)]
            i += 1
            ok = True
            try:
                async with session.post(url, data=body, headers=headers) as r:
                    payload = await r.read()
                    if r.status != 200:
                        ok = False
                        if len(err_samples) < 3:
                            err_samples.append(f"HTTP {r.status}: {payload[:200]!r}")
            except Exception as e:  # noqa: BLE001 - count every failure
                ok = False
                if len(err_samples) < 3:
                    err_samples.append(repr(e)[:200])
            t1 = time.perf_counter()
            if t0 >= t_measure and t1 <= t_end:
                if ok:
                    latencies.append(t1 - t0)
                    completed += 1
                else:
                    errors += 1

    async def marker():
        await asyncio.sleep(max(0.0, t_measure - time.perf_counter()))
        marks["cpu0"] = time.process_time()
        marks["wall0"] = time.perf_counter()
        if server_pid:
            marks["srv0"] = proc_tree_cpu_ticks(server_pid)
        await asyncio.sleep(max(0.0, t_end - time.perf_counter()))
        marks["cpu1"] = time.process_time()
        marks["wall1"] = time.perf_counter()
        if server_pid:
            marks["srv1"] = proc_tree_cpu_ticks(server_pid)

    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        await asyncio.gather(marker(), *(worker(w, session) for w in range(concurrency)))

    wall = marks["wall1"] - marks["wall0"]
    lat = sorted(x * 1000.0 for x in latencies)
    out = {
        "url": url,
        "concurrency": concurrency,
        "duration_s": round(wall, 3),
        "requests": completed,
        "rps": round(completed / wall, 1),
        "rows_per_s": round(completed * rows_per_req / wall, 1),
        "p50_ms": round(pct(lat, 0.50), 3) if lat else None,
        "p90_ms": round(pct(lat, 0.90), 3) if lat else None,
        "p99_ms": round(pct(lat, 0.99), 3) if lat else None,
        "mean_ms": round(sum(lat) / len(lat), 3) if lat else None,
        "errors": errors,
        "client_cpu_pct": round(100.0 * (marks["cpu1"] - marks["cpu0"]) / wall, 1),
    }
    if server_pid:
        hz = os.sysconf("SC_CLK_TCK")
        out["server_cpu_pct"] = round(100.0 * (marks["srv1"] - marks["srv0"]) / hz / wall, 1)
    if err_samples:
        out["error_samples"] = err_samples
    return out


def scrape_latency(metrics_url, model):
    """(successful requests, {bucket upper bound in s: cumulative count}) for ``model`` from
    onnxhub's ``/metrics`` (``onnxhub_inference_latency_seconds``: measured from the handler's
    start to the response, queueing in the batcher included)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(metrics_url, timeout=10) as r:
        text = r.read().decode()
    count, buckets = 0, {}
    for family in text_string_to_metric_families(text):
        if family.name != "onnxhub_inference_latency_seconds":
            continue
        for s in family.samples:
            if s.labels.get("model") != model:
                continue
            if s.name.endswith("_bucket"):
                buckets[float(s.labels["le"])] = s.value
            elif s.name.endswith("_count"):
                count = s.value
    return count, buckets


def accepted_stats(before, after, wall):
    """Accepted requests/s and the bound of the bucket holding their 99th percentile (ms)."""
    count = after[0] - before[0]
    out = {"accepted": int(count), "accepted_rps": round(count / wall, 1) if wall else None}
    if count > 0:
        for bound in sorted(after[1]):
            if after[1][bound] - before[1].get(bound, 0) >= 0.99 * count:
                out["accepted_p99_ms_le"] = None if bound == float("inf") else bound * 1000
                break
    return out


def run_level_wrk(
    url,
    body,
    concurrency,
    warmup,
    duration,
    timeout_s,
    server_pid=None,
    rows_per_req=1,
    metrics=None,
):
    """Same measurement with wrk (C, epoll) + v2_post.lua; one wrk thread.

    ``metrics`` = (metrics URL, model): the overload cell; wrk also counts 503 answers and
    their ``Retry-After`` headers, and the server's own histogram gives the accepted
    requests' rate and 99th percentile (wrk's percentiles mix accepted and refused ones).
    """
    import resource
    import shutil
    import subprocess
    import tempfile

    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("wrk not found (apt-get install -y wrk)")
    lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), "v2_post.lua")
    body, headers = body
    with tempfile.NamedTemporaryFile(
        "wb", prefix="v2body-", suffix=".bin", dir="/tmp", delete=False
    ) as f:
        f.write(body)
        body_path = f.name
    env = dict(os.environ, WRK_BODY=body_path, WRK_CONTENT_TYPE=headers["Content-Type"])
    if metrics:
        env["WRK_COUNT_STATUS"] = "1"
    if HEADER_LEN in headers:
        env["WRK_HEADER_LEN"] = headers[HEADER_LEN]
    base = [wrk, "-t1", f"-c{concurrency}", "--timeout", f"{int(timeout_s)}s", "-s", lua]
    try:
        if warmup > 0:
            subprocess.run(
                base[:3] + [f"-d{max(1, round(warmup))}s"] + base[3:] + [url],
                env=env,
                check=True,
                capture_output=True,
            )
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        srv0 = proc_tree_cpu_ticks(server_pid) if server_pid else 0
        scraped0 = scrape_latency(*metrics) if metrics else None
        w0 = time.perf_counter()
        p = subprocess.run(
            base[:3] + [f"-d{max(1, round(duration))}s"] + base[3:] + [url],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - w0
        scraped1 = scrape_latency(*metrics) if metrics else None
        srv1 = proc_tree_cpu_ticks(server_pid) if server_pid else 0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.unlink(body_path)
    line = [ln for ln in p.stdout.splitlines() if ln.startswith('{"generator":"wrk"')][-1]
    res = json.loads(line)
    out = {
        "url": url,
        "concurrency": concurrency,
        "duration_s": res["duration_s"],
        "requests": res["requests"],
        "rps": res["rps"],
        "rows_per_s": round(res["rps"] * rows_per_req, 1),
        "p50_ms": res["p50_ms"],
        "p90_ms": res["p90_ms"],
        "p99_ms": res["p99_ms"],
        "mean_ms": res["mean_ms"],
        "errors": res["errors"],
        "non2xx": res.get("non2xx"),
        # wrk's own CPU over its whole run (process exits at the end of the window)
        "client_cpu_pct": round(
            100.0 * ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / wall, 1
        ),
    }
    if server_pid:
        hz = os.sysconf("SC_CLK_TCK")
        out["server_cpu_pct"] = round(100.0 * (srv1 - srv0) / hz / wall, 1)
    if metrics:
        out["status_503"] = res.get("status_503")
        out["retry_after"] = res.get("retry_after")
        out.update(accepted_stats(scraped0, scraped1, wall))
    return out


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", help="V2 infer URL, e.g. http://127.0.0.1:18080/v2/models/lr/infer")
    ap.add_argument("--features", type=int, default=30)
    ap.add_argument(
        "--batch", type=int, default=1, help="rows per request (shape [batch, features])"
    )
    ap.add_argument("--input-name", default="input-0")
    ap.add_argument(
        "--outputs", default="", help="comma list of V2 requested outputs (default: server default)"
    )
    ap.add_argument(
        "--binary",
        action="store_true",
        help="binary tensor extension (JSON header + raw FP32 bytes), binary outputs requested",
    )
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")
    ap.add_argument(
        "--server-pid", type=int, default=0, help="report CPU%% of this PID + descendants"
    )
    ap.add_argument("--label", default="", help="free text copied into each JSON line")
    ap.add_argument(
        "--metrics-url",
        default="",
        help="overload cell (wrk only): onnxhub's /metrics URL; adds status_503, retry_after, "
        "accepted_rps and accepted_p99_ms_le (from the server's latency histogram)",
    )
    ap.add_argument("--model", default="", help="model label in /metrics (with --metrics-url)")
    ap.add_argument(
        "--engine",
        choices=["aiohttp", "wrk"],
        default="wrk",
        help="wrk (default): drive wrk + v2_post.lua, one wrk thread, ~30-200 us of client CPU per request; "
        "aiohttp: this process is the client (~0.3-1.2 ms per request: it saturates one core "
        "near 1,000-3,000 req/s, below what a fast server does)",
    )
    ap.add_argument(
        "--check", action="store_true", help="send one request, print the response, exit"
    )
    ap.add_argument(
        "--write-body", metavar="PATH", help="write one request body (for wrk) and exit"
    )
    args = ap.parse_args()

    outputs = [o for o in args.outputs.split(",") if o]
    if args.write_body:
        body, headers = make_body(
            args.features, args.batch, args.input_name, outputs=outputs, binary=args.binary
        )
        with open(args.write_body, "wb") as f:
            f.write(body)
        print(json.dumps(headers))
        return
    if not args.url:
        ap.error("--url is required")
    host = urlparse(args.url).hostname
    if host not in LOOPBACK:
        sys.exit(f"refusing non-loopback target {host!r}")

    try:
        import uvloop  # noqa: F401

        uvloop.install()
        loop_kind = "uvloop"
    except ImportError:
        loop_kind = "asyncio"

    bodies = [
        make_body(
            args.features,
            args.batch,
            args.input_name,
            variant=v,
            outputs=outputs,
            binary=args.binary,
        )
        for v in range(16)
    ]

    if args.check:
        import urllib.request

        req = urllib.request.Request(args.url, data=bodies[0][0], headers=bodies[0][1])
        with urllib.request.urlopen(req, timeout=args.timeout) as r:
            payload = r.read()
            hlen = r.headers.get(HEADER_LEN)
            if hlen is not None:
                print(
                    r.status,
                    payload[: int(hlen)].decode()[:2000],
                    f"+ {len(payload) - int(hlen)} binary bytes",
                )
            else:
                print(r.status, payload.decode()[:2000])
        return

    for c in [int(x) for x in args.concurrency.split(",") if x]:
        if args.engine == "wrk":
            res = run_level_wrk(
                args.url,
                bodies[0],
                c,
                args.warmup,
                args.duration,
                args.timeout,
                args.server_pid,
                args.batch,
                (args.metrics_url, args.model) if args.metrics_url else None,
            )
            res["generator"] = "wrk/v2_post.lua"
        else:
            res = asyncio.run(
                run_level(
                    args.url,
                    bodies,
                    c,
                    args.warmup,
                    args.duration,
                    args.timeout,
                    args.server_pid,
                    args.batch,
                )
            )
            res["generator"] = f"loadgen.py/aiohttp/{loop_kind}"
        res["batch"] = args.batch
        res["body"] = "binary" if args.binary else "json"
        if args.metrics_url:
            res["body"] = "overload"
        if args.label:
            res["label"] = args.label
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
