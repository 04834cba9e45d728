package produce

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
)

func TestUnacknowledgedKeepsOnlyFailedRecords(t *testing.T) {
	msgs := []kafka.Message{{Value: []byte("a")}, {Value: []byte("b")}, {Value: []byte("c")}}
	err := fmt.Errorf("write: %w", kafka.WriteErrors{nil, kafka.NotLeaderForPartition, nil})
	got := unacknowledged(msgs, err)
	assert.Equal(t, []kafka.Message{{Value: []byte("b")}}, got)
	assert.Equal(t, msgs, unacknowledged(msgs, errors.New("dial: refused")), "an error for the whole write keeps every record")
}

func TestRetriable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{kafka.NotLeaderForPartition, true},
		{kafka.LeaderNotAvailable, true},
		{kafka.NotEnoughReplicas, true},
		{kafka.RequestTimedOut, true},
		{fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED), true},
		{kafka.WriteErrors{nil, kafka.NotLeaderForPartition}, true},
		{kafka.TopicAuthorizationFailed, false},
		{kafka.InvalidTopic, false},
		{kafka.WriteErrors{kafka.NotLeaderForPartition, kafka.MessageSizeTooLarge}, false},
		{kafka.MessageTooLargeError{}, false},
		{context.Canceled, false},
	} {
		assert.Equal(t, tc.want, retriable(tc.err), "%v", tc.err)
	}
}
