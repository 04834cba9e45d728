//go:build integration

package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// A database at schema 21 moves to trace_cohorts_v2 (0022, 0023) with no
// row lost: the old view's rows (including a trace whose events retention
// already dropped) are copied, the old view is gone, new events reach the
// new one, and the analysis read of the traces' cohorts gives the same
// answer before, after, and with every row duplicated (a rerun copy).
func TestMigrateMovesTraceCohorts(t *testing.T) {
	cfg := chtest.Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := store.Open(ctx, cfg)
	require.NoError(t, err, "ClickHouse is not reachable (start it with `make up`)")
	t.Cleanup(func() {
		_ = c.Conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database)
		_ = c.Close()
	})
	exec := func(q string, args ...any) {
		t.Helper()
		require.NoError(t, c.Conn.Exec(ctx, fmt.Sprintf(q, args...)), q)
	}
	// The schema as 0021 left it, statement by statement (IF NOT EXISTS:
	// Migrate below runs them again harmlessly and records them).
	migs, err := queries.Migrations()
	require.NoError(t, err)
	data := queries.Data{DB: cfg.Database}
	for _, name := range []string{"migrate/create_database.sql"} {
		q, err := queries.Render(name, data)
		require.NoError(t, err)
		exec("%s", q)
	}
	for _, m := range migs {
		if m.Version > 21 {
			break
		}
		text, err := queries.Render(m.Up, data)
		require.NoError(t, err)
		for _, s := range store.SplitStatements(text) {
			exec("%s", s)
		}
	}
	db := cfg.Database
	// span is an event of trace tr; exp "" is untagged, byTrace one tagged
	// by its trace at ingest.
	span := func(id string, at time.Time, tr, exp string, cohort telemetry.Cohort, byTrace bool) telemetry.Event {
		e := telemetry.Event{ID: id, TimeNs: at.UnixNano(), IngestNs: at.UnixNano(), Kind: telemetry.KindSpan, Service: "s", Name: "n", TraceID: tr, ExperimentID: exp, Cohort: cohort}
		if byTrace {
			e.AttrKeys, e.AttrValues = []string{"chaos.cohort.source"}, []string{"trace"}
		}
		return e
	}
	insert := func(events ...telemetry.Event) {
		t.Helper()
		batch, err := c.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.events (%s)", db, strings.Join(telemetry.Columns, ", ")))
		require.NoError(t, err)
		var row []any
		for i := range events {
			row = events[i].Values(row, 0, int64(i))
			require.NoError(t, batch.Append(row...))
		}
		require.NoError(t, batch.Send())
	}
	now := time.Now().UTC().Truncate(time.Second)
	old := now.Add(-60 * 24 * time.Hour)
	// t1: two deciding spans (the earliest decides), t2: one, t3: decided
	// 60 days ago and its events since dropped by retention (only the
	// view holds it), t4: tagged by its trace at ingest only (no row).
	insert(span("a", now, "t1", "e1", telemetry.CohortExperiment, false), span("b", now.Add(time.Second), "t1", "e1", telemetry.CohortExperiment, false),
		span("c", now, "t2", "e1", telemetry.CohortControl, false), span("d", old, "t3", "e1", telemetry.CohortControl, false),
		span("e", now, "t4", "e1", telemetry.CohortControl, true))
	exec("ALTER TABLE %s.events DROP PARTITION %s", db, old.Format("20060102"))

	// The readers' view of it: argMin per trace, as every by-trace query.
	cohorts := func(table string) map[string]string {
		t.Helper()
		rows, err := c.Conn.Query(ctx, fmt.Sprintf("SELECT trace_id, argMin(decided_cohort, first_seen) FROM %s.%s WHERE experiment_id = 'e1' GROUP BY trace_id", db, table))
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var tr, co string
			require.NoError(t, rows.Scan(&tr, &co))
			out[tr] = co
		}
		require.NoError(t, rows.Err())
		return out
	}
	want := map[string]string{"t1": "experiment", "t2": "control", "t3": "control"}
	require.Equal(t, want, cohorts("trace_cohorts"), "the old view before the migration")

	res, err := c.Migrate(ctx, store.MigrateOptions{})
	require.NoError(t, err)
	require.GreaterOrEqual(t, res.Current, 23)
	assert.Equal(t, want, cohorts("trace_cohorts_v2"), "every old row copied, t3 too")
	var n uint64
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM system.tables WHERE database = '%s' AND name IN ('trace_cohorts', '.inner.trace_cohorts')", db)).Scan(&n))
	assert.Zero(t, n, "the old view and its table are dropped")

	// New events reach the new view; a trace-tagged span still does not.
	insert(span("f", now, "t5", "e1", telemetry.CohortExperiment, false), span("g", now, "t6", "e1", telemetry.CohortControl, true))
	want["t5"] = "experiment"
	assert.Equal(t, want, cohorts("trace_cohorts_v2"))

	// A rerun of the copy (a migration stopped before it was recorded)
	// duplicates every row: the read is unchanged, and so is a by-trace
	// analysis query over the window (untagged spans of t1, t2 and t5
	// counted in their traces' cohorts).
	insert(span("u1", now, "t1", "", telemetry.CohortNone, false), span("u2", now, "t2", "", telemetry.CohortNone, false),
		span("u5", now, "t5", "", telemetry.CohortNone, false), span("u7", now, "t7", "", telemetry.CohortNone, false))
	byTrace := func() map[string]uint64 {
		t.Helper()
		rows, err := c.Query(ctx, "analyze/trace_buckets.sql", queries.Params{"experiment_id": "e1", "since_s": now.Unix() - 60, "until_s": now.Unix() + 60, "slack_s": int64(3600)})
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]uint64{}
		for rows.Next() {
			var (
				exp, cohort, service, name string
				bucket                     uint32
				events, errors             uint64
			)
			require.NoError(t, rows.Scan(&exp, &bucket, &cohort, &service, &name, &events, &errors))
			out[cohort] += events
		}
		require.NoError(t, rows.Err())
		return out
	}
	wantByTrace := map[string]uint64{"experiment": 2, "control": 1}
	require.Equal(t, wantByTrace, byTrace())
	exec("INSERT INTO %[1]s.trace_cohorts_v2 SELECT * FROM %[1]s.trace_cohorts_v2", db)
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.trace_cohorts_v2", db)).Scan(&n))
	assert.GreaterOrEqual(t, n, uint64(2*len(want)), "duplicated")
	assert.Equal(t, want, cohorts("trace_cohorts_v2"), "duplicates change no cohort")
	assert.Equal(t, wantByTrace, byTrace())
}
