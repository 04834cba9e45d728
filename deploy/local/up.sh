#!/usr/bin/env bash
# Installs (when missing) and starts the local stack on loopback: a pinned
# Apache Kafka broker in KRaft mode, run from Maven Central jars with the
# machine's Java, and Debian's clickhouse-server with a project-owned config
# and data directory. Idempotent: what already runs is left alone.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
    die "need $* but cannot install it (not root, no sudo)"
  fi
  local SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  if [ $apt_updated = 0 ]; then $SUDO apt-get update -qq >&2; apt_updated=1; fi
  log "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >&2
}

ensure_tools() {
  local want=()
  command -v java >/dev/null || want+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || want+=(maven)
  command -v clickhouse-server >/dev/null || [ -x /usr/sbin/clickhouse-server ] || want+=(clickhouse-server)
  command -v clickhouse-client >/dev/null || want+=(clickhouse-client)
  # Flow alert tests and `make bench-flows` start a real Alertmanager.
  [ -x /usr/bin/prometheus-alertmanager ] || command -v alertmanager >/dev/null || want+=(prometheus-alertmanager)
  if [ ${#want[@]} -gt 0 ]; then apt_install "${want[@]}"; fi
  PATH=$PATH:/usr/sbin
}

# --- Kafka -----------------------------------------------------------------

kafka_libs() {
  local libs=$KAFKA_DIR/libs-$KAFKA_VERSION
  if [ ! -f "$libs/.complete" ]; then
    log "resolving Apache Kafka $KAFKA_VERSION jars from Maven Central"
    rm -rf "$libs"
    mvn -q -B -Dstyle.color=never -f "$REPO_ROOT/deploy/local/kafka/pom.xml" \
      -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime \
      -DoutputDirectory="$libs" dependency:copy-dependencies >&2 \
      || die "maven could not resolve kafka_2.13:$KAFKA_VERSION"
    touch "$libs/.complete"
  fi
  echo "$libs"
}

kafka_config() {
  mkdir -p "$KAFKA_DIR/config" "$KAFKA_DIR/log"
  cat >"$KAFKA_DIR/config/server.properties" <<PROPS
# Written by deploy/local/up.sh: single-node KRaft broker on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=268435456
message.max.bytes=2097152
PROPS
  cat >"$KAFKA_DIR/config/log4j.properties" <<'PROPS'
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.ConsoleAppender
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.kafka.log.LogCleaner=WARN
PROPS
}

start_kafka() {
  if pid_alive "$KAFKA_DIR/kafka.pid" kafka.Kafka; then
    log "kafka already running (pid $(cat "$KAFKA_DIR/kafka.pid"))"; return 0
  fi
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    log "something not started by make up already listens on $KAFKA_HOST:$KAFKA_PORT; using it"
    return 0
  fi
  local libs; libs=$(kafka_libs)
  kafka_config
  local java_opts=(-Xms128m "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true "-Dlog4j.configuration=file:$KAFKA_DIR/config/log4j.properties")
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    log "formatting kafka storage in $KAFKA_DIR/data"
    local cluster_id
    cluster_id=$(java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
    java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$KAFKA_DIR/config/server.properties" >"$KAFKA_DIR/log/format.log" 2>&1 \
      || { tail_log "$KAFKA_DIR/log/format.log"; die "kafka storage format failed"; }
  fi
  [ -f "$KAFKA_DIR/log/server.log" ] && mv "$KAFKA_DIR/log/server.log" "$KAFKA_DIR/log/server.log.1"
  log "starting kafka $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT"
  nohup setsid java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$KAFKA_DIR/config/server.properties" \
    >"$KAFKA_DIR/log/server.log" 2>&1 </dev/null &
  echo $! >"$KAFKA_DIR/kafka.pid"
}

wait_kafka() {
  local deadline=$((SECONDS + 90))
  until port_open "$KAFKA_HOST" "$KAFKA_PORT" && { [ ! -f "$KAFKA_DIR/kafka.pid" ] ||
    grep -q 'Kafka Server started' "$KAFKA_DIR/log/server.log" 2>/dev/null; }; do
    if [ -f "$KAFKA_DIR/kafka.pid" ] && ! pid_alive "$KAFKA_DIR/kafka.pid" kafka.Kafka; then
      tail_log "$KAFKA_DIR/log/server.log"; rm -f "$KAFKA_DIR/kafka.pid"; die "kafka exited during start"
    fi
    [ $SECONDS -lt $deadline ] || { tail_log "$KAFKA_DIR/log/server.log"; die "kafka did not answer within 90s"; }
    sleep 0.3
  done
}

# --- ClickHouse ------------------------------------------------------------

start_clickhouse() {
  if pid_alive "$CH_DIR/clickhouse.pid" clickhouse-server; then
    log "clickhouse already running (pid $(cat "$CH_DIR/clickhouse.pid"))"; return 0
  fi
  if port_open "$CH_HOST" "$CH_PORT"; then
    log "something not started by make up already listens on $CH_HOST:$CH_PORT; using it"
    return 0
  fi
  mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas,log,etc}
  sed -e "s|@STATE@|$CH_DIR|g" -e "s|@HOST@|$CH_HOST|g" -e "s|@PORT@|$CH_PORT|g" \
    -e "s|@HTTP_PORT@|$CLICKHOUSE_HTTP_PORT|g" \
    "$REPO_ROOT/deploy/local/clickhouse/config.xml.tmpl" >"$CH_DIR/etc/config.xml"
  cp "$REPO_ROOT/deploy/local/clickhouse/users.xml" "$CH_DIR/etc/users.xml"
  log "starting clickhouse-server on $CH_HOST:$CH_PORT"
  # setsid execs the server, so $! is the server's own pid.
  (cd "$CH_DIR" || exit 1
    nohup setsid clickhouse-server --config-file="$CH_DIR/etc/config.xml" \
      >"$CH_DIR/log/stdout.log" 2>&1 </dev/null &
    echo $! >"$CH_DIR/clickhouse.pid")
}

wait_clickhouse() {
  local deadline=$((SECONDS + 60))
  until ch_client --query 'SELECT 1' >/dev/null 2>&1; do
    if [ -f "$CH_DIR/clickhouse.pid" ] && ! pid_alive "$CH_DIR/clickhouse.pid" clickhouse-server; then
      tail_log "$CH_DIR/log/clickhouse-server.err.log"; tail_log "$CH_DIR/log/stdout.log"
      rm -f "$CH_DIR/clickhouse.pid"; die "clickhouse-server exited during start"
    fi
    [ $SECONDS -lt $deadline ] || { tail_log "$CH_DIR/log/clickhouse-server.err.log"; die "clickhouse did not answer within 60s"; }
    sleep 0.3
  done
}

main() {
  ensure_tools
  mkdir -p "$STATE_DIR"
  start_clickhouse
  start_kafka
  wait_clickhouse
  wait_kafka
  local kv chv
  kv=$(grep -oE 'Kafka version: [^ ]+' "$KAFKA_DIR/log/server.log" 2>/dev/null | tail -n1 | cut -d' ' -f3 || true)
  chv=$(ch_client --query 'SELECT version()')
  printf 'kafka       %-10s %s\n' "${kv:-external}" "$KAFKA_HOST:$KAFKA_PORT"
  printf 'clickhouse  %-10s %s (native)\n' "$chv" "$CH_HOST:$CH_PORT"
  printf 'state       %s\n' "$STATE_DIR"
}

main "$@"
