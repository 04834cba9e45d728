//go:build integration

package sink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/steadystate/steadystate/pipeline/bus"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/query"
)

// Records arrive on one partition of six: every partition still gets a
// progress row, checked against the brokers, and a partition that receives
// records later is reported caught up only once they are stored. Before
// this, partitions the sink had not read from had no row and the read side
// ignored them, so flows check judged items whose events were still in
// Kafka.
func TestProgressCoversEveryPartition(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := chtest.Open(t)
	cfg := NewDefaultConfig()
	cfg.Brokers, cfg.Topic = kafkatest.Brokers(), kafkatest.Topic(t, 6)
	cfg.Group = fmt.Sprintf("progress-%d", time.Now().UnixNano())
	cfg.Heartbeat = 300 * time.Millisecond
	s, err := New(cfg, Settings{}, st)
	require.NoError(t, err)

	to := func(partition, from, n int) {
		t.Helper()
		tr := bus.NewTransport()
		defer tr.CloseIdleConnections()
		w := &kafka.Writer{
			Addr: kafka.TCP(cfg.Brokers...), Topic: cfg.Topic, RequiredAcks: kafka.RequireAll, Transport: tr,
			Balancer: kafka.BalancerFunc(func(kafka.Message, ...int) int { return partition }),
		}
		defer func() { _ = w.Close() }()
		msgs := make([]kafka.Message, 0, n)
		for i := from; i < from+n; i++ {
			msgs = append(msgs, kafka.Message{Value: benchWire(i)})
		}
		require.NoError(t, w.WriteMessages(ctx, msgs...))
	}
	to(0, 0, 200)

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() {
		stop()
		assert.NoError(t, <-done)
	}()

	r := query.New(st)
	// progress waits until every partition's newest row is caught up and
	// checked after since, and returns the rows.
	progress := func(since time.Time) []query.ProgressRow {
		t.Helper()
		var rows []query.ProgressRow
		require.Eventually(t, func() bool {
			rows, err = r.Progress(ctx, cfg.Group)
			require.NoError(t, err)
			if len(rows) != 6 {
				return false
			}
			for _, p := range rows {
				if p.CaughtUp == 0 || p.LastUpdateNs < uint64(since.UnixNano()) {
					return false
				}
			}
			return true
		}, time.Minute, 100*time.Millisecond, "every partition of %s caught up after %s: %+v", cfg.Topic, since, rows)
		return rows
	}
	rows := progress(time.Now())
	for _, p := range rows {
		want := int64(-1) // nothing committed on an empty partition
		if p.Partition == 0 {
			want = 200
		}
		assert.Equal(t, want, p.CommittedOffset, "partition %d", p.Partition)
	}

	// Records on partition 3: a caught-up claim checked after Kafka
	// acknowledged them comes only once they are committed.
	to(3, 200, 50)
	rows = progress(time.Now()) // checked after Kafka acknowledged them

	assert.Equal(t, int64(50), rows[3].CommittedOffset)
	n, err := r.CountEvents(ctx, query.EventsRequest{ExperimentID: "exp-1", Since: time.Unix(1_600_000_000, 0), Until: time.Unix(1_800_000_000, 0)})
	require.NoError(t, err)
	assert.Equal(t, uint64(250), n, "a caught-up claim after the send means the records are stored")
}
