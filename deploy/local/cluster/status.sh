#!/usr/bin/env bash
# Prints whether each process of the local cluster runs and answers; exits 1
# when one does not.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
PATH=$PATH:/usr/sbin
rc=0
row() { printf '%-22s %-5s %s\n' "$1" "$2" "$3"; [ "$2" = up ] || rc=1; }
if [ "$( (exec 3<>"/dev/tcp/$CL_HOST/$ZK_PORT"; printf ruok >&3; head -c4 <&3) 2>/dev/null)" = imok ]; then
  row zookeeper up "$CL_HOST:$ZK_PORT"; else row zookeeper down "$CL_HOST:$ZK_PORT"; fi
for n in $(seq 1 "$KAFKA_BROKER_COUNT"); do
  p=$(cl_kafka_port "$n")
  if port_open "$CL_HOST" "$p"; then row "kafka broker $n" up "$CL_HOST:$p"; else row "kafka broker $n" down "$CL_HOST:$p"; fi
done
for n in 0 1 2 3; do
  p=$(cl_ch_port "$n")
  if v=$(cl_ch_client "$n" --query "SELECT concat(version(), ' ', arrayStringConcat(groupArray(concat(macro, '=', substitution)), ' ')) FROM system.macros" 2>/dev/null); then
    row "clickhouse $n" up "$CL_HOST:$p $v"; else row "clickhouse $n" down "$CL_HOST:$p"; fi
done
for k in 1 2; do
  for kind in serve sink; do
    if [ $kind = serve ]; then p=$(cl_serve_admin "$k"); else p=$(cl_sink_admin "$k"); fi
    [ -f "$CLUSTER_DIR/$kind$k/pid" ] || { printf '%-22s %-5s\n' "ingest $kind $k" "-"; continue; }
    if curl -fsS "http://$CL_HOST:$p/readyz" >/dev/null 2>&1; then row "ingest $kind $k" up "admin $CL_HOST:$p"
    else row "ingest $kind $k" down "admin $CL_HOST:$p"; fi
  done
done
exit $rc
