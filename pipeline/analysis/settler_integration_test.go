//go:build integration

package analysis_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/settle"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// The settler (`analyze settle`) counts the settled buckets of every
// experiment and of the untagged traffic ahead of the readers: a live
// monitor's first look after a pass counts no event on the events table,
// and its answer and the cached counts are those of a database nobody
// cached anything in. A late event and a duplicate within the lookback are
// counted by the next pass (the two buckets they changed, and only
// those), and a pass with nothing new counts nothing.
func TestSettlerCountsAheadOfTheLooks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const exp = "settled-ahead"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	events := tallyEvents(exp, start) // 600 s: 60 buckets of the experiment, 60 untagged
	for i := range events {
		events[i].TraceID, events[i].SpanID = "", ""
	}
	now := start.Add(10 * time.Minute)
	look := func(ctx context.Context, c *store.Client) *analysis.Result {
		t.Helper()
		mon, err := analysis.NewMonitor(&analysis.Store{C: c}, analysis.Request{ExperimentID: exp, Window: analysis.Window{Since: start}}, analysis.Settings{})
		require.NoError(t, err)
		res, err := mon.Look(ctx, now)
		require.NoError(t, err)
		return res
	}
	// The reference: the same events in a database nobody has read.
	ref := chtest.Open(t)
	load(ctx, t, ref, events)
	want := look(ctx, ref)
	wantCounts := bucketCounts(ctx, t, &analysis.Store{C: ref}, exp, start, now)

	c := chtest.Open(t)
	load(ctx, t, c, events)
	s := settle.New(settle.Config{}.WithDefaults(), query.New(c), prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	p, err := s.Once(ctx, 30*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, 2, p.Targets, "the experiment and the untagged traffic")
	assert.Equal(t, 120, p.Buckets, "every bucket of both, once")

	logged := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
	t0 := time.Now().Add(-time.Second)
	got := look(logged, c)
	t1 := time.Now().Add(time.Second)
	assert.Equal(t, want.Cohorts, got.Cohorts)
	assert.Equal(t, want.Metrics, got.Metrics)
	// The look read the tally (logged: the log has caught up) and counted
	// no event itself.
	var tally map[string]uint64
	logCaughtUp(func() bool {
		tally = statementsOn(ctx, t, c, t0, t1, "cohort_tally")
		return tally["cohort_tally"] > 0
	})
	require.NotZero(t, tally["cohort_tally"], "the look's tally read is in the query log")
	assert.Zero(t, statementsLike(ctx, t, c, t0, t1, "%uniqExact(cityHash64(event_id))%"), "the first look counted no settled bucket")
	assert.Equal(t, wantCounts, bucketCounts(ctx, t, &analysis.Store{C: c}, exp, start, now))

	// A late event in an old bucket and a duplicate of the first event
	// (another bucket): the next pass counts those two buckets; the counts
	// are a fresh database's with the same rows.
	late := events[0]
	late.ID, late.TimeNs = "late-1", start.Add(65*time.Second).UnixNano()
	more := []telemetry.Event{late, events[0]}
	load(ctx, t, c, more)
	p, err = s.Once(ctx, 30*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, 2, p.Buckets, "the late event's bucket and the duplicate's")
	fresh := chtest.Open(t)
	load(ctx, t, fresh, append(append([]telemetry.Event(nil), events...), more...))
	assert.Equal(t, bucketCounts(ctx, t, &analysis.Store{C: fresh}, exp, start, now), bucketCounts(ctx, t, &analysis.Store{C: c}, exp, start, now))

	p, err = s.Once(ctx, 30*time.Minute)
	require.NoError(t, err)
	assert.Zero(t, p.Buckets, "nothing new")
}
