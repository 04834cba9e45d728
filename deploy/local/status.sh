#!/usr/bin/env bash
# Prints whether each engine of the local stack runs and answers. Exits 1
# when either does not answer.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
rc=0
if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
  owner=external; pid_alive "$KAFKA_DIR/kafka.pid" kafka.Kafka && owner="pid $(cat "$KAFKA_DIR/kafka.pid")"
  kv=$(grep -oE 'Kafka version: [^ ]+' "$KAFKA_DIR/log/server.log" 2>/dev/null | tail -n1 | cut -d' ' -f3)
  printf 'kafka       up    %-10s %s (%s)\n' "${kv:-?}" "$KAFKA_HOST:$KAFKA_PORT" "$owner"
else printf 'kafka       down  %s\n' "$KAFKA_HOST:$KAFKA_PORT"; rc=1; fi
PATH=$PATH:/usr/sbin
if command -v clickhouse-client >/dev/null && chv=$(ch_client --query 'SELECT version()' 2>/dev/null); then
  owner=external; pid_alive "$CH_DIR/clickhouse.pid" clickhouse-server && owner="pid $(cat "$CH_DIR/clickhouse.pid")"
  printf 'clickhouse  up    %-10s %s (%s)\n' "$chv" "$CH_HOST:$CH_PORT" "$owner"
else printf 'clickhouse  down  %s\n' "$CH_HOST:$CH_PORT"; rc=1; fi
exit $rc
