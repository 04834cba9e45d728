//go:build integration

package kafkatest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steadystate/steadystate/pipeline/bus"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
)

// The local broker accepts a topic, a produce with acks=all and a group
// consume through kafka-go.
func TestBrokerRoundTrip(t *testing.T) {
	topic := kafkatest.Topic(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	tr := bus.NewTransport()
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(kafkatest.Brokers()...), Topic: topic, RequiredAcks: kafka.RequireAll, Transport: tr,
		BatchTimeout: 5 * time.Millisecond, Balancer: &kafka.Hash{}}
	defer w.Close()
	const n = 300
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("k%d", i%7)), Value: []byte(fmt.Sprintf("v%d", i))}
	}
	require.NoError(t, w.WriteMessages(ctx, msgs...))

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: kafkatest.Brokers(), Topic: topic, GroupID: topic + ".g", MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	seen := map[string]int{}
	partitionOf := map[string]int{}
	for len(seen) < n {
		m, err := r.FetchMessage(ctx)
		require.NoError(t, err)
		seen[string(m.Value)]++
		if p, ok := partitionOf[string(m.Key)]; ok {
			assert.Equal(t, p, m.Partition, "one key, one partition")
		}
		partitionOf[string(m.Key)] = m.Partition
		require.NoError(t, r.CommitMessages(ctx, m))
	}
	assert.Len(t, seen, n)
	for v, c := range seen {
		assert.Equal(t, 1, c, v)
	}
}
