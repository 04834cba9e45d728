//go:build integration

package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/fixture"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/report"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/gameday/report.{md,json}")

// gameDay stores the acceptance run: the fixture's cohorts (experiment
// 20% errors, control 1%), its publish items (every tenth stops after
// content.transformed), one alert that fires (PaymentDependencyErrors,
// notified twice plus its resolution) while CheckoutErrorRateHigh never
// does, and the run record.
func gameDay(ctx context.Context, t *testing.T, db *testDB) fixture.Options {
	t.Helper()
	fx := fixture.DefaultOptions()
	fx.ExperimentID = "gameday-exp"
	gen := fixture.Generate(fx)
	fire := fx.Start.Add(2*time.Minute + 30*time.Second)
	alert := func(id string, at time.Time, st telemetry.Status) telemetry.Event {
		return telemetry.Event{ID: id, TimeNs: at.UnixNano(), IngestNs: at.UnixNano(), Kind: telemetry.KindAlert, Service: "payment",
			Name: "PaymentDependencyErrors", ExperimentID: fx.ExperimentID, Status: st, Severity: "ticket",
			AttrKeys: []string{"alert.fingerprint", "alert.status"}, AttrValues: []string{"f00d", map[telemetry.Status]string{telemetry.StatusError: "firing", telemetry.StatusOK: "resolved"}[st]}}
	}
	events := slices.Concat(gen.Events, []telemetry.Event{alert("am-fire", fire, telemetry.StatusError), alert("am-fire", fire, telemetry.StatusError),
		alert("am-resolve", fx.Start.Add(fx.Run+time.Minute), telemetry.StatusOK)})
	db.insert(ctx, t, events)
	db.run(ctx, t, fx.ExperimentID, "r1", fx.Start, fx.Start.Add(fx.Run))
	return fx
}

func TestReportAndBacklogOnAGameDay(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db := newTestDB(t)
	fx := gameDay(ctx, t, db)
	f, ios := db.factory("testdata/gameday")
	now := fx.Start.Add(fx.Run + 10*time.Minute) // every item's window has passed

	dir := t.TempDir()
	// The time the data are read is an input: pinned, the golden files hold.
	cmd := newCmdReport(f, func(o *reportOptions) error {
		o.Now = func() time.Time { return now }
		return reportRun(ctx, o)
	})
	cmd.SetArgs([]string{fx.ExperimentID, "--out", dir})
	cmd.SilenceUsage = true
	require.NoError(t, cmd.ExecuteContext(ctx))
	stdout := ios.Out.(interface{ String() string }).String()
	assert.Contains(t, stdout, "[high] Alert CheckoutErrorRateHigh never fired")
	assert.Contains(t, stdout, "[high] Flow publish: 20 of 192 items stuck after content.transformed")

	var rep report.Report
	js, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(js, &rep))
	an := rep.Analysis

	// Verdict and numbers match the data: the fixture's page loads of the
	// run, counted here from the generated events.
	assert.Equal(t, "fail", rep.Input.Verdict)
	var expN, expErr, ctlN, ctlErr int64
	seen := map[string]bool{}
	for _, e := range fixture.Generate(fx).Events {
		if seen[e.ID] || e.Synthetic || e.Name != "GET /checkout" || e.ExperimentID != fx.ExperimentID ||
			e.TimeNs < fx.Start.UnixNano() || e.TimeNs >= fx.Start.Add(fx.Run).UnixNano() {
			continue
		}
		seen[e.ID] = true
		switch e.Cohort {
		case telemetry.CohortExperiment:
			expN++
			if e.IsError {
				expErr++
			}
		case telemetry.CohortControl:
			ctlN++
			if e.IsError {
				ctlErr++
			}
		}
	}
	require.NotEmpty(t, rep.Input.SLIs)
	errs := rep.Input.SLIs[0]
	assert.Equal(t, "checkout_errors", errs.Name)
	assert.Equal(t, "fail", errs.Verdict)
	assert.Equal(t, expN, errs.Experiment.N)
	assert.Equal(t, ctlN, errs.Control.N)
	assert.InDelta(t, float64(expErr)/float64(expN), errs.Experiment.Value, 1e-9)
	assert.InDelta(t, float64(ctlErr)/float64(ctlN), errs.Control.Value, 1e-9)
	require.Len(t, rep.Input.StopConditions, 1)
	assert.True(t, rep.Input.StopConditions[0].Holds, "20%% errors trips the 15%% stop condition")
	assert.True(t, ids0(an.Findings)["sli_regression:checkout_errors"], "the regression is a finding")

	// Alert coverage: one fired in time, the page never did.
	require.Len(t, an.AlertCoverage, 2)
	assert.True(t, an.AlertCoverage[0].Fired)
	assert.InDelta(t, 150, an.AlertCoverage[0].TimeToFireSeconds, 1e-9)
	assert.False(t, an.AlertCoverage[1].Fired)

	// The stuck stage matches the fixture: every tenth item stopped after
	// its second stage, half of them in each cohort.
	require.Len(t, rep.Input.Flows, 1)
	fl := rep.Input.Flows[0]
	var stuck, items int64
	for _, c := range fl.Cohorts {
		stuck += c.Stuck
		items += c.Items
		assert.Equal(t, c.Stuck, c.StuckAfter[1], "%s: all stuck after content.transformed", c.Cohort)
	}
	wantStuck := 0
	for range fixtureStuck(fx) {
		wantStuck++
	}
	assert.Equal(t, int64(wantStuck), stuck)
	assert.Equal(t, int64(fx.FlowItems-fx.FlowItems/25), items, "synthetic items (every 25th) are left out")

	ids := map[string]bool{}
	for _, fd := range an.Findings {
		ids[fd.ID] = true
	}
	assert.True(t, ids["alert_missing:CheckoutErrorRateHigh"], "the missing alert is a finding")
	assert.True(t, ids["flow_stuck:publish:content.transformed"], "the stuck stage is a finding")

	// BubbleUp: the 500s are what sets the experiment's bad events apart.
	require.NotEmpty(t, rep.Input.Differences)
	top := rep.Input.Differences[0]
	assert.Equal(t, "http_status=500", top.Key+"="+top.Value)
	assert.Equal(t, top.Bad, top.BadTotal, "every bad event is a 500")
	assert.Len(t, top.Exemplars, 3)

	// The backlog ranks them.
	var backlogIDs []string
	for _, it := range an.Backlog {
		backlogIDs = append(backlogIDs, it.FindingID)
	}
	assert.Contains(t, backlogIDs, "alert_missing:CheckoutErrorRateHigh")
	assert.Contains(t, backlogIDs, "flow_stuck:publish:content.transformed")

	// Golden files: the same data give the same report.
	for _, name := range []string{"report.md", "report.json"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		golden := filepath.Join("testdata", "gameday", name)
		if *updateGolden {
			require.NoError(t, os.WriteFile(golden, got, 0o644))
			continue
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err, "golden file (go test -tags integration -run TestReportAndBacklog ./cmd/analyze -update writes it)")
		assert.Equal(t, string(want), string(got), "%s differs from %s", name, golden)
	}
	require.False(t, *updateGolden, "golden files rewritten; run again without -update")

	// The backlog as Jira CSV: the same items, parseable.
	fb, ios2 := db.factory("testdata/gameday")
	bcmd := newCmdBacklog(fb, func(o *backlogOptions) error {
		o.Now = func() time.Time { return now }
		return backlogRun(ctx, o)
	})
	bcmd.SetArgs([]string{fx.ExperimentID, "--format", "jira"})
	require.NoError(t, bcmd.ExecuteContext(ctx))
	recs, err := csv.NewReader(strings.NewReader(ios2.Out.(interface{ String() string }).String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, len(an.Backlog)+1)
	for i, it := range an.Backlog {
		assert.Equal(t, it.Title, recs[i+1][0])
	}
}

func ids0(fs []findings.Finding) map[string]bool {
	out := map[string]bool{}
	for _, f := range fs {
		out[f.ID] = true
	}
	return out
}

func fixtureStuck(fx fixture.Options) map[string]string {
	stuck := map[string]string{}
	for k, v := range fixture.Generate(fx).Stuck {
		i, _ := strconv.Atoi(strings.TrimPrefix(k, "pub-"))
		if i%25 != 0 { // synthetic items are not counted
			stuck[k] = v
		}
	}
	return stuck
}
