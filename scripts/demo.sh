#!/usr/bin/env bash
# `make demo`: a whole game day on this machine in a few minutes.
#
#   1. provision Kafka and ClickHouse (make up), build, migrate;
#   2. start ingest serve + sink (+ analyze watch and settle) and the simulated system
#      (cmd/demo: checkout -> payment/recommendations, a publish pipeline
#      with synthetic publishes, two alert rules), all on loopback;
#   3. baseline traffic, then `analyze run start`, switch the payment-chaos
#      flag on (5% of users: payment returns 500), `analyze live` for a
#      minute, flag off, `analyze run stop`;
#   4. flows check, report and backlog; print where they are and the three
#      most important findings.
#
# Every process it starts is stopped on exit (trap). Settings (environment):
#   DEMO_OUT       output directory                 (out/demo)
#   DEMO_BASELINE  traffic before the run starts    (15s)
#   DEMO_LIVE      how long `analyze live` runs, in seconds with "s" (60s)
#   DEMO_RATE      checkout page loads per second   (60)
#   DEMO_PORT_BASE ports used: BASE+17 OTLP/gRPC, +18 HTTP, +64/+65 admin, +89 demo (14300)
#   DEMO_KEEP      1: keep the database's earlier runs (a second game day: run history marks
#                  the first's findings recurring or fixed)                       (0)
#   DEMO_WEB       where `analyze live --web` serves the war room       (127.0.0.1:BASE+88)
#   DEMO_DATABASE  the ClickHouse database the demo drops and re-creates (steadystate_demo);
#                  never taken from STEADYSTATE_CLICKHOUSE_DATABASE, so the demo cannot drop your data
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

export STEADYSTATE_STATE_DIR=${STEADYSTATE_STATE_DIR:-$ROOT/.state}
DEMO_DATABASE=${DEMO_DATABASE:-steadystate_demo}
export STEADYSTATE_CLICKHOUSE_DATABASE=$DEMO_DATABASE
export STEADYSTATE_EXPERIMENTS=${STEADYSTATE_EXPERIMENTS:-$ROOT/experiments/examples}
OUT=${DEMO_OUT:-$ROOT/out/demo}
BASELINE=${DEMO_BASELINE:-15s}
LIVE=${DEMO_LIVE:-60s}
RATE=${DEMO_RATE:-60}
BASE=${DEMO_PORT_BASE:-14300}
EXP=checkout-payment-500
TOPIC=steadystate.demo.events
GRPC=127.0.0.1:$((BASE + 17))
HTTP=127.0.0.1:$((BASE + 18))
SERVE_ADMIN=127.0.0.1:$((BASE + 64))
SINK_ADMIN=127.0.0.1:$((BASE + 65))
DEMO_ADMIN=127.0.0.1:$((BASE + 89))
WEB=${DEMO_WEB:-127.0.0.1:$((BASE + 88))}
KEEP=${DEMO_KEEP:-0}
LOGS=$OUT/logs
START=$(date +%s)

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
step() { echo; bold "==> [$(($(date +%s) - START))s] $*"; }
die() { echo "demo: $*" >&2; exit 1; }

PIDS=()
LAST_PIDS=() # stopped after everything else: the sink drains what serve accepted
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    curl -fsS -m 2 -d off "http://$DEMO_ADMIN/chaos" >/dev/null 2>&1 || true
    # Newest first: the demo flushes its spans to ingest before ingest stops.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
      kill -TERM "${PIDS[$i]}" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "${PIDS[$i]}" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "${PIDS[$i]}" 2>/dev/null || true
    done
  fi
  for pid in "${LAST_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  [ $rc = 0 ] || echo "demo: failed (exit $rc); logs in $LOGS" >&2
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: run CMD in the background, output in $LOGS/NAME.log.
start() {
  local name=$1; shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  PIDS+=($!)
}

# wait_http URL NAME: wait up to 60 s for URL to answer 2xx.
wait_http() {
  for _ in $(seq 1 600); do
    if curl -fsS -m 1 "$1" >/dev/null 2>&1; then return 0; fi
    kill -0 "${PIDS[-1]}" 2>/dev/null || { tail -20 "$LOGS/$2.log" >&2; die "$2 exited"; }
    sleep 0.1
  done
  tail -20 "$LOGS/$2.log" >&2
  die "$2 did not answer at $1"
}

# has CMD...: whether this analyze/ingest subcommand exists in this build.
has() { "$@" --help >/dev/null 2>&1; }

# maybe N CMD...: run CMD if its first N words name an existing subcommand,
# else say it was skipped (the demo still runs end to end).
maybe() {
  local n=$1; shift
  if has "${@:1:$n}"; then "$@"; else echo "(${*:1:$n} is not available in this build: skipped)"; return 0; fi
}

for port in "$GRPC" "$HTTP" "$SERVE_ADMIN" "$SINK_ADMIN" "$DEMO_ADMIN" "$WEB"; do
  if (exec 3<>"/dev/tcp/${port%:*}/${port#*:}") 2>/dev/null; then
    die "port $port is in use (set DEMO_PORT_BASE to move the demo's ports)"
  fi
done
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log

step "provision Kafka and ClickHouse (make up)"
bash deploy/local/up.sh

step "build"
go build -o bin/ ./cmd/...

step "migrate database $STEADYSTATE_CLICKHOUSE_DATABASE (a fresh one: each demo's report covers only its own run)"
# shellcheck source=deploy/local/env.sh
if [ "$KEEP" = 1 ]; then
  echo "(DEMO_KEEP=1: keeping the earlier runs in $STEADYSTATE_CLICKHOUSE_DATABASE)"
else
  ( . deploy/local/env.sh && ch_client --query "DROP DATABASE IF EXISTS $STEADYSTATE_CLICKHOUSE_DATABASE" )
fi
bin/analyze migrate

step "start ingest serve and sink"
start serve bin/ingest serve --experiments "$STEADYSTATE_EXPERIMENTS" --grpc "$GRPC" --http "$HTTP" \
  --admin "$SERVE_ADMIN" --topic "$TOPIC" --partitions 3
wait_http "http://$SERVE_ADMIN/readyz" serve
start sink bin/ingest sink --topic "$TOPIC" --group steadystate-demo-sink --admin "$SINK_ADMIN" --max-age 500ms
wait_http "http://$SINK_ADMIN/healthz" sink
LAST_PIDS+=("${PIDS[-1]}")
unset 'PIDS[-1]'
if has bin/analyze watch; then
  start watch bin/analyze watch --interval 5s --consumer-group steadystate-demo-sink --webhook "http://$HTTP/v1/alerts/alertmanager"
else
  echo "(analyze watch is not available in this build: skipped)"
fi
if has bin/analyze settle; then
  # Counts each settled bucket once, so live's looks read cached counts.
  start settle bin/analyze settle --interval 10s
else
  echo "(analyze settle is not available in this build: skipped)"
fi
echo "ingest: OTLP gRPC $GRPC, HTTP $HTTP; logs in $LOGS"

step "start the simulated system (checkout, payment, recommendations, publish pipeline)"
start system bin/demo --otlp "$GRPC" --alert-webhook "http://$HTTP/v1/alerts/alertmanager" \
  --admin "$DEMO_ADMIN" --rate "$RATE"
wait_http "http://$DEMO_ADMIN/status" system
echo "baseline traffic for $BASELINE: every user gets payment-chaos=off (control)"
sleep "$BASELINE"

step "game day: analyze run start $EXP, then switch payment-chaos on for 5% of users"
maybe 3 bin/analyze run start "$EXP" --operator "${USER:-demo}" --note "make demo" | tee "$LOGS/run-start.txt"
curl -fsS -d on "http://$DEMO_ADMIN/chaos"

step "analyze live $EXP for $LIVE"
if has bin/analyze live; then
  set +e
  bold "war room (open it on the shared screen): http://$WEB/"
  bin/analyze live "$EXP" --interval 5s --duration "$LIVE" --web "$WEB" --consumer-group steadystate-demo-sink
  live_rc=$?
  set -e
  echo "(analyze live exited $live_rc: 0 within tolerance, 3 a verdict or stop condition)"
else
  echo "(analyze live is not available in this build: showing the system's own counters)"
  end=$(($(date +%s) + ${LIVE%s}))
  while [ "$(date +%s)" -lt $end ]; do
    sleep 10
    curl -fsS "http://$DEMO_ADMIN/status" | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; print("pages %(Pages)d failed %(PagesFailed)d | experiment %(PagesExperiment)d failed %(PagesExperimentFailed)d | publishes %(Publishes)d lost %(PublishesLost)d | firing %(Firing)s" % s)'
  done
fi

step "switch payment-chaos off, analyze run stop $EXP"
curl -fsS -d off "http://$DEMO_ADMIN/chaos"
maybe 3 bin/analyze run stop "$EXP" | tee "$LOGS/run-stop.txt"
curl -fsS "http://$DEMO_ADMIN/status" >"$OUT/system-status.json" || true

# The publish flow allows 30 s per item: wait until the last items of the
# run can be judged, with the sink caught up.
step "let the last publishes of the run reach their deadline (35s)"
sleep 35

step "flows check"
set +e # exit 3 means stuck items were found, which is the point
maybe 3 bin/analyze flows check --since 5m --consumer-group steadystate-demo-sink --output table | tee "$OUT/flows.txt"
set -e

step "report and backlog"
set +e # report, backlog and compare exit 3 when the hypothesis failed
maybe 2 bin/analyze report "$EXP" --out "$OUT"
if has bin/analyze backlog; then bin/analyze backlog "$EXP" --format md >"$OUT/backlog.md"; fi
if has bin/analyze compare; then bin/analyze compare "$EXP" --output json >"$OUT/compare.json"; fi
if has bin/analyze run list; then
  bin/analyze run list "$EXP" >"$OUT/runs.txt"
  bin/analyze run history "$EXP" >"$OUT/history.txt" 2>&1
fi
set -e

step "done in $(($(date +%s) - START))s; written:"
for f in "$OUT"/report.* "$OUT"/backlog.md "$OUT"/flows.txt "$OUT"/compare.json "$OUT"/runs.txt "$OUT"/history.txt; do
  [ -s "$f" ] && echo "  $f"
done
echo "  $LOGS/ (ingest, sink, simulated system)"
echo
bold "The three most important findings:"
python3 "$ROOT/scripts/demo_findings.py" "$OUT"
