# shellcheck shell=bash
# Settings of the local scale-out cluster (`make up CLUSTER=1`): ZooKeeper,
# a 3-broker KRaft Kafka and ClickHouse 2 shards x 2 replicas, plus two
# `ingest serve` and two `ingest sink` processes, on loopback ports of their
# own so the single-node stack keeps running beside it. Sourced by
# cluster/{up,down,status}.sh; tests read the same ports (internal/testkit/clustertest).
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
# shellcheck source=../../cluster.env
source "$REPO_ROOT/deploy/cluster.env"

# STEADYSTATE_CLUSTER_DIR puts the cluster's state elsewhere: `make test`
# starts its cluster in a fresh directory and removes it afterwards.
CLUSTER_DIR=${STEADYSTATE_CLUSTER_DIR:-$STATE_DIR/cluster}
CL_HOST=127.0.0.1
ZK_PORT=${STEADYSTATE_CLUSTER_ZK_PORT:-12181}
ZK_HEAP=${STEADYSTATE_CLUSTER_ZK_HEAP:-128m}
CL_KAFKA_HEAP=${STEADYSTATE_CLUSTER_KAFKA_HEAP:-320m}
# Broker i (1..3): client port 19091+i, controller port 19191+i.
cl_kafka_port() { echo $((19091 + $1)); }
cl_kafka_controller_port() { echo $((19191 + $1)); }
CL_KAFKA_BROKERS=127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094
# ClickHouse server n (0..3) = shard n/2+1, replica n%2+1: native 19000+n,
# http 18123+n, interserver 19009+n.
cl_ch_port() { echo $((19000 + $1)); }
cl_ch_http_port() { echo $((18123 + $1)); }
cl_ch_interserver_port() { echo $((19009 + $1)); }
CL_CH_ADDRS=127.0.0.1:19000,127.0.0.1:19001,127.0.0.1:19002,127.0.0.1:19003
CL_DATABASE=${STEADYSTATE_CLUSTER_DATABASE:-steadystate}
CL_TOPIC=steadystate.events
# ingest serve k (1..2): OTLP/gRPC 24307+10k, HTTP 24308+10k, admin 29454+10k;
# ingest sink k: admin 29455+10k.
cl_serve_grpc() { echo $((24307 + 10 * $1)); }
cl_serve_http() { echo $((24308 + 10 * $1)); }
cl_serve_admin() { echo $((29454 + 10 * $1)); }
cl_sink_admin() { echo $((29455 + 10 * $1)); }

cl_ch_client() { clickhouse-client --host "$CL_HOST" --port "$(cl_ch_port "$1")" "${@:2}"; }

# wait_or_die NAME PIDFILE MARKER LOG SECONDS CHECK...: waits until CHECK
# succeeds; a process that exits, or a timeout, names NAME and shows LOG's tail.
wait_or_die() {
  local name=$1 pidfile=$2 marker=$3 logf=$4 secs=$5; shift 5
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$pidfile" "$marker"; then
      tail_log "$logf"; die "$name exited during start (log: $logf)"
    fi
    [ $SECONDS -lt $deadline ] || { tail_log "$logf"; die "$name did not answer within ${secs}s (log: $logf)"; }
    sleep 0.3
  done
}
