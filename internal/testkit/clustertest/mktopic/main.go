// Command mktopic creates Kafka topics with a replication factor before any
// producer runs (deploy/local/cluster/up.sh): on the cluster the topic's
// RF and min.insync.replicas come from deploy/cluster.env, not from a
// client's defaults. Brokers: $STEADYSTATE_KAFKA_BROKERS.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/clustertest"
	"github.com/steadystate/steadystate/pipeline/bus"
)

func main() {
	partitions := flag.Int("partitions", 6, "partition count")
	rf := flag.Int("rf", 3, "replication factor (min.insync.replicas is rf-1)")
	flag.Parse()
	if err := create(flag.Args(), *partitions, *rf); err != nil {
		fmt.Fprintln(os.Stderr, "mktopic:", err)
		os.Exit(1)
	}
}

func create(topics []string, partitions, rf int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, t := range topics {
		if err := clustertest.CreateTopic(ctx, bus.DefaultBrokers(), t, partitions, rf); err != nil {
			return err
		}
	}
	return nil
}
