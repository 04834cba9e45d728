//go:build integration

package analysis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/analysis"
)

// Two live monitors of one experiment whose first looks start together on
// settled buckets nobody has counted yet count the experiment's events
// once and the untagged traffic's once (each claim's winner
// computes, the other reader takes the counts from cohort_settled), and
// both see the bucket counts of a database that never cached anything.
// Neither waits out the claims: when one reader wins the experiment's
// hour and the other the untagged traffic's, each caches its counts as
// soon as it has them, not after the read it waits on. Three rounds, each
// on a database of its own, since who wins which claim is up to timing.
func TestLiveFirstLooksCountSettledBucketsOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const exp = "shared-exp"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	events := tallyEvents(exp, start)
	for i := range events {
		events[i].TraceID, events[i].SpanID = "", ""
	}
	now := start.Add(10 * time.Minute)
	// The reference: the same events in a database nobody has read.
	ref := chtest.Open(t)
	load(ctx, t, ref, events)
	want := bucketCounts(ctx, t, &analysis.Store{C: ref}, exp, start, now)
	for round := range 3 {
		c := chtest.Open(t)
		load(ctx, t, c, events)
		logged := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
		t0 := time.Now().Add(-time.Second)
		var wg sync.WaitGroup
		results := make([]*analysis.Result, 2)
		errs := make([]error, 2)
		for i := range results {
			mon, err := analysis.NewMonitor(&analysis.Store{C: c}, analysis.Request{ExperimentID: exp, Window: analysis.Window{Since: start}}, analysis.Settings{})
			require.NoError(t, err)
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = mon.Look(logged, now)
			}()
		}
		wg.Wait()
		took := time.Since(t0)
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		assert.Less(t, took, 10*time.Second, "round %d: no reader waited out a claim", round)
		assert.Equal(t, results[0].Cohorts, results[1].Cohorts)
		assert.Equal(t, results[0].Metrics, results[1].Metrics)
		assert.Equal(t, want, bucketCounts(ctx, t, &analysis.Store{C: c}, exp, start, now), "round %d: the counts cached by the looks are the uncached counts", round)

		require.NoError(t, c.Conn.Exec(ctx, "SYSTEM FLUSH LOGS"))
		for _, id := range []string{exp, ""} {
			var reads uint64
			require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf(`SELECT count() FROM system.query_log
				WHERE type = 2 AND event_time >= toDateTime(%d) AND query LIKE '%%%s.events%%'
				AND query LIKE '%%uniqExact(cityHash64(event_id))%%' AND query LIKE '%%IN (''%s'', ''%s'')%%'`,
				t0.Unix(), c.DB, id, id)).Scan(&reads))
			assert.Equal(t, uint64(1), reads, "round %d: the events of %q counted once for both looks", round, id)
		}
	}
}

// bucketCounts is Buckets keyed by bucket, cohort, service and operation.
func bucketCounts(ctx context.Context, t *testing.T, st *analysis.Store, exp string, since, until time.Time) map[string][3]int64 {
	t.Helper()
	rows, err := st.Buckets(ctx, exp, since, until, true)
	require.NoError(t, err)
	out := map[string][3]int64{}
	for _, r := range rows {
		out[fmt.Sprintf("%d %s %s %s", r.Bucket.Unix(), r.Cohort, r.Service, r.Operation)] = [3]int64{r.Events, r.Errors, r.Rows}
	}
	return out
}
