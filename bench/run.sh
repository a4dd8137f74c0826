#!/usr/bin/env bash
# Benchmark end to end: create, migrate and seed the bench database at a scale, start `cpd-api serve`
# with N workers on 127.0.0.1 (sandbox, rate limits off) and the replay server beside it (port + 1),
# run the load driver, stop both.
#   bench/run.sh [--scale 0.05] [--workers 2] [--port 8765] [--database cpd_api_bench] [--no-seed]
#                [load.py options...]
# PYTHON (default .venv/bin/python) picks the interpreter; the app is imported from this checkout
# (PYTHONPATH), so a git worktree can be measured with the main checkout's virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=0.05
WORKERS=2
PORT=8765
SEED=1
SERVER_URL=${BENCH_SERVER_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
DB=cpd_api_bench
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --database) DB=$2; shift 2 ;;
    --no-seed) SEED=0; shift ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
DB_URL="${SERVER_URL%/*}/$DB"

if [ "$SEED" = 1 ]; then
  $PY bench/seed_volume.py --scale "$SCALE" --server-url "$SERVER_URL" --database "$DB" 2>&1 | grep -v '^INFO'
fi

mkdir -p bench/.data
LOG=bench/.data/server.log
DATABASE_URL="$DB_URL" ENVIRONMENT=sandbox RATE_LIMIT_ENABLED=false WEB_CONCURRENCY="$WORKERS" \
  LOG_LEVEL=warning PROMETHEUS_MULTIPROC_DIR="$PWD/bench/.data/metrics" \
  $PY -c "import sys; from app.cli import main; sys.argv[0] = 'cpd-api'; sys.exit(main())" serve --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!
# Beside it, the same service with a route that answers stored pages (bench/replay_app.py): the
# scenario 2 ceiling lines; its metrics go to a directory of its own, emptied here.
REPLAY_PORT=$((PORT + 1))
mkdir -p bench/.data/replay bench/.data/replay-metrics
rm -f bench/.data/replay-metrics/*
DATABASE_URL="$DB_URL" ENVIRONMENT=sandbox RATE_LIMIT_ENABLED=false LOG_LEVEL=warning \
  PROMETHEUS_MULTIPROC_DIR="$PWD/bench/.data/replay-metrics" BENCH_REPLAY_DIR="$PWD/bench/.data/replay" \
  $PY bench/replay_app.py --port "$REPLAY_PORT" --workers "$WORKERS" >bench/.data/replay.log 2>&1 &
REPLAY_PID=$!
stop() {
  kill "$SERVER_PID" "$REPLAY_PID" 2>/dev/null || true
  wait "$SERVER_PID" "$REPLAY_PID" 2>/dev/null || true
}
trap stop EXIT

for port in "$PORT" "$REPLAY_PORT"; do
  for _ in $(seq 1 60); do
    if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then break; fi
    sleep 0.5
  done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "server on $port did not start"; tail -n 20 "$LOG" bench/.data/replay.log; exit 1; }
done
echo "server pid $SERVER_PID, $WORKERS workers, port $PORT, database $DB$([ "$SEED" = 1 ] && echo " (scale $SCALE)"); replay server pid $REPLAY_PID, port $REPLAY_PORT"

$PY bench/load.py --port "$PORT" --server-pid "$SERVER_PID" --db-url "$DB_URL" \
  --replay-port "$REPLAY_PORT" --replay-pid "$REPLAY_PID" --replay-dir bench/.data/replay "${EXTRA[@]}"
