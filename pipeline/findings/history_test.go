package findings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/findings/findingstest"
)

// A finding of the first run is recurring when the second run has it
// too, fixed when the second run exercised its SLI without it, and not
// exercised when the second run had no data for it.
func TestHistoryMarksItemsNewRecurringFixed(t *testing.T) {
	first := findingstest.GameDay()
	second := findingstest.GameDay()
	second.Run.ID = "r2" // the same game day again: every finding recurs
	ra := func(in findings.Input) findings.RunAnalysis {
		return findings.RunAnalysis{Input: in, Result: findings.Derive(in)}
	}

	h := findings.BuildHistory([]findings.RunAnalysis{ra(first), ra(second)})
	require.Len(t, h.Runs, 2)
	require.NotEmpty(t, h.Items)
	for _, it := range h.Items {
		assert.Equal(t, []string{findings.StatusNew, findings.StatusRecurring}, it.Status, it.FindingID)
	}

	// The SLI regression is gone in a third run that measured the SLI.
	third := second
	third.Run.ID = "r3"
	third.SLIs = append([]findings.SLIResult(nil), second.SLIs...)
	for i := range third.SLIs {
		third.SLIs[i].Verdict = "pass"
		third.SLIs[i].Experiment.Value = third.SLIs[i].Control.Value
	}
	third.Verdict = "pass"
	// A fourth run with no data for the SLIs cannot show a fix.
	fourth := third
	fourth.Run.ID = "r4"
	fourth.SLIs = nil
	h = findings.BuildHistory([]findings.RunAnalysis{ra(first), ra(second), ra(third), ra(fourth)})
	var sli *findings.HistoryItem
	for i := range h.Items {
		if h.Items[i].FindingID[:len(findings.KindSLIRegression)] == findings.KindSLIRegression {
			sli = &h.Items[i]
		}
	}
	require.NotNil(t, sli, "the game day has an SLI regression item")
	assert.Equal(t, []string{findings.StatusNew, findings.StatusRecurring, findings.StatusFixed, findings.StatusNotExercised}, sli.Status)
	assert.Equal(t, findings.StatusNotExercised, sli.Latest())
}

// Live's verdict history puts the stop condition at the look that
// declared it, not at the end of the run, and lists each verdict change.
func TestTimelineUsesTheVerdictHistory(t *testing.T) {
	in := findingstest.GameDay()
	require.NotEmpty(t, in.StopConditions)
	sc := in.StopConditions[0]
	in.StopConditions[0].Since = nil // the post-run comparison does not know when
	t0 := in.Run.Start
	in.VerdictHistory = []findings.VerdictPoint{
		{Time: t0.Add(10 * time.Second), SLI: sc.SLI, Verdict: "insufficient_data", Provisional: true, PValue: 1},
		{Time: t0.Add(30 * time.Second), SLI: sc.SLI, Verdict: "fail", PValue: 0.001, StopCondition: "> 0.2 for 30s", ChangeReason: "harm above the allowance"},
		{Time: t0.Add(45 * time.Second), SLI: sc.SLI, Verdict: "fail", PValue: 0.0001, StopCondition: "> 0.2 for 30s", StopHolds: true, StopValue: 1},
		{Time: t0.Add(50 * time.Second), SLI: sc.SLI, Verdict: "fail", PValue: 0.0001, StopCondition: "> 0.2 for 30s", StopHolds: true, StopValue: 1},
	}
	res := findings.Derive(in)
	var stop, change []findings.TimelineEntry
	for _, e := range res.Timeline {
		switch e.Kind {
		case "stop_condition":
			stop = append(stop, e)
		case "verdict_change":
			change = append(change, e)
		}
	}
	require.Len(t, stop, 1)
	assert.Equal(t, t0.Add(45*time.Second), stop[0].Time, "the first look at which it held")
	require.Len(t, change, 1)
	assert.Equal(t, t0.Add(30*time.Second), change[0].Time)
	assert.Contains(t, change[0].Text, "from insufficient_data (provisional) to fail")
	assert.Contains(t, change[0].Text, ": harm above the allowance", "the report says why")
}

// The significance-aware score puts a value carried by most of many
// failures above one carried by all of a handful.
func TestRankDifferencesBySignificance(t *testing.T) {
	ds := []findings.Difference{
		{Key: "rare", Value: "x", Bad: 2, BadTotal: 2, Control: 0, ControlTotal: 10}, // lift 100%, n tiny
		{Key: "http_status", Value: "500", Bad: 900, BadTotal: 1000, Control: 10, ControlTotal: 20000},
		{Key: "name", Value: "GET /checkout", Bad: 500, BadTotal: 1000, Control: 9000, ControlTotal: 20000},
	}
	got := findings.RankDifferences(ds, 2)
	require.Len(t, got, 2)
	assert.Equal(t, "http_status", got[0].Key)
	assert.Greater(t, ds[0].Lift(), ds[1].Lift(), "raw lift would have ranked the rare value first")
	assert.Greater(t, got[0].Rank, got[1].Rank)
}
