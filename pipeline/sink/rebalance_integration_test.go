//go:build integration

package sink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
)

// A second sink joins the group mid-stream: the first flushes and commits
// what it holds when its partitions are revoked, so the new owner starts
// after it and no row is inserted twice (raw rows == distinct ids).
// Without the revoke hook the first sink inserted and committed its batch
// after the rebalance, while the new owner had already started from the
// older commit: thousands of rows went in twice.
func TestCleanRebalanceInsertsOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := chtest.Open(t)
	cfg := NewDefaultConfig()
	cfg.Brokers, cfg.Topic = kafkatest.Brokers(), kafkatest.Topic(t, 6)
	cfg.Group = fmt.Sprintf("rebalance-%d", time.Now().UnixNano())
	// Batches old enough to be mid-flight at the rebalance.
	cfg.MaxAge = 1500 * time.Millisecond

	run := func(name string) (stop func()) {
		s, err := New(cfg, Settings{}, st)
		require.NoError(t, err)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx) }()
		return func() {
			cancel()
			assert.NoError(t, <-done, name)
		}
	}

	// franz-go's idempotent producer: it retries a partition whose leader
	// is not ready yet without writing anything twice.
	w, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.DefaultProduceTopic(cfg.Topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	require.NoError(t, err)
	defer w.Close()
	const n, per = 40_000, 500
	produced := make(chan error, 1)
	go func() {
		for lo := 0; lo < n; lo += per {
			recs := make([]*kgo.Record, 0, per)
			for i := lo; i < lo+per; i++ {
				recs = append(recs, &kgo.Record{Value: benchWire(i)})
			}
			if err := w.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				produced <- err
				return
			}
			time.Sleep(60 * time.Millisecond) // about 4 s in all
		}
		produced <- nil
	}()

	stopA := run("first sink")
	time.Sleep(2 * time.Second)
	stopB := run("second sink") // joins mid-stream
	require.NoError(t, <-produced)

	count := func() (distinct, raw uint64) {
		require.NoError(t, st.Conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(event_id), count() FROM %s.events", st.DB)).Scan(&distinct, &raw))
		return distinct, raw
	}
	var distinct, raw uint64
	require.Eventually(t, func() bool { distinct, raw = count(); return distinct == n }, time.Minute, 200*time.Millisecond,
		"all %d events stored", n)
	require.NoError(t, kafkatest.WaitCommitted(ctx, cfg.Brokers, cfg.Topic, cfg.Group, time.Minute))
	distinct, raw = count()
	stopB()
	stopA()
	assert.Equal(t, uint64(n), distinct)
	assert.Equal(t, distinct, raw, "rows inserted twice across the rebalance")
}
