package clustertest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"
)

// TestRetriable: the errors a starting cluster answers CreateTopics with
// are retried, wrapped as kafka-go's client wraps them; a request the
// cluster will never accept is not.
func TestRetriable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("kafka.(*Client).CreateTopics: %w", kafka.BrokerNotAvailable), true},
		{kafka.InvalidReplicationFactor, true},
		{kafka.NotController, true},
		{kafka.RequestTimedOut, true},
		{kafka.InvalidTopic, false},
		{kafka.InvalidPartitionNumber, false},
		{errors.New("dial tcp: connection refused"), false},
	} {
		if got := retriable(c.err); got != c.want {
			t.Errorf("retriable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
