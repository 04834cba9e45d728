// Package findingstest builds analysis inputs for tests: a game day in the
// style of Stitch Fix's, where the page crashed for the experiment cohort,
// one flow stage dropped items and the paging alert never fired.
package findingstest

import (
	"time"

	"github.com/steadystate/steadystate/pipeline/findings"
)

// Start is the run start of GameDay.
var Start = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func i64(v int64) *int64 { return &v }

func f64(v float64) *float64 { return &v }

// GameDay is a 20-minute run: checkout errors 38% for the experiment
// cohort against 1% for control (stop condition met), latency unaffected,
// 10 of 200 publish items stuck after content.transformed, one expected
// alert fired in time and one (the page) never fired, four predictions
// (three expected no impact).
func GameDay() findings.Input {
	end := Start.Add(20 * time.Minute)
	stopAt := Start.Add(4 * time.Minute)
	in := findings.Input{
		Experiment: findings.Experiment{
			ID: "checkout-payment-500", Title: "Payment API returns 500 for 5% of users",
			Hypothesis:              "The checkout page degrades gracefully when the payment API fails.",
			Owner:                   "team-checkout",
			ExpectedExperimentShare: 0.05,
		},
		Run:         findings.Run{ID: "r1", Start: Start, End: end, Operator: "alice", Note: "game day"},
		GeneratedAt: end.Add(time.Minute),
		Verdict:     "fail",
		Cohorts:     findings.CohortSizes{Control: 19000, Experiment: 1000},
		SRM:         &findings.SRM{Expected: 0.05, Observed: 0.05, PValue: 0.98},
		SLIs: []findings.SLIResult{
			{
				Name: "checkout_errors", Type: "error_rate", Unit: "ratio", Direction: "lower_is_better", Objective: 0.999,
				Control:    findings.CohortValue{N: 19000, Value: 0.01, Bad: i64(190)},
				Experiment: findings.CohortValue{N: 1000, Value: 0.38, Bad: i64(380)},
				Effect:     0.37, Relative: f64(37), CILower: 0.34, CIUpper: 0.40, CILevel: 0.9, Test: "fisher_exact", PValue: 1e-9,
				Allowed: 0.01, Verdict: "fail",
			},
			{
				Name: "checkout_latency_p95", Type: "latency", Unit: "s", Direction: "lower_is_better", Quantile: 0.95,
				Control:    findings.CohortValue{N: 5000, Value: 0.12},
				Experiment: findings.CohortValue{N: 1000, Value: 0.125},
				Effect:     0.005, Relative: f64(0.0417), CILower: -0.01, CIUpper: 0.02, CILevel: 0.9, Test: "mann_whitney_u", PValue: 0.31,
				Allowed: 0.05, Verdict: "pass",
			},
		},
		StopConditions: []findings.StopCondition{{SLI: "checkout_errors", Op: "above", Threshold: 0.2, Value: 0.38, Holds: true, Since: &stopAt}},
		BlastRadius: &findings.BlastRadius{
			BeforeEvents: 20000, BeforeErrors: 200, DuringEvents: 40000, DuringErrors: 410,
			ErrorRateBefore: 0.01, ErrorRateDuring: 0.01025, PValue: 0.4, Verdict: "pass",
		},
		Flows: []findings.FlowResult{{
			Name: "publish", Owner: "team-content-platform", Severity: "page", RunbookURL: "https://runbooks.example.com/content/publish-stuck",
			Stages: []string{"publish.received", "content.transformed", "content.stored", "cache.purged"}, WithinSeconds: 120,
			Cohorts: []findings.FlowCohort{
				{Cohort: "control", Items: 100, Complete: 95, Stuck: 5, Reached: []int64{100, 100, 95, 95}, StuckAfter: []int64{0, 5, 0, 0}},
				{Cohort: "experiment", Items: 100, Complete: 95, Stuck: 5, Reached: []int64{100, 100, 95, 95}, StuckAfter: []int64{0, 5, 0, 0}},
			},
			StuckExamples: []string{"pub-0009", "pub-0019", "pub-0029"},
		}},
		ExpectedAlerts: []findings.ExpectedAlert{
			{Name: "PaymentDependencyErrors", Within: 5 * time.Minute, Severity: "ticket"},
			{Name: "CheckoutErrorRateHigh", Within: 5 * time.Minute, Severity: "page"},
		},
		Alerts: []findings.AlertEvent{
			{Name: "PaymentDependencyErrors", Severity: "ticket", Status: "firing", Time: Start.Add(2*time.Minute + 30*time.Second), Fingerprint: "a1"},
			{Name: "PaymentDependencyErrors", Severity: "ticket", Status: "resolved", Time: end.Add(2 * time.Minute), Fingerprint: "a1"},
		},
		Expectations: []findings.Expectation{
			{Who: "alice", SLI: "checkout_errors", Outcome: "unaffected", Note: "page still renders"},
			{Who: "bob", SLI: "checkout_latency_p95", Outcome: "unaffected", Note: "fails fast"},
			{Who: "carol", Flow: "publish", Outcome: "completes"},
			{Who: "dave", SLI: "checkout_errors", Outcome: "fails", Note: "the 500 bubbles up"},
		},
		Differences: []findings.Difference{
			{Key: "error_type", Value: "PaymentUnavailable", Bad: 380, BadTotal: 380, Control: 0, ControlTotal: 19000, Exemplars: []string{"4bf92f3577b34da6a3ce929d0e0e4736"}},
			{Key: "region", Value: "eu", Bad: 200, BadTotal: 380, Control: 9500, ControlTotal: 19000},
		},
	}
	for m := 0; m < 40; m++ {
		t := Start.Add(time.Duration(m-20) * time.Minute)
		ctl := findings.SeriesPoint{Time: t, Cohort: "control", Events: 950, Errors: 10, P50ms: 60, P99ms: 180}
		if m < 20 {
			ctl.Cohort = "none"
			in.Series = append(in.Series, ctl)
			continue
		}
		in.Series = append(in.Series, ctl,
			findings.SeriesPoint{Time: t, Cohort: "experiment", Events: 50, Errors: 19, P50ms: 62, P99ms: 190})
	}
	return in
}
