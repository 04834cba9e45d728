package gather

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/stats"
)

func TestFromComparison(t *testing.T) {
	rel := 0.5
	bad := int64(38)
	since := time.Date(2026, 11, 21, 10, 1, 0, 0, time.UTC)
	res := &analysis.Result{
		Verdict: stats.VerdictFail, Reason: "",
		Cohorts: analysis.CohortSizes{Control: 1900, Experiment: 100},
		Tagging: &analysis.TaggingCounts{Direct: query.CohortCounts{Control: 950, Experiment: 50},
			TraceIngest: query.CohortCounts{Control: 900, Experiment: 30}, TraceClickHouse: query.CohortCounts{Control: 50, Experiment: 20}},
		SRM: analysis.SRM{ExpectedExperimentShare: 0.05, ObservedExperimentShare: 0.05, PValue: 0.9},
		Metrics: []analysis.Metric{{
			Name: "checkout_errors", Type: "error_rate", Unit: "ratio", Direction: "lower_is_better",
			Control: analysis.CohortValue{N: 1900, Value: 0.01}, Experiment: analysis.CohortValue{N: 100, Value: 0.38, Bad: &bad},
			Effect: analysis.Effect{Absolute: 0.37, Relative: &rel}, CI: analysis.Interval{Lower: 0.3, Upper: 0.45, Level: 0.9},
			Test: "fisher_exact", PValue: 1e-9, AdjustedPValue: 2e-9, Tolerance: analysis.ToleranceOut{Allowed: 0.01}, Verdict: stats.VerdictFail,
		}},
		StopConditions: []analysis.StopStatus{{SLI: "checkout_errors", Op: "above", Threshold: 0.2, Value: 0.38, Holds: true, Since: &since}},
		BlastRadius: &analysis.BlastRadius{Before: analysis.Tally{Events: 10, Errors: 1}, During: analysis.Tally{Events: 20, Errors: 2},
			ErrorRateBefore: 0.1, ErrorRateDuring: 0.1, PValue: 0.5, Verdict: stats.VerdictPass,
			Services: []analysis.ServiceBlast{{Service: "checkout"}}},
	}
	e := &experiment.Experiment{ID: "x", SLIs: []experiment.SLI{{Name: "checkout_errors", Type: experiment.SLIErrorRate, Objective: 0.999}}}
	var in findings.Input
	FromComparison(&in, e, res)
	assert.Equal(t, "fail", in.Verdict)
	assert.Equal(t, findings.CohortSizes{Control: 1900, Experiment: 100}, in.Cohorts)
	assert.Equal(t, &findings.Tagging{Direct: findings.CohortSizes{Control: 950, Experiment: 50},
		TraceIngest: findings.CohortSizes{Control: 900, Experiment: 30}, TraceClickHouse: findings.CohortSizes{Control: 50, Experiment: 20}}, in.Tagging,
		"the report says which events were tagged directly and which by their trace")
	require.Len(t, in.SLIs, 1)
	s := in.SLIs[0]
	assert.InDelta(t, 0.999, s.Objective, 1e-12, "the objective comes from the definition")
	assert.InDelta(t, 2e-9, s.PValue, 1e-15, "the adjusted p-value, which the verdict used")
	assert.Equal(t, &bad, s.Experiment.Bad)
	assert.InDelta(t, 0.01, s.Allowed, 1e-12)
	assert.Equal(t, &since, in.StopConditions[0].Since)
	assert.Equal(t, []string{"checkout"}, in.BlastRadius.Services)
	assert.Equal(t, int64(20), in.BlastRadius.DuringEvents)
}
