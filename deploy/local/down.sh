#!/usr/bin/env bash
# Stops what up.sh started (by pid file only) and keeps data, unless
# WIPE=1 is set, which also removes the state directory.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

stop() { # stop NAME PIDFILE MARKER
  local name=$1 file=$2 marker=$3 pid
  if ! pid_alive "$file" "$marker"; then rm -f "$file"; log "$name not running"; return 0; fi
  pid=$(cat "$file")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do pid_alive "$file" "$marker" || break; sleep 0.2; done
  if pid_alive "$file" "$marker"; then log "$name ignored SIGTERM for 20s; killing"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$file"
}

stop kafka "$KAFKA_DIR/kafka.pid" kafka.Kafka
stop clickhouse "$CH_DIR/clickhouse.pid" clickhouse-server
if [ "${WIPE:-0}" = 1 ]; then log "wiping $STATE_DIR"; rm -rf "$STATE_DIR"; fi
