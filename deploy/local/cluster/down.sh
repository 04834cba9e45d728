#!/usr/bin/env bash
# Stops what cluster/up.sh started (by pid file only: the single-node stack
# is never touched) and keeps the data, unless WIPE=1, which also removes
# $STATE_DIR/cluster.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

stop() { # NAME PIDFILE MARKER
  local name=$1 file=$2 marker=$3 pid
  if ! pid_alive "$file" "$marker"; then rm -f "$file"; return 0; fi
  pid=$(cat "$file")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do pid_alive "$file" "$marker" || break; sleep 0.2; done
  if pid_alive "$file" "$marker"; then log "$name ignored SIGTERM for 20s; killing"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$file"
}

for k in 1 2; do
  stop "ingest serve $k" "$CLUSTER_DIR/serve$k/pid" "--admin $CL_HOST:$(cl_serve_admin "$k")"
  stop "ingest sink $k" "$CLUSTER_DIR/sink$k/pid" "--admin $CL_HOST:$(cl_sink_admin "$k")"
done
for n in 0 1 2 3; do stop "clickhouse $n" "$CLUSTER_DIR/ch$n/clickhouse.pid" "$CLUSTER_DIR/ch$n/etc/config.xml"; done
# The brokers together: stopped one after the other, the last cannot finish
# its controlled shutdown once the KRaft quorum has lost its majority and
# is killed after 20s.
for n in $(seq 1 "$KAFKA_BROKER_COUNT"); do stop "kafka broker $n" "$CLUSTER_DIR/kafka$n/kafka.pid" "$CLUSTER_DIR/kafka$n/server.properties" & done
wait
stop zookeeper "$CLUSTER_DIR/zk/zk.pid" ZooKeeperServerMain
if [ "${WIPE:-0}" = 1 ]; then log "wiping $CLUSTER_DIR"; rm -rf "$CLUSTER_DIR"; fi
