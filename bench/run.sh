#!/usr/bin/env bash
# onnxhub serving benchmark: `onnxhub serve` against its floors (and MLServer),
# all on 127.0.0.1, server side pinned to one core and the load generator to another.
#
#   bench/run.sh                                   # everything, defaults below (~12 min)
#   MODELS=lr CONC=1,64 DURATION=5 PEERS=0 bench/run.sh
#   python3 bench/summarize.py "$(cat /tmp/onnxhub-bench/results/LATEST)"
#
# Legs, in this order, each bounded (fixed warm-up + window per cell):
#   ort      in-process onnxruntime InferenceSession.run on the exact ONNX onnxhub serves,
#            batch 1 and 32, on the server core (bench/ort_floor.py)
#   http     HTTP floor (bench/http_floor.py: parse the V2 body, canned V2 answer) and
#   onnxhub  `onnxhub serve`, both started once; per model the two are driven back to
#            back: JSON [1,F] bodies at each CONC, then binary-tensor bodies (tritonclient's
#            format) of each BIN_BATCH rows at BIN_CONC
#   overload a second `onnxhub serve` with a small queue (ONNXHUB_MAX_QUEUE=OVERLOAD_QUEUE),
#            JSON [1,F] bodies at OVERLOAD_CONC connections: wrk counts the 503 answers and
#            their Retry-After, the server's /metrics gives the accepted requests' rate and p99
#   mlserver MLServer 1.7.1 (PEERS=1) through $PEERS_DIR/run_mlserver.sh, MLSERVER_MODES,
#            JSON [1,F] bodies at each CONC
#
# Knobs (defaults in brackets):
#   MODELS [lr rf mlp]   CONC [1,8,64]   DURATION [10] s   WARMUP [2] s   PEERS [1]
#   LEGS ["ort http onnxhub overload mlserver"]   BINARY [1]  BIN_BATCH [32,256]  BIN_CONC [8]
#   OVERLOAD_CONC [512]  OVERLOAD_QUEUE [64]
#   ENGINE [wrk] (or aiohttp, see loadgen.py)   CLIENT_CPU [0]   SERVER_CPU [1]
#   MLSERVER_MODES ["nobatch batch"]   PEERS_DIR [<repo>/../shared/peers] (setup.sh, run_mlserver.sh)
#   BENCH_WORK [/tmp/onnxhub-bench]  OUT [$BENCH_WORK/results/<UTC time>]
#   PYTHON [<repo>/.venv/bin/python]  ONNXHUB [<repo>/.venv/bin/onnxhub]
#   HUB_PORT [18100]  FLOOR_PORT [18200]  (MLServer: 18080-18082)
# Server side: OMP_NUM_THREADS=1 (and OpenBLAS/MKL), ONNXHUB_INTRA_OP_THREADS=1.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
MODELS="$(echo "${MODELS:-lr rf mlp}" | tr ',' ' ')"
CONC="${CONC:-1,8,64}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
PEERS="${PEERS:-1}"
LEGS="${LEGS:-ort http onnxhub overload mlserver}"
BINARY="${BINARY:-1}"
BIN_BATCH="$(echo "${BIN_BATCH:-32,256}" | tr ',' ' ')"
OVERLOAD_CONC="${OVERLOAD_CONC:-512}"
OVERLOAD_QUEUE="${OVERLOAD_QUEUE:-64}"
BIN_CONC="${BIN_CONC:-8}"
ENGINE="${ENGINE:-wrk}"
CLIENT_CPU="${CLIENT_CPU-0}"
SERVER_CPU="${SERVER_CPU-1}"
MLSERVER_MODES="${MLSERVER_MODES:-nobatch batch}"
PEERS_DIR="${PEERS_DIR:-$REPO/../shared/peers}"  # the peers harness beside the repository
export BENCH_WORK="${BENCH_WORK:-/tmp/onnxhub-bench}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$BENCH_WORK/results/$STAMP}"
PY="${PYTHON:-$REPO/.venv/bin/python}"
ONNXHUB="${ONNXHUB:-$REPO/.venv/bin/onnxhub}"
HUB_PORT="${HUB_PORT:-18100}"
FLOOR_PORT="${FLOOR_PORT:-18200}"
export ONNXHUB_HOME="$BENCH_WORK/home"
unset ONNXHUB_DATABASE_URL ONNXHUB_ARTIFACTS
# one thread per process for BLAS/OpenMP and onnxruntime (inherited by every server)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 ONNXHUB_INTRA_OP_THREADS=1
# one server process (it is pinned to one core); ONNXHUB_WORKERS=2 to compare
export ONNXHUB_WORKERS="${ONNXHUB_WORKERS:-1}"

mkdir -p "$OUT"
RES="$OUT/results.jsonl"
LOGS="$OUT/logs"; mkdir -p "$LOGS"
echo "$OUT" > "$BENCH_WORK/results/LATEST"

CPIN=(); [[ -n "$CLIENT_CPU" ]] && CPIN=(taskset -c "$CLIENT_CPU")
SPIN=(); [[ -n "$SERVER_CPU" ]] && SPIN=(taskset -c "$SERVER_CPU")

has_leg() { [[ " $LEGS " == *" $1 "* ]]; }
note() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/run.log"; }
meta() {  # one JSON line with the machine state, before each leg
  "$PY" - "$1" >> "$RES" <<'EOF'
import json, os, sys, time
print(json.dumps({"kind": "meta", "leg": sys.argv[1], "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "loadavg": open("/proc/loadavg").read().split()[:3]}))
EOF
}

# servers started by this script, stopped by PID only
PIDS=()
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  note "PID $pid still alive after 10 s, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  PIDS=()
  if [[ -n "${MLSERVER_UP:-}" ]]; then PEERS_WORK="$BENCH_WORK" "$PEERS_DIR/run_mlserver.sh" stop >/dev/null 2>&1; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_ready() {  # url pid seconds
  local url=$1 pid=$2 secs=$3
  for _ in $(seq 1 $((secs * 5))); do
    curl -fs "$url" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

feat() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['features'])" "$BENCH_WORK/served/$1.json"; }
input_name() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['input'])" "$BENCH_WORK/served/$1.json"; }

drive() {  # server model url pid conc batch binary(0/1) input_name features
  local server=$1 model=$2 url=$3 pid=$4 conc=$5 batch=$6 bin=$7 iname=$8 nf=$9 extra=()
  [[ "$bin" == 1 ]] && extra=(--binary)
  "${CPIN[@]}" "$PY" "$HERE/loadgen.py" --engine "$ENGINE" --url "$url" --features "$nf" --batch "$batch" \
    --input-name "$iname" "${extra[@]}" --concurrency "$conc" --warmup "$WARMUP" --duration "$DURATION" \
    --server-pid "$pid" --label "server=$server model=$model" | tee -a "$RES"
}

note "onnxhub bench -> $OUT (MODELS='$MODELS' CONC=$CONC DURATION=$DURATION WARMUP=$WARMUP PEERS=$PEERS ENGINE=$ENGINE LEGS='$LEGS')"
"$PY" - "$OUT/meta.json" "$REPO" <<EOF
import json, os, platform, subprocess, sys, time
import aiohttp, numpy, onnxruntime, sklearn
rev = subprocess.run(["git", "-C", sys.argv[2], "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
wrk = subprocess.run(["sh", "-c", "dpkg-query -W -f='\${Version}' wrk 2>/dev/null"], capture_output=True, text=True).stdout
json.dump({"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "git": rev, "python": platform.python_version(),
           "cpus": os.cpu_count(), "kernel": platform.release(), "aiohttp": aiohttp.__version__,
           "onnxruntime": onnxruntime.__version__, "numpy": numpy.__version__, "sklearn": sklearn.__version__,
           "wrk": wrk, "models": "$MODELS", "conc": "$CONC", "duration": $DURATION, "warmup": $WARMUP,
           "engine": "$ENGINE", "client_cpu": "$CLIENT_CPU", "server_cpu": "$SERVER_CPU",
           "bin_batch": "$BIN_BATCH", "bin_conc": $BIN_CONC,
           "overload_conc": $OVERLOAD_CONC, "overload_queue": $OVERLOAD_QUEUE,
           "onnxhub_env": {k: v for k, v in os.environ.items() if k.startswith("ONNXHUB_")}},
          open(sys.argv[1], "w"), indent=1)
EOF

# -- tools: wrk (the default engine) and MLServer's venv, before any leg needs them ------------
SETUP_STEPS=()
[[ "$ENGINE" == wrk ]] && ! command -v wrk >/dev/null && SETUP_STEPS+=(apt)
has_leg mlserver && [[ "$PEERS" == 1 ]] && [[ ! -x /tmp/venvs/peers-mlserver/bin/mlserver ]] && SETUP_STEPS+=(mlserver)
if (( ${#SETUP_STEPS[@]} )); then
  note "missing: ${SETUP_STEPS[*]}: running $PEERS_DIR/setup.sh ${SETUP_STEPS[*]} (~1-2 min)"
  "$PEERS_DIR/setup.sh" "${SETUP_STEPS[@]}" > "$LOGS/peers-setup.log" 2>&1 \
    || { note "setup failed, see $LOGS/peers-setup.log"; exit 1; }
fi

# -- models: build (seeded, identical on re-run) and publish to a bench-only hub home ----------
if [[ ! -f "$BENCH_WORK/models/manifest.json" ]]; then
  note "building models"; "$PY" "$HERE/make_models.py" --out "$BENCH_WORK" > "$LOGS/make_models.log" 2>&1 \
    || { note "make_models failed, see $LOGS/make_models.log"; exit 1; }
fi
note "publishing to $ONNXHUB_HOME"
"$PY" "$HERE/publish_models.py" --models "$(echo $MODELS | tr ' ' ,)" 2>&1 | tee "$LOGS/publish.log" \
  || { note "publish failed"; exit 1; }
for m in $MODELS; do [[ -f "$BENCH_WORK/served/$m.json" ]] || { note "no served/$m.json"; exit 1; }; done

# -- ort: in-process floor on the server core ---------------------------------------------------
if has_leg ort; then
  meta ort; note "ort floor"
  "${SPIN[@]}" "$PY" "$HERE/ort_floor.py" --models "$(echo $MODELS | tr ' ' ,)" \
    --batches "$(echo 1 $BIN_BATCH | tr ' ' ,)" --duration 5 --warmup 1 | tee -a "$RES"
fi

# -- http floor and onnxhub, driven back to back per model --------------------------------------
FLOOR_PID=""; HUB_PID=""
if has_leg http; then
  "${SPIN[@]}" "$PY" "$HERE/http_floor.py" --port "$FLOOR_PORT" --max-seconds 3600 > "$LOGS/http_floor.log" 2>&1 &
  FLOOR_PID=$!; PIDS+=("$FLOOR_PID")
  wait_ready "http://127.0.0.1:$FLOOR_PORT/v2/health/ready" "$FLOOR_PID" 20 \
    || { note "http floor did not start, see $LOGS/http_floor.log"; FLOOR_PID=""; }
fi
if has_leg onnxhub; then
  if "$ONNXHUB" serve --help >/dev/null 2>&1; then
    "${SPIN[@]}" "$ONNXHUB" serve --host 127.0.0.1 --port "$HUB_PORT" > "$LOGS/onnxhub.log" 2>&1 &
    HUB_PID=$!; PIDS+=("$HUB_PID")
    if wait_ready "http://127.0.0.1:$HUB_PORT/v2/health/ready" "$HUB_PID" 60; then
      for m in $MODELS; do
        wait_ready "http://127.0.0.1:$HUB_PORT/v2/models/$m/ready" "$HUB_PID" 60 \
          || note "onnxhub: /v2/models/$m/ready not 200 after 60 s (driving it anyway)"
      done
    else
      note "onnxhub serve did not become ready, see $LOGS/onnxhub.log"; tail -20 "$LOGS/onnxhub.log"; HUB_PID=""
    fi
  else
    note "'$ONNXHUB serve' is not available: onnxhub leg skipped"
  fi
fi
for m in $MODELS; do
  nf="$(feat "$m")"; iname="$(input_name "$m")"
  [[ -n "$FLOOR_PID$HUB_PID" ]] && meta "http+onnxhub $m"
  if [[ -n "$FLOOR_PID" ]]; then
    note "http floor, $m, JSON c=$CONC"
    drive http_floor "$m" "http://127.0.0.1:$FLOOR_PORT/v2/models/$m/infer" "$FLOOR_PID" "$CONC" 1 0 "$iname" "$nf"
  fi
  if [[ -n "$HUB_PID" ]]; then
    note "onnxhub, $m, JSON c=$CONC"
    drive onnxhub "$m" "http://127.0.0.1:$HUB_PORT/v2/models/$m/infer" "$HUB_PID" "$CONC" 1 0 "$iname" "$nf"
  fi
  [[ "$BINARY" == 1 ]] && for rows in $BIN_BATCH; do
    if [[ -n "$FLOOR_PID" ]]; then
      note "http floor, $m, binary [$rows,$nf] c=$BIN_CONC"
      drive http_floor "$m" "http://127.0.0.1:$FLOOR_PORT/v2/models/$m/infer" "$FLOOR_PID" "$BIN_CONC" "$rows" 1 "$iname" "$nf"
    fi
    if [[ -n "$HUB_PID" ]]; then
      note "onnxhub, $m, binary [$rows,$nf] c=$BIN_CONC"
      drive onnxhub "$m" "http://127.0.0.1:$HUB_PORT/v2/models/$m/infer" "$HUB_PID" "$BIN_CONC" "$rows" 1 "$iname" "$nf"
    fi
  done
done
[[ -n "$HUB_PID" ]] && { stop_pid "$HUB_PID"; note "onnxhub stopped"; }
[[ -n "$FLOOR_PID" ]] && stop_pid "$FLOOR_PID"
PIDS=()

# -- overload: many more connections than a small queue holds --------------------------------
if has_leg overload; then
  OV_PORT=$((HUB_PORT + 1))
  ONNXHUB_MAX_QUEUE="$OVERLOAD_QUEUE" "${SPIN[@]}" "$ONNXHUB" serve --host 127.0.0.1 --port "$OV_PORT" \
    > "$LOGS/onnxhub-overload.log" 2>&1 &
  OV_PID=$!; PIDS+=("$OV_PID")
  if wait_ready "http://127.0.0.1:$OV_PORT/v2/health/ready" "$OV_PID" 60; then
    for m in $MODELS; do
      nf="$(feat "$m")"; iname="$(input_name "$m")"
      wait_ready "http://127.0.0.1:$OV_PORT/v2/models/$m/ready" "$OV_PID" 60 || true
      meta "overload $m"
      note "onnxhub (ONNXHUB_MAX_QUEUE=$OVERLOAD_QUEUE), $m, JSON c=$OVERLOAD_CONC"
      "${CPIN[@]}" "$PY" "$HERE/loadgen.py" --engine wrk --url "http://127.0.0.1:$OV_PORT/v2/models/$m/infer" \
        --features "$nf" --input-name "$iname" --concurrency "$OVERLOAD_CONC" --warmup "$WARMUP" \
        --duration "$DURATION" --server-pid "$OV_PID" --metrics-url "http://127.0.0.1:$OV_PORT/metrics" \
        --model "$m" --label "server=onnxhub model=$m" | tee -a "$RES"
    done
  else
    note "onnxhub (overload) did not become ready, see $LOGS/onnxhub-overload.log"
  fi
  stop_pid "$OV_PID"; PIDS=()
fi

# -- MLServer (the peer) ------------------------------------------------------------------------
if has_leg mlserver && [[ "$PEERS" == 1 ]]; then
  for m in $MODELS; do
    nf="$(feat "$m")"
    for mode in $MLSERVER_MODES; do
      meta "mlserver $m $mode"
      if PEERS_WORK="$BENCH_WORK" SERVER_CPU="$SERVER_CPU" "$PEERS_DIR/run_mlserver.sh" start "$m" "$mode" >> "$LOGS/mlserver.log" 2>&1; then
        MLSERVER_UP=1
        note "mlserver ($mode), $m, JSON c=$CONC"
        # MLServer's sklearn runtime takes any input name for a single-input model
        drive "mlserver-$mode" "$m" "http://127.0.0.1:18080/v2/models/$m/infer" \
          "$(PEERS_WORK="$BENCH_WORK" "$PEERS_DIR/run_mlserver.sh" pid)" "$CONC" 1 0 "input-0" "$nf"
        PEERS_WORK="$BENCH_WORK" "$PEERS_DIR/run_mlserver.sh" stop >> "$LOGS/mlserver.log" 2>&1
        MLSERVER_UP=""
      else
        note "mlserver $m $mode failed to start, see $LOGS/mlserver.log"
      fi
    done
  done
fi

note "done; results in $RES"
"$PY" "$HERE/summarize.py" "$OUT" | tee "$OUT/summary.md"
