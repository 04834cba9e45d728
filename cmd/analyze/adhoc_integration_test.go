//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/report"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// An experiment known only from its telemetry (no definition file, no run
// record): report and backlog take its id and a --since/--until window,
// compare the default SLIs, and count exactly the stored events of the
// window (events before/after it and of another experiment are left out).
func TestReportAndBacklogOnAnAdHocExperiment(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db := newTestDB(t)
	const id = "adhoc-only-telemetry"
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	until := start.Add(10 * time.Minute)
	var events []telemetry.Event
	add := func(i int, exp string, cohort telemetry.Cohort, at time.Time, isErr bool, dur time.Duration) {
		st := telemetry.StatusOK
		if isErr {
			st = telemetry.StatusError
		}
		events = append(events, telemetry.Event{ID: fmt.Sprintf("%s-%s-%d", exp, cohort, i), TimeNs: at.UnixNano(), IngestNs: at.UnixNano(),
			Kind: telemetry.KindSpan, Service: "checkout", Name: "GET /checkout", ExperimentID: exp, Cohort: cohort,
			Status: st, IsError: isErr, DurationNs: uint64(dur)})
	}
	// In the window: control 400 events, 4 errors (1%); experiment 100
	// events, 30 errors (30%). Slow experiment latency.
	for i := range 400 {
		add(i, id, telemetry.CohortControl, start.Add(time.Duration(i)*time.Second), i%100 == 0, 20*time.Millisecond)
	}
	for i := range 100 {
		add(i, id, telemetry.CohortExperiment, start.Add(time.Duration(i)*5*time.Second), i%10 < 3, 200*time.Millisecond)
	}
	// Outside the window, or another experiment: never counted.
	for i := range 50 {
		add(1000+i, id, telemetry.CohortExperiment, until.Add(time.Minute+time.Duration(i)*time.Second), false, time.Millisecond)
		add(2000+i, id, telemetry.CohortControl, start.Add(-time.Hour+time.Duration(i)*time.Second), true, time.Millisecond)
		add(i, "some-other-exp", telemetry.CohortExperiment, start.Add(time.Duration(i)*time.Second), true, time.Millisecond)
	}
	db.insert(ctx, t, events)

	f, ios := db.factory(t.TempDir()) // an experiments directory with no definitions at all
	dir := t.TempDir()
	cmd := newCmdReport(f, func(o *reportOptions) error {
		o.Now = func() time.Time { return until.Add(time.Hour) }
		return reportRun(ctx, o)
	})
	window := []string{"--since", start.Format(time.RFC3339), "--until", until.Format(time.RFC3339)}
	cmd.SetArgs(append([]string{id, "--out", dir}, window...))
	cmd.SilenceUsage = true
	require.NoError(t, cmd.ExecuteContext(ctx))
	t.Logf("stdout:\n%s", ios.Out.(interface{ String() string }).String())

	var rep report.Report
	js, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(js, &rep))
	in := rep.Input
	names := []string{}
	for _, s := range in.SLIs {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"error_rate", "latency_p50", "latency_p95", "latency_p99"}, names, "the default SLIs")
	require.Len(t, in.SLIs, 4)
	er := in.SLIs[0]
	assert.Equal(t, int64(400), er.Control.N)
	assert.Equal(t, int64(100), er.Experiment.N)
	assert.InDelta(t, 0.01, er.Control.Value, 1e-9)
	assert.InDelta(t, 0.30, er.Experiment.Value, 1e-9)
	assert.Equal(t, "fail", er.Verdict, "30%% errors against 1%% breaks the default tolerance")
	p99 := in.SLIs[3]
	assert.InDelta(t, 0.020, p99.Control.Value, 0.002, "control p99 (s)")
	assert.InDelta(t, 0.200, p99.Experiment.Value, 0.02, "experiment p99 (s)")
	assert.Equal(t, "fail", in.Verdict)

	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	for _, want := range []string{"# Game-day report: " + id, "an ad-hoc experiment known only from its telemetry",
		`| error\_rate | 30% (n=100) | 1% (n=400) |`, `| latency\_p99 | 200 ms (n=100) | 20 ms (n=400) |`, "| during the run | 400 | 4 | 1% |"} {
		assert.Contains(t, string(md), want, "report.md")
	}

	// backlog: the same window, the same id, a JSON backlog with the
	// regression in it.
	fb, ios2 := db.factory(t.TempDir())
	bcmd := newCmdBacklog(fb, func(o *backlogOptions) error {
		o.Now = func() time.Time { return until.Add(time.Hour) }
		return backlogRun(ctx, o)
	})
	bcmd.SetArgs(append([]string{id}, window...))
	bcmd.SilenceUsage = true
	require.NoError(t, bcmd.ExecuteContext(ctx))
	out := ios2.Out.(interface{ String() string }).String()
	t.Logf("backlog:\n%s", out)
	assert.Contains(t, out, "error_rate: experiment: 30% over 100 events; control: 1% over 400 events")

	// export: the window's events of this id, nothing else.
	fe, ios3 := db.factory(t.TempDir())
	pq := filepath.Join(t.TempDir(), "adhoc.parquet")
	ecmd := newCmdExport(fe, nil)
	ecmd.SetArgs(append([]string{id, "--out", pq}, window...))
	ecmd.SilenceUsage = true
	require.NoError(t, ecmd.ExecuteContext(ctx))
	assert.Contains(t, ios3.Out.(fmt.Stringer).String(), "wrote 500 events of "+id)
	got := python(t, `
import json, sys, pyarrow.parquet as pq
df = pq.read_table(sys.argv[1]).to_pandas()
print(json.dumps({"rows": len(df), "cohorts": {k: int(v) for k, v in df["cohort"].value_counts().items()}, "errors": int(df["is_error"].sum())}))`, pq)
	assert.JSONEq(t, `{"rows": 500, "cohorts": {"control": 400, "experiment": 100}, "errors": 34}`, got)
}
