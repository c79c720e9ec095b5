#!/usr/bin/env bash
# Start-up time of catalog commands (`onnxhub models` on an empty catalog), measured with
# hyperfine, at this working tree and at a git revision to compare with (default 57f0f24, the
# code before catalog commands imported lazily). Not a test: figures depend on the machine.
#
#   bench/cli_startup.sh                 # this tree against 57f0f24
#   BEFORE=HEAD~3 RUNS=20 bench/cli_startup.sh
#   COMMAND="show iris" bench/cli_startup.sh
#
# Knobs: BEFORE [57f0f24]  RUNS [10]  WARMUP [2]  COMMAND [models]  PYTHON [<repo>/.venv/bin/python]
# Needs hyperfine (apt-get install -y hyperfine). The "before" tree is exported with
# `git archive` to a temporary folder and put first on PYTHONPATH; both use the same venv.
# Also prints python -X importtime's ten slowest top-level imports of this tree.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
PY="${PYTHON:-$REPO/.venv/bin/python}"
BEFORE="${BEFORE:-57f0f24}"
RUNS="${RUNS:-10}"
WARMUP="${WARMUP:-2}"
COMMAND="${COMMAND:-models}"

command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/before" "$WORK/home"
git -C "$REPO" archive "$BEFORE" | tar -x -C "$WORK/before"
export ONNXHUB_HOME="$WORK/home"   # an empty catalog, created by the first (warm-up) run
cd "$WORK"

hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
  -n "onnxhub $COMMAND ($BEFORE)" "env PYTHONPATH=$WORK/before $PY -m hub.cli.main $COMMAND" \
  -n "onnxhub $COMMAND (this tree)" "env PYTHONPATH=$REPO $PY -m hub.cli.main $COMMAND"

echo
echo "slowest top-level imports of this tree (cumulative microseconds):"
PYTHONPATH="$REPO" "$PY" -X importtime -m hub.cli.main $COMMAND 2>&1 >/dev/null \
  | awk -F'|' '/import time:/ && $3 ~ /^ [a-z_]/ {print $2 "|" $3}' | sort -n -r | head -10
