// Package clustertest connects integration tests to the local scale-out
// cluster that `make up CLUSTER=1` starts (deploy/local/cluster): three
// Kafka brokers, ClickHouse 2 shards x 2 replicas and ZooKeeper, on ports of
// their own. Its settings come from deploy/cluster.env, the file the start
// script and the deployment checks read too.
package clustertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/steadystate/steadystate/pipeline/bus"

	"github.com/segmentio/kafka-go"
)

// CreateTopic creates a topic with a replication factor and
// min.insync.replicas (RF-1, at least 1) unless it exists, and waits until
// every partition has a leader and its full set of in-sync replicas.
func CreateTopic(ctx context.Context, brokers []string, name string, partitions, rf int) error {
	tr := bus.NewWaitTransport()
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: tr}
	minISR := rf - 1
	if minISR < 1 {
		minISR = 1
	}
	req := &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: name, NumPartitions: partitions, ReplicationFactor: rf,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(minISR)}},
	}}}
	for {
		err := createOnce(ctx, client, req, name)
		if err == nil {
			break
		}
		if !retriable(err) {
			return fmt.Errorf("create topic %s on %v: %w", name, brokers, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create topic %s on %v: %w (still failing when the context ended: %w)", name, brokers, err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{name}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == partitions {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				if p.Leader.ID < 0 || p.Error != nil || len(p.Isr) < rf {
					ready = false
				}
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s: partitions have no leader or in-sync replicas yet: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// createOnce sends one CreateTopics request; an existing topic is no error.
func createOnce(ctx context.Context, client *kafka.Client, req *kafka.CreateTopicsRequest, name string) error {
	res, err := client.CreateTopics(ctx, req)
	if err != nil {
		return err
	}
	if err := res.Errors[name]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return err
	}
	return nil
}

// retriable reports whether a CreateTopics failure is one a cluster that
// is starting or changing answers for a while: a retriable Kafka error, a
// broker the client's metadata named but no longer lists (kafka-go's
// BrokerNotAvailable: seen in CI right after the brokers started, while
// their membership still changed between two metadata refreshes), or too
// few registered brokers for the replication factor yet.
func retriable(err error) bool {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return false
	}
	return ke.Temporary() || ke == kafka.BrokerNotAvailable || ke == kafka.InvalidReplicationFactor
}
