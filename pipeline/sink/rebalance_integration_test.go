//go:build integration

package sink

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/kafkatest"
	"github.com/steadystate/steadystate/pipeline/store"
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

	run := func(name string) (stop func()) { return runSink(ctx, t, cfg, st, name) }

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

	count := func() (distinct, raw uint64) { return countEvents(ctx, t, st) }
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

// A second sink joins while the first's insert takes longer than the
// group's session timeout (6 s; three views that sleep 3 s a block make
// every insert take at least 9 s): the first sink's revoke waits for that
// insert and its commit, still within the rebalance timeout, so the new
// owner starts after it and no row is inserted twice. With the revoke's
// wait bounded at 3 s (the bound before 2026-11-30), or the rebalance
// timeout at 6 s, the new owner read the partitions again from the start
// and all 6,000 rows were stored twice. The same happened, less often, to
// TestCleanRebalanceInsertsOnce whenever the machine was busy enough for
// one insert to take 3 s.
func TestRebalanceWaitsForASlowInsert(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := chtest.Open(t)
	for i := range 3 {
		// Test-only views in the test's own database (Null: they keep nothing).
		require.NoError(t, st.Conn.Exec(ctx, fmt.Sprintf("CREATE MATERIALIZED VIEW %s.slow_%d ENGINE = Null AS SELECT sleep(3) AS slept FROM %s.events", st.DB, i, st.DB)))
	}
	cfg := NewDefaultConfig()
	cfg.Brokers, cfg.Topic = kafkatest.Brokers(), kafkatest.Topic(t, 6)
	cfg.Group = fmt.Sprintf("rebalance-slow-%d", time.Now().UnixNano())
	cfg.MaxAge = 500 * time.Millisecond

	w, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.DefaultProduceTopic(cfg.Topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	require.NoError(t, err)
	defer w.Close()
	const n = 6_000
	recs := make([]*kgo.Record, 0, n)
	for i := range n {
		recs = append(recs, &kgo.Record{Value: benchWire(i)})
	}
	require.NoError(t, w.ProduceSync(ctx, recs...).FirstErr())

	stopA := runSink(ctx, t, cfg, st, "first sink")
	// The first sink's batch of all 6,000 records is due 0.5 s after its
	// first poll; its insert then runs for at least 9 s.
	require.Eventually(t, func() bool { return inFlightInserts(t, st) > 0 }, time.Minute, 50*time.Millisecond, "the first sink's insert started")
	stopB := runSink(ctx, t, cfg, st, "second sink")
	require.NoError(t, kafkatest.WaitCommitted(ctx, cfg.Brokers, cfg.Topic, cfg.Group, 2*time.Minute))
	// Long enough for the second sink to have inserted anything it read
	// again (its inserts take 9 s as well).
	time.Sleep(12 * time.Second)
	distinct, raw := countEvents(ctx, t, st)
	stopB()
	stopA()
	assert.Equal(t, uint64(n), distinct)
	assert.Equal(t, distinct, raw, "rows inserted twice across the rebalance")
}

// runSink runs a sink until the returned stop is called.
func runSink(ctx context.Context, t *testing.T, cfg Config, st *store.Client, name string) (stop func()) {
	t.Helper()
	// The sink's warnings (a revoke that could not wait for its insert)
	// go to the test's log, where a failure needs them.
	s, err := New(cfg, Settings{Logger: slog.New(slog.NewTextHandler(tWriter{t, name}, &slog.HandlerOptions{Level: slog.LevelDebug}))}, st)
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	return func() {
		cancel()
		assert.NoError(t, <-done, name)
	}
}

// countEvents returns the distinct event ids and the rows in events.
func countEvents(ctx context.Context, t *testing.T, st *store.Client) (distinct, raw uint64) {
	t.Helper()
	require.NoError(t, st.Conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(event_id), count() FROM %s.events", st.DB)).Scan(&distinct, &raw))
	return distinct, raw
}

// inFlightInserts is the number of inserts into the test's database
// running now.
func inFlightInserts(t *testing.T, st *store.Client) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, st.Conn.QueryRow(context.Background(),
		"SELECT count() FROM system.processes WHERE startsWith(query, 'INSERT INTO') AND position(query, ?) > 0", st.DB+".events").Scan(&n))
	return n
}

// tWriter writes log lines to the test's log.
type tWriter struct {
	t    *testing.T
	name string
}

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.name, strings.TrimSpace(string(p)))
	return len(p), nil
}
