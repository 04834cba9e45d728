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
