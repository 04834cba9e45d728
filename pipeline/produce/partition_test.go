package produce

import (
	"context"
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestPartitionsAsKafkaGo: every key goes to the partition kafka-go's Hash
// balancer (the producer before franz-go) chose, so a flow item or trace
// keeps its partition across the upgrade and in mixed deployments.
func TestPartitionsAsKafkaGo(t *testing.T) {
	part := keyPartitioner().ForTopic("t")
	var old kafka.Hash
	for _, n := range []int{1, 3, 6, 7, 12} {
		parts := make([]int, n)
		for i := range parts {
			parts[i] = i
		}
		for i := range 5000 {
			key := []byte(fmt.Sprintf("checkout\x00order-%d", i))
			if i%2 == 1 {
				key = []byte(fmt.Sprintf("%032x", i*7919))
			}
			want := old.Balance(kafka.Message{Key: key}, parts...)
			if got := part.Partition(&kgo.Record{Key: key}, n); got != want {
				t.Fatalf("key %q of %d partitions: partition %d, kafka-go chose %d", key, n, got, want)
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{kerr.NotLeaderForPartition, "retriable"},
		{kerr.NotEnoughReplicas, "retriable"},
		{kerr.TopicAuthorizationFailed, "permanent"},
		{kerr.MessageTooLarge, "permanent"},
		{fmt.Errorf("x: %w", kgo.ErrRecordTimeout), "retries exhausted"},
		{kgo.ErrClientClosed, "producer closed"},
		{context.Canceled, "gave up waiting"},
	} {
		assert.Equal(t, tc.want, describe(tc.err), "%v", tc.err)
	}
}

func TestValidate(t *testing.T) {
	cfg := NewDefaultConfig()
	require.NoError(t, cfg.Validate())
	cfg.MaxInflight, cfg.Compression, cfg.BatchBytes = 0, "brotli", 10
	err := cfg.Validate()
	require.ErrorContains(t, err, "max_inflight 0")
	require.ErrorContains(t, err, `compression "brotli"`)
	require.ErrorContains(t, err, "batch_bytes 10")
}
