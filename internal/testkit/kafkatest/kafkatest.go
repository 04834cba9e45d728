// Package kafkatest connects integration tests to the Kafka broker that
// `make up` started (or $STEADYSTATE_KAFKA_BROKERS). Each test gets a topic
// of its own. A broker that does not answer fails the test: integration
// tests never skip.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/steadystate/steadystate/pipeline/bus"
)

// EnvBrokers lists bootstrap brokers, comma separated (bus.EnvBrokers).
const EnvBrokers = bus.EnvBrokers

// Brokers returns the bootstrap brokers, as every command finds them.
func Brokers() []string { return bus.DefaultBrokers() }

// Topic creates a uniquely named topic with the given partition count and
// deletes it when the test ends.
func Topic(tb testing.TB, partitions int) string {
	tb.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("test.%s.%s", strings.NewReplacer("/", ".", " ", "_").Replace(tb.Name()), hex.EncodeToString(b[:]))
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := CreateTopic(ctx, Brokers(), name, partitions); err != nil {
		tb.Fatalf("Kafka is not usable at %v (start it with `make up`): %v", Brokers(), err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = DeleteTopic(ctx, Brokers(), name)
	})
	return name
}

// CreateTopic creates a topic (the producer's own EnsureTopic) and waits
// until its partitions have leaders.
func CreateTopic(ctx context.Context, brokers []string, name string, partitions int) error {
	return bus.EnsureTopic(ctx, brokers, bus.TopicSpec{Name: name, Partitions: partitions, Replication: 1})
}

// DeleteTopic deletes a topic.
func DeleteTopic(ctx context.Context, brokers []string, name string) error {
	return bus.DeleteTopic(ctx, brokers, name)
}

// WaitCommitted waits until group has committed every record of topic up
// to its high-water marks. The sink commits a batch only after its INSERT
// returned, and ClickHouse returns only after every materialized view of
// the insert is written, so after this every view holds every record: a
// test that waited only for the events table (or one view) can read a view
// that the last insert has not reached yet.
func WaitCommitted(ctx context.Context, brokers []string, topic, group string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := bus.NewTransport()
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: tr}
	var last string
	for {
		done, state, err := committedAll(ctx, client, topic, group)
		if err == nil && done {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = state
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("group %s has not committed all of topic %s within %s: %s", group, topic, timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// committedAll reports whether group's committed offset reached the
// high-water mark of every partition of topic, and the offsets if not.
func committedAll(ctx context.Context, client *kafka.Client, topic, group string) (bool, string, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return false, "", fmt.Errorf("metadata of %s: %w", topic, err)
	}
	var parts []int
	for _, t := range md.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
		}
	}
	hwm, committed, err := bus.Offsets(ctx, client, topic, group, parts)
	if err != nil {
		return false, "", err
	}
	var behind []string
	for p, end := range hwm {
		if c, ok := committed[p]; end > 0 && (!ok || c < end) {
			behind = append(behind, fmt.Sprintf("partition %d committed %d of %d", p, c, end))
		}
	}
	return len(behind) == 0 && len(parts) > 0, strings.Join(behind, ", "), nil
}
