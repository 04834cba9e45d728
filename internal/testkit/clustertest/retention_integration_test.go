//go:build integration

package clustertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/clustertest"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// agedEvents are spans and flow events on days 40, 35 and 10 ago and an
// hour ago, n per day.
func agedEvents(now time.Time, n int) []telemetry.Event {
	var out []telemetry.Event
	for _, age := range []time.Duration{40 * 24 * time.Hour, 35 * 24 * time.Hour, 10 * 24 * time.Hour, time.Hour} {
		at := now.Add(-age)
		for i := 0; i < n; i++ {
			e := telemetry.Event{
				ID: fmt.Sprintf("ret-%d-%d", int(age.Hours()), i), TimeNs: at.UnixNano() + int64(i), IngestNs: now.UnixNano(),
				Kind: telemetry.KindSpan, Service: "checkout", Name: "GET /checkout", ExperimentID: "ret", Cohort: telemetry.CohortControl,
				Status: telemetry.StatusOK, DurationNs: 1000,
			}
			if i%2 == 0 {
				e.Kind, e.Flow, e.FlowKey, e.Stage = telemetry.KindEvent, "publish", fmt.Sprintf("p-%d", i), "publish.received"
			}
			out = append(out, e)
		}
	}
	return out
}

func insertEvents(ctx context.Context, t *testing.T, c *store.Client, events []telemetry.Event) {
	t.Helper()
	batch, err := c.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.events (%s)", c.DB, strings.Join(telemetry.Columns, ", ")))
	require.NoError(t, err)
	var row []any
	for i := range events {
		row = events[i].Values(row, 0, int64(i))
		require.NoError(t, batch.Append(row...))
	}
	require.NoError(t, batch.Send())
	// A cache row per day, as analysis.Store writes them.
	cb, err := c.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.cohort_settled (experiment_id, bucket, cohort, service, name, events, errors, rows_at, computed_ns)", c.DB))
	require.NoError(t, err)
	seen := map[int64]bool{}
	for _, e := range events {
		day := e.TimeNs / int64(24*time.Hour)
		if !seen[day] {
			seen[day] = true
			require.NoError(t, cb.Append("ret", time.Unix(0, e.TimeNs).Truncate(10*time.Second), "control", "checkout", "GET /checkout", uint64(1), uint64(0), uint64(1), uint64(1)))
		}
	}
	require.NoError(t, cb.Send())
}

// oldest is the age in whole days of a table's oldest row.
func oldestDays(ctx context.Context, t *testing.T, c *store.Client, table, col string, now time.Time) int {
	t.Helper()
	var n uint64
	var oldest time.Time
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count(), toDateTime(min(%s)) FROM %s.%s", col, c.DB, table)).Scan(&n, &oldest))
	if n == 0 {
		return -1
	}
	return int(now.Sub(oldest).Hours() / 24)
}

// TestRetentionSingleAndCluster: `analyze retention apply` drops the day
// partitions older than each class's age, on the single node and on the
// cluster (ON CLUSTER, every replica), and keeps the rest.
func TestRetentionSingleAndCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	now := time.Now().UTC()
	events := agedEvents(now, 200)
	single := chtest.Open(t)
	cl := clustertest.OpenDB(t)
	for _, x := range []struct {
		name string
		c    *store.Client
		env  []string
	}{
		{"single", single, []string{store.EnvDatabase + "=" + single.DB}},
		{"cluster", cl.Client, cl.Env()},
	} {
		insertEvents(ctx, t, x.c, events)
		before := map[string]int{}
		tables := map[string]string{"events": "event_time", "cohort_stats": "bucket", "cohort_tally": "bucket", "unit_tally": "bucket", "unit_groups": "bucket", "unit_groups_minute": "bucket", "unit_seen": "bucket", "flow_stages": "day", "cohort_settled": "bucket"}
		for tb, col := range tables {
			before[tb] = oldestDays(ctx, t, x.c, tb, col, now)
			require.GreaterOrEqual(t, before[tb], 39, "%s %s holds the 40-day-old rows", x.name, tb)
		}
		out, stderr, code := runCLI(t, x.env, "analyze", "retention", "apply", "--raw", "30d", "--views", "38d", "--cache", "30d", "--output", "json")
		require.Zero(t, code, stderr)
		var res struct{ Dropped []struct{ Table string } }
		require.NoError(t, json.Unmarshal([]byte(out), &res), out)
		dropped := map[string]int{}
		for _, d := range res.Dropped {
			dropped[d.Table]++
		}
		t.Logf("%s: dropped partitions per table %v", x.name, dropped)
		assert.Equal(t, map[string]int{"events": 2, "cohort_stats": 1, "cohort_tally": 1, "unit_tally": 1, "unit_groups": 1, "unit_groups_minute": 1, "unit_seen": 1, "flow_stages": 1, "cohort_settled": 2}, dropped, x.name)
		// Raw and cache: older than 30 days gone, the 10-day-old day kept.
		assert.Equal(t, 10, oldestDays(ctx, t, x.c, "events", "event_time", now), "%s events", x.name)
		assert.Equal(t, 10, oldestDays(ctx, t, x.c, "cohort_settled", "bucket", now), "%s cohort_settled", x.name)
		// Views: older than 38 days gone, the 35-day-old day kept.
		for _, tb := range []string{"cohort_stats", "cohort_tally", "flow_stages"} {
			assert.Equal(t, 35, oldestDays(ctx, t, x.c, tb, tables[tb], now), "%s %s", x.name, tb)
		}
		var recent uint64
		require.NoError(t, x.c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(event_id) FROM %s.events", x.c.DB)).Scan(&recent))
		assert.Equal(t, uint64(400), recent, "%s: the recent two days are untouched", x.name)
		// A second run finds nothing to drop.
		out, stderr, code = runCLI(t, x.env, "analyze", "retention", "apply", "--raw", "30d", "--views", "38d", "--cache", "30d")
		require.Zero(t, code, stderr)
		assert.Contains(t, out, "nothing older")
	}
	// On the cluster every replica dropped its parts (not only the one
	// migrate or the Distributed table reached).
	for n := range clustertest.CHAddrs {
		require.Eventually(t, func() bool {
			return shardScalar(ctx, t, n, cl.Cfg.Database,
				fmt.Sprintf("SELECT count() FROM {DB}.events_local WHERE event_time < toDateTime(%d)", now.Add(-30*24*time.Hour).Unix())) == 0
		}, time.Minute, time.Second, "server %d still holds old events", n)
	}
}
