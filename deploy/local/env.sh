# shellcheck shell=bash
# Shared settings of the local stack. Sourced by up.sh, down.sh and status.sh.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Everything the stack writes (jars, data, logs, pid files) lives here.
STATE_DIR=${STEADYSTATE_STATE_DIR:-$REPO_ROOT/.state}
KAFKA_VERSION=3.9.1
KAFKA_BROKERS=${STEADYSTATE_KAFKA_BROKERS:-127.0.0.1:9092}
KAFKA_CONTROLLER_PORT=${STEADYSTATE_KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${STEADYSTATE_KAFKA_HEAP:-512m}
CLICKHOUSE_ADDR=${STEADYSTATE_CLICKHOUSE_ADDR:-127.0.0.1:9000}
CLICKHOUSE_HTTP_PORT=${STEADYSTATE_CLICKHOUSE_HTTP_PORT:-8123}

KAFKA_HOST=${KAFKA_BROKERS%%,*}; KAFKA_PORT=${KAFKA_HOST##*:}; KAFKA_HOST=${KAFKA_HOST%:*}
CH_HOST=${CLICKHOUSE_ADDR%:*}; CH_PORT=${CLICKHOUSE_ADDR##*:}

KAFKA_DIR=$STATE_DIR/kafka
CH_DIR=$STATE_DIR/clickhouse

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# pid_alive FILE MARKER: true when FILE names a live process whose command
# line contains MARKER (so a recycled pid is never mistaken for ours).
pid_alive() {
  local file=$1 marker=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# tail_log FILE: the last lines of an engine log, for a failed start.
tail_log() { log "last lines of $1:"; tail -n 40 "$1" >&2 2>/dev/null || true; }

ch_client() { clickhouse-client --host "$CH_HOST" --port "$CH_PORT" "$@"; }
