#!/usr/bin/env bash
# Starts the local scale-out cluster (`make up CLUSTER=1`): ZooKeeper, three
# Kafka brokers in one KRaft quorum (topics RF 3, min.insync.replicas 2),
# ClickHouse 2 shards x 2 replicas (remote_servers, macros, distributed DDL
# through ZooKeeper), `analyze migrate --cluster` applied, and two
# `ingest serve` plus two `ingest sink` (one consumer group). Everything is
# under $STATE_DIR/cluster on ports of its own; the single-node stack is not
# touched. Idempotent: what already runs is left alone. A process that fails
# to start is named and its log tail shown. CLUSTER_INGEST=0 starts only the
# engines (the tests start their own serve and sink processes).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
PATH=$PATH:/usr/sbin

# Java, Maven and clickhouse-server come with the single-node stack's installer.
command -v java >/dev/null && command -v clickhouse-server >/dev/null ||
  die "java and clickhouse-server are missing: run \`make up\` once (it installs them)"

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

log4j_config() { # FILE
  cat >"$1" <<'PROPS'
log4j.rootLogger=INFO, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.zookeeper=WARN
PROPS
}

# --- ZooKeeper (the jars ship with Kafka) ------------------------------------

start_zk() {
  local dir=$CLUSTER_DIR/zk
  if pid_alive "$dir/zk.pid" ZooKeeperServerMain; then log "zookeeper already running"; return 0; fi
  port_open "$CL_HOST" "$ZK_PORT" && die "port $ZK_PORT is taken by a process this script did not start"
  mkdir -p "$dir/data" "$dir/log"
  cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$ZK_PORT
clientPortAddress=$CL_HOST
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,stat,mntr,srvr
autopurge.purgeInterval=1
CFG
  log4j_config "$dir/log4j.properties"
  log "starting zookeeper on $CL_HOST:$ZK_PORT"
  nohup setsid java -Xms64m "-Xmx$ZK_HEAP" -XX:+UseSerialGC -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$dir/log4j.properties" -cp "$LIBS/*" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >"$dir/log/zk.log" 2>&1 </dev/null &
  echo $! >"$dir/zk.pid"
}

# `ruok` answers imok while ZooKeeper still loads its snapshot and log and
# refuses sessions ("not currently serving requests"); ClickHouse started
# then fails on its replicated tables. `srvr` shows a Mode only once it serves.
# Each read waits at most 3 s: a server that accepted the connection but
# does not answer (still starting, or stopped by a test with SIGSTOP) must
# not hang the start; the caller's deadline then decides.
zk_ok() {
  local line ok=1
  exec 3<>"/dev/tcp/$CL_HOST/$ZK_PORT" || return 1
  printf srvr >&3 || { exec 3<&-; return 1; }
  while IFS= read -r -t 3 line <&3; do
    if [[ $line == "Mode: "* ]]; then ok=0; break; fi
  done
  exec 3<&-
  return $ok
}

# --- Kafka: three combined broker+controller nodes ---------------------------

kafka_node_config() { # N
  local n=$1 dir=$CLUSTER_DIR/kafka$1 voters="" i
  for i in $(seq 1 "$KAFKA_BROKER_COUNT"); do
    voters+="${voters:+,}$i@$CL_HOST:$(cl_kafka_controller_port "$i")"
  done
  mkdir -p "$dir/log"
  cat >"$dir/server.properties" <<PROPS
# Written by deploy/local/cluster/up.sh: broker $n of the local KRaft cluster.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://$CL_HOST:$(cl_kafka_port "$n"),CONTROLLER://$CL_HOST:$(cl_kafka_controller_port "$n")
advertised.listeners=PLAINTEXT://$CL_HOST:$(cl_kafka_port "$n")
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=$KAFKA_PARTITIONS
default.replication.factor=$KAFKA_REPLICATION_FACTOR
min.insync.replicas=$KAFKA_MIN_INSYNC_REPLICAS
auto.create.topics.enable=false
offsets.topic.replication.factor=$KAFKA_REPLICATION_FACTOR
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$KAFKA_REPLICATION_FACTOR
transaction.state.log.min.isr=$KAFKA_MIN_INSYNC_REPLICAS
group.initial.rebalance.delay.ms=0
unclean.leader.election.enable=false
replica.lag.time.max.ms=10000
# A broker that dies without a controlled shutdown (SIGKILL, a lost
# machine) keeps leading its partitions until the controller fences it,
# broker.session.timeout.ms after its last heartbeat (default 9s, 2s
# heartbeats); until then no produce to those partitions can succeed. 6s
# with 1s heartbeats moves the leaders within the 10s a request of
# ingest serve waits for Kafka, and still tolerates GC and scheduling
# pauses on a loaded 2-core machine.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000
log.retention.hours=168
log.segment.bytes=67108864
message.max.bytes=2097152
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
background.threads=2
PROPS
  log4j_config "$dir/log4j.properties"
}

start_kafka_node() { # N CLUSTER_ID
  local n=$1 dir=$CLUSTER_DIR/kafka$1
  if pid_alive "$dir/kafka.pid" "$dir/server.properties"; then log "kafka broker $n already running"; return 0; fi
  port_open "$CL_HOST" "$(cl_kafka_port "$n")" && die "port $(cl_kafka_port "$n") is taken by a process this script did not start"
  kafka_node_config "$n"
  local java_opts=(-Xms128m "-Xmx$CL_KAFKA_HEAP" -XX:+UseSerialGC -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$dir/log4j.properties")
  if [ ! -f "$dir/data/meta.properties" ]; then
    java "${java_opts[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format -t "$2" \
      -c "$dir/server.properties" >"$dir/log/format.log" 2>&1 \
      || { tail_log "$dir/log/format.log"; die "kafka broker $n: storage format failed"; }
  fi
  [ -f "$dir/log/server.log" ] && mv "$dir/log/server.log" "$dir/log/server.log.1"
  log "starting kafka broker $n on $CL_HOST:$(cl_kafka_port "$n")"
  nohup setsid java "${java_opts[@]}" -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
    >"$dir/log/server.log" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
}

kafka_started() { grep -q 'Kafka Server started' "$1"; }

# --- ClickHouse: 2 shards x 2 replicas ---------------------------------------

start_ch_node() { # N (0..3)
  local n=$1 dir=$CLUSTER_DIR/ch$1 shard replica
  shard=$(printf '%02d' $((n / 2 + 1))); replica="s$((n / 2 + 1))r$((n % 2 + 1))"
  if pid_alive "$dir/clickhouse.pid" "$dir/etc/config.xml"; then log "clickhouse $replica already running"; return 0; fi
  port_open "$CL_HOST" "$(cl_ch_port "$n")" && die "port $(cl_ch_port "$n") is taken by a process this script did not start"
  mkdir -p "$dir"/{data,tmp,user_files,format_schemas,log,etc}
  if [ -f "$dir/clickhouse.pid" ]; then
    # Not stopped by down.sh (killed, crashed): its local parts may differ
    # from what ZooKeeper lists, which 18.16 refuses at start ("doesn't
    # look like the set of parts in ZooKeeper"). The documented flag lets
    # it move the odd parts aside and fetch the rest from its peer.
    log "clickhouse $replica was not stopped cleanly: starting with force_restore_data"
    mkdir -p "$dir/data/flags" && touch "$dir/data/flags/force_restore_data"
  fi
  sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$(cl_ch_port "$n")|g" -e "s|@HTTP_PORT@|$(cl_ch_http_port "$n")|g" \
    -e "s|@INTERSERVER_PORT@|$(cl_ch_interserver_port "$n")|g" -e "s|@CLUSTER@|$CLUSTER_NAME|g" \
    -e "s|@PORT0@|$(cl_ch_port 0)|g" -e "s|@PORT1@|$(cl_ch_port 1)|g" \
    -e "s|@PORT2@|$(cl_ch_port 2)|g" -e "s|@PORT3@|$(cl_ch_port 3)|g" \
    -e "s|@ZK_PORT@|$ZK_PORT|g" -e "s|@SHARD@|$shard|g" -e "s|@REPLICA@|$replica|g" \
    "$REPO_ROOT/deploy/local/cluster/clickhouse.xml.tmpl" >"$dir/etc/config.xml"
  cp "$REPO_ROOT/deploy/local/cluster/users.xml" "$dir/etc/users.xml"
  log "starting clickhouse shard $shard replica $replica on $CL_HOST:$(cl_ch_port "$n")"
  (cd "$dir" || exit 1
    nohup setsid clickhouse-server --config-file="$dir/etc/config.xml" \
      >"$dir/log/stdout.log" 2>&1 </dev/null &
    echo $! >"$dir/clickhouse.pid")
}

# Bounded like zk_ok: a server that accepts but does not answer fails the
# check instead of hanging it (clickhouse-client waits 300 s by default).
ch_ok() { timeout 10 clickhouse-client --host "$CL_HOST" --port "$(cl_ch_port "$1")" --connect_timeout 3 --receive_timeout 5 --query 'SELECT 1'; }

# --- ingest serve and sink ---------------------------------------------------

start_ingest() { # KIND K
  local kind=$1 k=$2 dir=$CLUSTER_DIR/$1$2 args addrs
  if pid_alive "$dir/pid" "$(ingest_marker "$kind" "$k")"; then log "ingest $kind $k already running"; return 0; fi
  mkdir -p "$dir"
  # Each sink lists every ClickHouse server, starting at a different one:
  # it inserts through the Distributed table and fails over when one dies.
  addrs=$(echo "$CL_CH_ADDRS" | tr ',' '\n' | { if [ "$k" = 2 ]; then tail -n +3; head -n 2; fi; cat; } | paste -sd, -)
  case $kind in
    serve) args=(serve --grpc "$CL_HOST:$(cl_serve_grpc "$k")" --http "$CL_HOST:$(cl_serve_http "$k")"
      --admin "$CL_HOST:$(cl_serve_admin "$k")" --topic "$CL_TOPIC" --partitions "$KAFKA_PARTITIONS") ;;
    sink) args=(sink --admin "$CL_HOST:$(cl_sink_admin "$k")" --topic "$CL_TOPIC" --group steadystate-sink) ;;
  esac
  log "starting ingest $kind $k"
  (cd "$dir" || exit 1
    STEADYSTATE_KAFKA_BROKERS=$CL_KAFKA_BROKERS STEADYSTATE_CLICKHOUSE_ADDR=$addrs \
      STEADYSTATE_CLICKHOUSE_CLUSTER=$CLUSTER_NAME STEADYSTATE_CLICKHOUSE_DATABASE=$CL_DATABASE \
      nohup setsid "$CLUSTER_DIR/bin/ingest" "${args[@]}" --log-level info \
      >"$dir/log" 2>&1 </dev/null &
    echo $! >"$dir/pid")
}

# ingest_marker KIND K: what only that process's command line contains.
ingest_marker() { if [ "$1" = serve ]; then echo "--admin $CL_HOST:$(cl_serve_admin "$2")"; else echo "--admin $CL_HOST:$(cl_sink_admin "$2")"; fi; }

admin_ready() { curl -fsS -m 5 "http://$CL_HOST:$1/readyz"; }

main() {
  mkdir -p "$CLUSTER_DIR"
  LIBS=$(kafka_libs)
  start_zk
  local n cid
  if [ -f "$CLUSTER_DIR/kafka.cluster-id" ]; then cid=$(cat "$CLUSTER_DIR/kafka.cluster-id")
  else
    cid=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
    echo "$cid" >"$CLUSTER_DIR/kafka.cluster-id"
  fi
  for n in $(seq 1 "$KAFKA_BROKER_COUNT"); do start_kafka_node "$n" "$cid"; done
  wait_or_die zookeeper "$CLUSTER_DIR/zk/zk.pid" ZooKeeperServerMain "$CLUSTER_DIR/zk/log/zk.log" 60 zk_ok
  for n in 0 1 2 3; do start_ch_node "$n"; done
  for n in 0 1 2 3; do
    wait_or_die "clickhouse server $n (port $(cl_ch_port "$n"))" "$CLUSTER_DIR/ch$n/clickhouse.pid" \
      "$CLUSTER_DIR/ch$n/etc/config.xml" "$CLUSTER_DIR/ch$n/log/clickhouse-server.err.log" 90 ch_ok "$n"
  done
  for n in $(seq 1 "$KAFKA_BROKER_COUNT"); do
    wait_or_die "kafka broker $n (port $(cl_kafka_port "$n"))" "$CLUSTER_DIR/kafka$n/kafka.pid" \
      "$CLUSTER_DIR/kafka$n/server.properties" "$CLUSTER_DIR/kafka$n/log/server.log" 120 \
      kafka_started "$CLUSTER_DIR/kafka$n/log/server.log"
  done
  if [ "${CLUSTER_INGEST:-1}" != 0 ]; then
    log "building bin/ingest and bin/analyze into $CLUSTER_DIR/bin"
    (cd "$REPO_ROOT" && go build -o "$CLUSTER_DIR/bin/" ./cmd/ingest ./cmd/analyze) || die "go build failed"
    # The topics exist before any producer: replication factor and partitions
    # come from deploy/cluster.env, not from a client's defaults.
    STEADYSTATE_KAFKA_BROKERS=$CL_KAFKA_BROKERS go run "$REPO_ROOT/internal/testkit/clustertest/mktopic" \
      -partitions "$KAFKA_PARTITIONS" -rf "$KAFKA_REPLICATION_FACTOR" "$CL_TOPIC" "$CL_TOPIC.dlq" \
      || die "could not create the topics on the cluster"
    STEADYSTATE_CLICKHOUSE_ADDR=$(cl_ch_port 0 | sed "s/^/$CL_HOST:/") STEADYSTATE_CLICKHOUSE_DATABASE=$CL_DATABASE \
      "$CLUSTER_DIR/bin/analyze" migrate --cluster "$CLUSTER_NAME" >"$CLUSTER_DIR/migrate.log" 2>&1 \
      || { tail_log "$CLUSTER_DIR/migrate.log"; die "analyze migrate --cluster $CLUSTER_NAME failed"; }
    for k in 1 2; do start_ingest serve "$k"; start_ingest sink "$k"; done
    for k in 1 2; do
      wait_or_die "ingest serve $k" "$CLUSTER_DIR/serve$k/pid" "$(ingest_marker serve "$k")" "$CLUSTER_DIR/serve$k/log" 60 admin_ready "$(cl_serve_admin "$k")"
      wait_or_die "ingest sink $k" "$CLUSTER_DIR/sink$k/pid" "$(ingest_marker sink "$k")" "$CLUSTER_DIR/sink$k/log" 60 admin_ready "$(cl_sink_admin "$k")"
    done
  fi
  printf 'zookeeper   %s\n' "$CL_HOST:$ZK_PORT"
  printf 'kafka       %s brokers  %s (RF %s, min.insync.replicas %s)\n' "$KAFKA_BROKER_COUNT" "$CL_KAFKA_BROKERS" "$KAFKA_REPLICATION_FACTOR" "$KAFKA_MIN_INSYNC_REPLICAS"
  printf 'clickhouse  %s x %s     %s (cluster %s)\n' "$CLICKHOUSE_SHARDS" "$CLICKHOUSE_REPLICAS" "$CL_CH_ADDRS" "$CLUSTER_NAME"
  if [ "${CLUSTER_INGEST:-1}" != 0 ]; then
    printf 'ingest      serve http %s %s, sinks admin %s %s\n' "$(cl_serve_http 1)" "$(cl_serve_http 2)" "$(cl_sink_admin 1)" "$(cl_sink_admin 2)"
  fi
  printf 'state       %s\n' "$CLUSTER_DIR"
}

main "$@"
