//go:build integration

package queries_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/fixture"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// crossParams gives every query file the parameters it runs with on the
// fixture. A query file without an entry fails the test: every statement in
// queries/ is cross-checked.
func crossParams(fx fixture.Options) map[string]queries.Params {
	since := fx.Start.Unix()
	until := fx.Start.Add(fx.Run).Unix()
	return map[string]queries.Params{
		"analyze/cohort_summary.sql":    {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "", "operation": ""},
		"analyze/cohort_series.sql":     {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "checkout", "operation": "", "step_s": 60},
		"analyze/latency_sample.sql":    {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "", "operation": "GET /checkout", "sample_per_million": 500000},
		"analyze/raw_cohort_counts.sql": {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until},
		"analyze/blast_radius.sql":      {"experiment_id": fx.ExperimentID, "run_start_s": since, "run_end_s": until},
		"analyze/runs.sql":              {"experiment_id": fx.ExperimentID, "limit": 5},
		"analyze/run_list.sql":          {"experiment_id": "", "limit": 10},
		"analyze/export_events.sql":     {"experiment_id": fx.ExperimentID, "since_ns": fx.Start.UnixNano(), "until_ns": fx.Start.Add(fx.Run).UnixNano(), "untagged": 0},
		"analyze/bubbleup.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "limit": 20,
			"excluded": []string{"chaos.experiment.cohort", "http.response.status_code"}, "noise": `(^|[._])(id|port)$`,
		},
		"analyze/bubbleup_exemplars.sql": {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "key": "http_status", "value": "500", "limit": 3},
		"analyze/alert_events.sql":       {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until},
		"analyze/export_count.sql":       {"experiment_id": fx.ExperimentID, "since_ns": fx.Start.Add(-fx.Before).UnixNano(), "until_ns": fx.Start.Add(fx.Run).UnixNano(), "untagged": 1},
		"analyze/cohort_buckets.sql":     {"experiment_id": fx.ExperimentID, "untagged_id": "", "since_s": since - 600, "until_s": until},
		"analyze/cohort_tally.sql":       {"experiment_id": fx.ExperimentID, "untagged_id": "", "since_s": since - 600, "until_s": until},
		"analyze/cohort_settled.sql":     {"experiment_id": fx.ExperimentID, "untagged_id": "", "since_s": since, "until_s": until},
		"analyze/settle_targets.sql":     {"since_s": since - 600, "until_s": until},
		"analyze/window_rows.sql":        {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until},
		"analyze/unit_settled.sql":       {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until},
		"analyze/unit_slice_rows.sql":    {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "unit_max": uint64(1) << 63},
		"analyze/settle_claims.sql":      {"experiment_id": "", "since_s": since - 3600, "until_s": until + 3600, "fresh_ns": uint64(0)},
		"analyze/sli_counts.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "checkout", "operation": "",
			"attr_pairs": []string{"region\x1feu"}, "kinds": []string{"span", "event"}, "good_not_error": 1,
			"good_max_ns": int64(60 * time.Millisecond), "good_http": 1, "good_codes": []string{"200", "201"},
		},
		"analyze/replay_events.sql": {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "unit_attr": ""},
		"analyze/sli_unit_counts.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "checkout", "operation": "",
			"attr_pairs": []string{}, "kinds": []string{"span", "event", "log"}, "good_not_error": 1,
			"good_max_ns": int64(60 * time.Millisecond), "good_http": 0, "good_codes": []string{""}, "unit_attr": "", "slack_s": 3600,
		},
		"analyze/sli_unit_rows.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "", "operation": "GET /checkout",
			"kinds": []string{"span", "event"}, "per_bucket": 1, "dirty": []uint32{uint32(since/10*10 + 90)},
		},
		"analyze/sli_unit_sums.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "", "operation": "GET /checkout",
			"kinds": []string{"span", "event"}, "dirty": []uint32{uint32(since/10*10 + 90)},
		},
		"analyze/sli_unit_rows_dirty.sql": {
			"experiment_id": fx.ExperimentID, "service": "", "operation": "GET /checkout", "kinds": []string{"span", "event"}, "per_bucket": 1,
			"dirty": []uint32{uint32(since/10*10 + 90)}, "dirty_since_s": since/10*10 + 90, "dirty_until_s": since/10*10 + 100,
		},
		"analyze/sli_unit_rows_by_trace.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "payment", "operation": "",
			"kinds": []string{"span", "event", "log"}, "slack_s": 3600, "per_bucket": 1,
		},
		"analyze/sli_unit_groups.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "checkout", "operation": "", "logs": 1,
			"dirty": []uint32{uint32(since/10*10 + 60)}, "min_since_s": (since + 59) / 60 * 60, "min_until_s": (until + 9) / 60 * 60,
			"dirty_minutes": []uint32{uint32((since/10*10 + 60) / 60 * 60)}, "dm_since_s": (since/10*10 + 60) / 60 * 60, "dm_until_s": (since/10*10+60)/60*60 + 60,
		},
		"analyze/sli_unit_groups_dirty.sql": {
			"experiment_id": fx.ExperimentID, "service": "checkout", "operation": "", "logs": 1,
			"dirty": []uint32{uint32(since/10*10 + 60)}, "dirty_since_s": since/10*10 + 60, "dirty_until_s": since/10*10 + 70,
		},
		"analyze/sli_unit_groups_by_trace.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "payment", "operation": "", "logs": 0, "slack_s": 3600,
		},
		"analyze/unit_count.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "", "operation": "GET /checkout", "logs": 1,
			"unit_max": uint64(1) << 63,
		},
		"analyze/unit_count_by_trace.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "", "operation": "", "logs": 1, "slack_s": 3600,
			"unit_max": uint64(18446744073709551615),
		},
		"analyze/sli_unit_tally.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "checkout", "operation": "",
			"kinds": []string{"span", "event", "log"}, "slack_s": 3600,
			"dirty": []uint32{uint32(since/10*10 + 60), uint32(since/10*10 + 120)}, "dirty_since_s": since/10*10 + 60, "dirty_until_s": since/10*10 + 130,
		},
		"analyze/sli_latency_sample.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "", "operation": "GET /checkout",
			"second_ppm": 600000, "control_ppm": 500000, "experiment_ppm": 1000000,
		},
		"analyze/sli_latency_sample_seconds.sql": {
			"experiment_id": fx.ExperimentID, "service": "", "operation": "GET /checkout",
			"control_ppm": 500000, "experiment_ppm": 1000000, "seconds": secondsOf(since, until, 2),
		},
		"analyze/sli_latency_sample_attrs.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "checkout", "operation": "",
			"attr_pairs": []string{"region\x1fus"}, "second_ppm": 1000000, "control_ppm": 700000, "experiment_ppm": 1000000,
		},
		"alerts/flow_items.sql": {
			"flow": "publish", "stages": fixture.PublishStages, "since_ns": fx.Start.UnixNano(),
			"until_ns": fx.Start.Add(fx.Run).UnixNano(), "within_ns": int64(2 * time.Minute),
			"watermark_ns": fx.Start.Add(fx.Run - 3*time.Minute).UnixNano(),
		},
		"alerts/flow_sweep.sql": {
			"flow": "publish", "stages": fixture.PublishStages, "full_mask": uint64(1)<<len(fixture.PublishStages) - 1,
			"since_ns": fx.Start.Add(-time.Hour).UnixNano(), "report_since_ns": fx.Start.Add(fx.Run / 2).UnixNano(),
			"until_ns": fx.Start.Add(fx.Run).UnixNano(),
		},
		"ingest/watermark.sql":                {"consumer_group": "steadystate-sink"},
		"ingest/stored_events.sql":            {},
		"dashboards/game_day_cohorts.sql":     {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "service": "checkout", "step_s": 60},
		"dashboards/game_day_flow_stages.sql": {"flow": "publish", "since_s": since, "until_s": until},
		"dashboards/game_day_alerts.sql":      {"since_s": since, "until_s": until},
		"dashboards/game_day_verdicts.sql":    {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until},
		"analyze/verdict_changes.sql": {
			"experiment_id": fx.ExperimentID, "source": "live", "since_ns": fx.Start.UnixNano(), "until_ns": fx.Start.Add(fx.Run).UnixNano(),
		},
		"analyze/verdict_history.sql": {
			"experiment_id": fx.ExperimentID, "source": "live", "since_ns": fx.Start.UnixNano(), "until_ns": fx.Start.Add(fx.Run).UnixNano(),
		},
		"analyze/trace_buckets.sql":  {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "slack_s": 3600},
		"analyze/trace_decided.sql":  {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "slack_s": 3600},
		"analyze/cohort_sources.sql": {"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "slack_s": 3600},
		"analyze/trace_tagged_counts.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "dirty": []uint32{uint32(since/10*10 + 60)},
		},
		"analyze/trace_tagged_counts_dirty.sql": {
			"experiment_id": fx.ExperimentID,
			"dirty":         []uint32{uint32(since/10*10 + 60)}, "dirty_since_s": since/10*10 + 60, "dirty_until_s": since/10*10 + 70,
		},
		"analyze/sli_counts_by_trace.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "slack_s": 3600, "service": "payment", "operation": "",
			"attr_pairs": []string{}, "kinds": []string{"span", "event"}, "good_not_error": 1,
			"good_max_ns": int64(60 * time.Millisecond), "good_http": 0, "good_codes": []string{""},
		},
		"analyze/sli_latency_sample_by_trace.sql": {
			"experiment_id": fx.ExperimentID, "since_s": since, "until_s": until, "slack_s": 3600, "service": "", "operation": "POST /pay",
			"attr_pairs": []string{"region\x1feu"}, "second_ppm": 1000000, "control_ppm": 1000000, "experiment_ppm": 1000000,
		},
	}
}

// secondsOf lists every step-th second of [since, until).
func secondsOf(since, until, step int64) []uint32 {
	var out []uint32
	for s := since; s < until; s += step {
		out = append(out, uint32(s))
	}
	return out
}

func TestCrossCheckOldAndCurrentClickHouse(t *testing.T) {
	fx := fixture.DefaultOptions()
	gen := fixture.Generate(fx)
	params := crossParams(fx)

	var names []string
	for _, dir := range []string{"analyze", "alerts", "ingest", "dashboards"} {
		n, err := queries.Names(dir)
		require.NoError(t, err)
		names = append(names, n...)
	}
	for _, n := range names {
		require.Contains(t, params, n, "every query file needs cross-check parameters")
	}

	// ClickHouse 18.16: migrate with the real migrator, insert with the
	// sink's batch path.
	c := chtest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	insertEvents(ctx, t, c, gen.Events)
	insertAux(ctx, t, c, fx)

	// Current ClickHouse (chDB): the same DDL and the same rows, as JSON.
	ddl, err := store.RenderMigrations(c.DB, "")
	require.NoError(t, err)
	rowsFile := filepath.Join(t.TempDir(), "events.ndjson")
	var buf []byte
	for i := range gen.Events {
		buf = gen.Events[i].AppendJSON(buf)
		buf = append(buf, '\n')
	}
	require.NoError(t, os.WriteFile(rowsFile, buf, 0o600))

	job := map[string]any{
		"setup":   append(ddl, auxSQL(c.DB, fx)...),
		"insert":  fmt.Sprintf("INSERT INTO %s.events (%s)", c.DB, strings.Join(telemetry.Columns[:len(telemetry.Columns)-2], ", ")),
		"rows":    rowsFile,
		"queries": map[string]string{},
	}
	rendered := map[string]string{}
	for _, n := range names {
		sql, err := c.SQL(n, params[n])
		require.NoError(t, err, n)
		rendered[n] = sql
		job["queries"].(map[string]string)[n] = sql
	}
	current := runChDB(t, job)
	t.Logf("current engine: chDB %s", current.Version)

	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			require.Empty(t, current.Errors[n], "query fails on the current engine")
			old, cur := httpQuery(ctx, t, rendered[n]), current.Results[n]
			if unordered(rendered[n]) {
				old, cur = sortRows(old), sortRows(cur)
			}
			assertSameTSV(t, old, cur, approxColumns(rendered[n]))
			require.NotEmpty(t, strings.TrimSpace(old), "the fixture must give every query rows to compare")
		})
	}

	// The fixture's known answers hold on 18.16 too, so "same" also means right.
	raw := httpQuery(ctx, t, rendered["analyze/raw_cohort_counts.sql"])
	assert.Contains(t, raw, "control\t")
	items := httpQuery(ctx, t, rendered["alerts/flow_items.sql"])
	stuck := 0
	for _, line := range strings.Split(strings.TrimSpace(items), "\n")[1:] {
		f := strings.Split(line, "\t")
		if f[len(f)-1] == "stuck" {
			stuck++
			assert.Equal(t, gen.Stuck[f[0]], f[len(f)-2], "last stage of %s", f[0])
		}
	}
	assert.Positive(t, stuck)
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
}

func auxSQL(db string, fx fixture.Options) []string {
	s := fx.Start.UnixNano()
	return []string{
		fmt.Sprintf("INSERT INTO %s.runs (run_id, experiment_id, started_ns, ended_ns, operator, note, updated_ns) VALUES ('r1', '%s', %d, 0, 'alice', 'first', 1), ('r1', '%s', %d, %d, 'alice', 'stopped', 2), ('r0', '%s', %d, %d, 'bob', 'dry run', 1)",
			db, fx.ExperimentID, s, fx.ExperimentID, s, s+int64(fx.Run), fx.ExperimentID, s-int64(time.Hour), s-int64(50*time.Minute)),
		// A firing notification of an alert and its resolution, for
		// analyze/alert_events.sql (a retried notification is the same row:
		// that is tested through ingest in cmd/ingest).
		fmt.Sprintf("INSERT INTO %s.events (event_id, event_time, event_time_ns, kind, service, name, experiment_id, status, severity, attr_keys, attr_values) VALUES ('am-1', toDateTime(%d), %d, 'alert', 'payment', 'PaymentDependencyErrors', '%s', 'error', 'ticket', ['alert.fingerprint'], ['f1']), ('am-2', toDateTime(%d), %d, 'alert', 'payment', 'PaymentDependencyErrors', '', 'ok', 'ticket', ['alert.fingerprint'], ['f1'])",
			db, (s+int64(2*time.Minute))/1e9, s+int64(2*time.Minute), fx.ExperimentID, (s+int64(7*time.Minute))/1e9, s+int64(7*time.Minute)),
		fmt.Sprintf("INSERT INTO %s.cohort_settled (experiment_id, bucket, cohort, service, name, events, errors, rows_at, computed_ns) VALUES ('%s', toDateTime(%d), 'control', 'checkout', 'GET /checkout', 10, 1, 11, 1), ('%s', toDateTime(%d), 'control', 'checkout', 'GET /checkout', 12, 2, 13, 2), ('%s', toDateTime(%d), 'experiment', 'checkout', 'GET /checkout', 9, 3, 9, 1)",
			db, fx.ExperimentID, fx.Start.Unix(), fx.ExperimentID, fx.Start.Unix(), fx.ExperimentID, fx.Start.Unix()+10),
		// Two computations of a window's unit-level tallies: the newer wins.
		fmt.Sprintf("INSERT INTO %[1]s.unit_settled (experiment_id, since, until, unit_shift, window_rows, slice_rows, control_units, experiment_units, cohorts, grps, events, errors, computed_ns) VALUES "+
			"('%[2]s', toDateTime(%[3]d), toDateTime(%[4]d), 0, 40, 30, 7, 3, ['control', 'experiment'], [5, 200], [25, 15], [1, 4], 1), "+
			"('%[2]s', toDateTime(%[3]d), toDateTime(%[4]d), 0, 41, 31, 8, 3, ['control', 'control', 'experiment'], [5, 6, 200], [25, 1, 15], [1, 0, 4], 2)",
			db, fx.ExperimentID, fx.Start.Unix(), fx.Start.Add(fx.Run).Unix()),
		fmt.Sprintf("INSERT INTO %s.sink_progress (consumer_group, topic, partition, committed_offset, max_event_ns, caught_up, updated_ns) VALUES ('steadystate-sink', 'steadystate.events', 0, 10, %d, 0, 1), ('steadystate-sink', 'steadystate.events', 0, 20, %d, 1, 2), ('steadystate-sink', 'steadystate.events', 1, 5, %d, 1, 1)",
			db, s, s+1, s+2),
		// Three live looks and one compare of two SLIs: the verdict of
		// errors turns from inconclusive to fail and its stop condition
		// holds from the third look.
		fmt.Sprintf("INSERT INTO %[1]s.verdict_history (experiment_id, run_id, source, evaluated_at, evaluated_ns, window_since_ns, window_until_ns, overall_verdict, stop, "+
			"sli, sli_type, unit, analysis_unit, control_n, experiment_n, control_units, experiment_units, control_value, experiment_value, effect, ci_lower, ci_upper, ci_lower_bounded, ci_upper_bounded, "+
			"p_value, adjusted_p_value, verdict, provisional, stop_condition, stop_crossed, stop_holds, stop_value, stop_since_ns) VALUES "+
			"('%[2]s', 'r1', 'live', toDateTime(%[3]d), %[4]d, %[5]d, %[4]d, 'inconclusive', 0, 'errors', 'error_rate', 'ratio', 'subject', 100, 5, 100, 5, 0.01, 0.2, 0.19, -0.1, 0.5, 1, 1, 0.2, 0.4, 'inconclusive', 1, '> 0.2 for 30s', 0, 0, 0.2, 0), "+
			"('%[2]s', 'r1', 'live', toDateTime(%[3]d), %[4]d, %[5]d, %[4]d, 'inconclusive', 0, 'latency', 'latency', 's', 'subject', 100, 5, 100, 5, 0.05, 0.06, 0.01, -0.1, 0.2, 1, 1, 0.5, 0.5, 'inconclusive', 1, '', 0, 0, 0, 0), "+
			"('%[2]s', 'r1', 'live', toDateTime(%[6]d), %[7]d, %[5]d, %[7]d, 'fail', 0, 'errors', 'error_rate', 'ratio', 'subject', 500, 30, 500, 30, 0.01, 0.5, 0.49, 0.3, 0.7, 1, 1, 0.0001, 0.0002, 'fail', 0, '> 0.2 for 30s', 1, 0, 0.5, %[7]d), "+
			"('%[2]s', 'r1', 'live', toDateTime(%[8]d), %[9]d, %[5]d, %[9]d, 'fail', 1, 'errors', 'error_rate', 'ratio', 'subject', 900, 50, 900, 50, 0.01, 0.6, 0.59, 0.4, 0.8, 1, 1, 0.00001, 0.00002, 'fail', 0, '> 0.2 for 30s', 1, 1, 0.6, %[7]d), "+
			"('%[2]s', 'r1', 'compare', toDateTime(%[8]d), %[9]d, %[5]d, %[9]d, 'fail', 1, 'errors', 'error_rate', 'ratio', 'subject', 900, 50, 900, 50, 0.01, 0.6, 0.59, 0.4, 0.8, 1, 1, 0.00001, 0.00002, 'fail', 0, '> 0.2', 1, 1, 0.6, 0)",
			db, fx.ExperimentID, fx.Start.Unix()+10, s+int64(10*time.Second), s, fx.Start.Unix()+20, s+int64(20*time.Second), fx.Start.Unix()+60, s+int64(time.Minute)),
		fmt.Sprintf("INSERT INTO %[1]s.verdict_changes (experiment_id, run_id, source, evaluated_at, evaluated_ns, sli, from_verdict, to_verdict, reason) VALUES "+
			"('%[2]s', 'r1', 'live', toDateTime(%[3]d), %[4]d, 'errors', 'inconclusive', 'fail', 'harm above the allowance'), "+
			"('%[2]s', 'r1', 'live', toDateTime(%[3]d), %[4]d, 'latency', 'pass', 'inconclusive', 'interval emptied')",
			db, fx.ExperimentID, fx.Start.Unix()+20, s+int64(20*time.Second)),
		// A trace decided for the experiment cohort by its root span, and
		// three untagged downstream spans of it (trace_cohorts and the
		// by-trace queries), plus one span tagged by its trace at ingest.
		fmt.Sprintf("INSERT INTO %s.events (event_id, event_time, event_time_ns, kind, service, name, trace_id, experiment_id, cohort, is_error, duration_ns, attr_keys, attr_values) VALUES "+
			"('tr-root', toDateTime(%d), %d, 'span', 'checkout', 'GET /checkout', 'feedfacefeedfacefeedfacefeedface', '%s', 'experiment', 0, 5000000, ['feature_flag.key'], ['payment-chaos']), "+
			"('tr-pay-1', toDateTime(%d), %d, 'span', 'payment', 'POST /pay', 'feedfacefeedfacefeedfacefeedface', '', 'none', 1, 7000000, ['region'], ['eu']), "+
			"('tr-pay-2', toDateTime(%d), %d, 'span', 'payment', 'POST /pay', 'feedfacefeedfacefeedfacefeedface', '', 'none', 0, 9000000, ['region'], ['eu']), "+
			"('tr-pay-3', toDateTime(%d), %d, 'span', 'payment', 'POST /pay', 'feedfacefeedfacefeedfacefeedface', '', 'none', 0, 90000000, ['region'], ['us']), "+
			"('tr-ingest', toDateTime(%d), %d, 'span', 'payment', 'POST /pay', 'feedfacefeedfacefeedfacefeedface', '%s', 'experiment', 0, 8000000, ['chaos.cohort.source'], ['trace'])",
			db, (s+int64(90*time.Second))/1e9, s+int64(90*time.Second), fx.ExperimentID,
			(s+int64(91*time.Second))/1e9, s+int64(91*time.Second), (s+int64(92*time.Second))/1e9, s+int64(92*time.Second),
			(s+int64(93*time.Second))/1e9, s+int64(93*time.Second), (s+int64(94*time.Second))/1e9, s+int64(94*time.Second), fx.ExperimentID),
		// Two alert notifications (Alertmanager webhooks) during the run.
		fmt.Sprintf("INSERT INTO %s.events (event_id, event_time, event_time_ns, kind, service, name, severity, experiment_id, body) VALUES ('alert-1', toDateTime(%d), %d, 'alert', 'checkout', 'PaymentDependencyErrors', 'ticket', '', 'firing'), ('alert-2', toDateTime(%d), %d, 'alert', 'checkout', 'PaymentDependencyErrors', 'ticket', '', 'resolved')",
			db, fx.Start.Unix()+60, s+int64(time.Minute), fx.Start.Unix()+300, s+int64(5*time.Minute)),
	}
}

func insertAux(ctx context.Context, t *testing.T, c *store.Client, fx fixture.Options) {
	t.Helper()
	for _, stmt := range auxSQL(c.DB, fx) {
		httpQuery(ctx, t, stmt)
	}
}

// httpQuery runs SQL on the 18.16 server's HTTP interface and returns TSV.
// (clickhouse-go's HTTP transport does not work with 18.16; plain HTTP does.)
func httpQuery(ctx context.Context, t *testing.T, sql string) string {
	t.Helper()
	addr := os.Getenv("STEADYSTATE_CLICKHOUSE_HTTP_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8123"
	}
	u := "http://" + addr + "/?" + url.Values{"default_format": {"TSVWithNames"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(sql))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "ClickHouse HTTP at %s (start it with `make up`)", addr)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "18.16 rejected:\n%s\n%s", sql, body)
	return string(body)
}

type chdbResult struct {
	Version string            `json:"version"`
	Results map[string]string `json:"results"`
	Errors  map[string]string `json:"errors"`
}

func runChDB(t *testing.T, job map[string]any) chdbResult {
	t.Helper()
	in, err := json.Marshal(job)
	require.NoError(t, err)
	py := os.Getenv("PYTHON")
	if py == "" {
		py = "python3"
	}
	cmd := exec.Command(py, "testdata/chdb_run.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chDB runner failed (pip install chdb): %s", stderr.String())
	var res chdbResult
	require.NoError(t, json.Unmarshal(out, &res))
	return res
}

// approxColumns reads a query's "-- crosscheck: approx col ..." line: the
// columns whose values are estimates (t-digest quantiles), whose algorithm
// changed between releases.
func approxColumns(sql string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(sql, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- crosscheck: approx "); ok {
			for _, c := range strings.Fields(rest) {
				out[c] = true
			}
		}
	}
	return out
}

// unordered reports whether a query says "-- crosscheck: unordered": its
// rows come in no defined order, so they are compared sorted.
func unordered(sql string) bool {
	for _, line := range strings.Split(sql, "\n") {
		if strings.TrimSpace(line) == "-- crosscheck: unordered" {
			return true
		}
	}
	return false
}

// sortRows sorts the data rows of a TSVWithNames result, keeping the header.
func sortRows(tsv string) string {
	lines := strings.Split(strings.TrimRight(tsv, "\n"), "\n")
	if len(lines) > 1 {
		sort.Strings(lines[1:])
	}
	return strings.Join(lines, "\n") + "\n"
}

// assertSameTSV compares two TSVWithNames results cell by cell. Numbers
// must agree to 1e-9 relative; estimates in approx columns to 15 %.
func assertSameTSV(t *testing.T, old, cur string, approx map[string]bool) {
	t.Helper()
	ol := strings.Split(strings.TrimRight(old, "\n"), "\n")
	cl := strings.Split(strings.TrimRight(cur, "\n"), "\n")
	require.Len(t, cl, len(ol), "row count\n18.16:\n%s\ncurrent:\n%s", old, cur)
	require.Equal(t, ol[0], cl[0], "column names")
	header := strings.Split(ol[0], "\t")
	for i := 1; i < len(ol); i++ {
		of, cf := strings.Split(ol[i], "\t"), strings.Split(cl[i], "\t")
		require.Len(t, cf, len(of), "row %d column count", i)
		for j := range of {
			if of[j] == cf[j] {
				continue
			}
			a, errA := strconv.ParseFloat(of[j], 64)
			b, errB := strconv.ParseFloat(cf[j], 64)
			tol := 1e-9
			if approx[header[j]] {
				tol = 0.15
			}
			if errA == nil && errB == nil && math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b)) {
				continue
			}
			t.Errorf("row %d column %d: 18.16 %q, current %q\n18.16 row: %s\ncurrent row: %s", i, j, of[j], cf[j], ol[i], cl[i])
		}
	}
}
