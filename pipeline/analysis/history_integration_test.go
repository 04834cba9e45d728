//go:build integration

package analysis_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/query"
)

// Every look written to verdict_history reads back as written, per SLI,
// oldest first, and run list shows the run's last verdict and its looks.
func TestVerdictHistoryRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := query.New(chtest.Open(t))
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	run, err := r.StartRun(ctx, "checkout-payment-500", "alice", "history test", start)
	require.NoError(t, err)
	look := func(at time.Duration, verdict string, holds bool) *analysis.Result {
		since := start.Add(at - 5*time.Second)
		res := &analysis.Result{ExperimentID: "checkout-payment-500", Run: run, Window: analysis.Window{Since: start, Until: start.Add(at)},
			GeneratedAt: start.Add(at), Verdict: "inconclusive", Unit: "subject", Stop: holds,
			Metrics: []analysis.Metric{
				{Name: "checkout_errors", Type: "error_rate", Unit: "ratio", Verdict: "inconclusive", PValue: 0.3, AdjustedPValue: 0.6,
					Control: analysis.CohortValue{N: 100, Value: 0.01, Units: 80}, Experiment: analysis.CohortValue{N: 5, Value: 0.4, Units: 5}},
				{Name: "checkout_latency_p95", Type: "latency", Unit: "s", Verdict: "pass"},
			},
			StopConditions: []analysis.StopStatus{{SLI: "checkout_errors", Op: ">", Threshold: 0.2, For: "30s", Value: 0.4, Crossed: true, Since: &since, Holds: holds}},
		}
		if verdict == "fail" {
			res.Verdict, res.Metrics[0].Verdict = "fail", "fail"
			// The change at this look, and an older one (not recorded again).
			res.Metrics[0].VerdictChanges = []analysis.VerdictChange{
				{At: start.Add(5 * time.Second), From: "insufficient_data", To: "inconclusive", Reason: "enough data"},
				{At: start.Add(at), From: "inconclusive", To: "fail", Reason: "harm above the allowance with the fault"},
			}
		}
		return res
	}
	for _, l := range []*analysis.Result{look(10*time.Second, "inconclusive", false), look(45*time.Second, "fail", true)} {
		require.NoError(t, r.WriteVerdicts(ctx, analysis.VerdictRows(l, analysis.HistoryLive)))
	}
	rows, err := r.VerdictHistory(ctx, "checkout-payment-500", analysis.HistoryLive, start, start.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, rows, 4)
	first, last := rows[0], rows[3]
	assert.Equal(t, "checkout_errors", first.SLI)
	assert.Equal(t, start.Add(10*time.Second), first.Time)
	assert.Equal(t, run.ID, first.RunID)
	assert.Equal(t, "inconclusive", first.Verdict)
	assert.Equal(t, int64(100), first.ControlN)
	assert.InDelta(t, 0.6, first.AdjustedPValue, 1e-12)
	assert.Equal(t, "> 0.2 for 30s", first.StopCondition)
	assert.False(t, first.StopHolds)
	assert.Equal(t, "checkout_latency_p95", last.SLI)
	held := rows[2]
	assert.Equal(t, "fail", held.Verdict)
	assert.True(t, held.StopHolds)
	require.NotNil(t, held.StopSince)
	assert.Equal(t, start.Add(40*time.Second), *held.StopSince)

	changes, err := r.VerdictChanges(ctx, "checkout-payment-500", analysis.HistoryLive, start, start.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, changes, 1, "each change once, at the look it happened")
	assert.Equal(t, query.VerdictChangeRow{Time: start.Add(45 * time.Second), RunID: run.ID, SLI: "checkout_errors",
		From: "inconclusive", To: "fail", Reason: "harm above the allowance with the fault"}, changes[0])

	other, err := r.VerdictHistory(ctx, "checkout-payment-500", analysis.HistoryCompare, start, start.Add(time.Minute))
	require.NoError(t, err)
	assert.Empty(t, other, "compare's rows are apart from live's")

	list, err := r.RunList(ctx, "", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, run.ID, list[0].ID)
	assert.Equal(t, "fail", list[0].LastVerdict)
	assert.Equal(t, int64(2), list[0].Looks)
}
