package findings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/findings/findingstest"
)

func byID(t *testing.T, fs []findings.Finding, id string) findings.Finding {
	t.Helper()
	for _, f := range fs {
		if f.ID == id {
			return f
		}
	}
	ids := make([]string, 0, len(fs))
	for _, f := range fs {
		ids = append(ids, f.ID)
	}
	t.Fatalf("no finding %q among %v", id, ids)
	return findings.Finding{}
}

func TestGameDayFindings(t *testing.T) {
	res := findings.Derive(findingstest.GameDay())

	sli := byID(t, res.Findings, "sli_regression:checkout_errors")
	assert.Equal(t, findings.Critical, sli.Severity, "a met stop condition makes the regression critical")
	assert.Equal(t, findings.ChartErrorRate, sli.Chart)
	assert.Contains(t, sli.Evidence, "experiment: 38% over 1000 events; control: 1% over 19000 events")
	assert.Contains(t, sli.Evidence[len(sli.Evidence)-1], "stop condition met: checkout_errors above 20%")

	missing := byID(t, res.Findings, "alert_missing:CheckoutErrorRateHigh")
	assert.Equal(t, findings.High, missing.Severity)
	assert.Equal(t, "Alert CheckoutErrorRateHigh never fired", missing.Title)
	assert.Contains(t, missing.Evidence[1], "alert notifications received during the run: 2 (PaymentDependencyErrors)")

	stuck := byID(t, res.Findings, "flow_stuck:publish:content.transformed")
	assert.Equal(t, findings.High, stuck.Severity, "the flow pages")
	assert.Equal(t, "Flow publish: 10 of 200 items stuck after content.transformed", stuck.Title)
	assert.Contains(t, stuck.Summary, "never reached content.stored within 2m")
	assert.Equal(t, "team-content-platform", stuck.Owner)

	for _, f := range res.Findings {
		assert.NotEqual(t, "sli_regression:checkout_latency_p95", f.ID, "a passing SLI is no finding")
		assert.NotEqual(t, findings.KindBlastRadius, f.Kind, "control was not degraded")
		assert.NotEqual(t, "alert_missing:PaymentDependencyErrors", f.ID, "it fired")
	}
	// Worst first.
	for i := 1; i < len(res.Findings); i++ {
		assert.LessOrEqual(t, res.Findings[i-1].Severity.Rank(), res.Findings[i].Severity.Rank())
	}
}

func TestAlertCoverage(t *testing.T) {
	res := findings.Derive(findingstest.GameDay())
	require.Len(t, res.AlertCoverage, 2)
	fired := res.AlertCoverage[0]
	assert.Equal(t, "PaymentDependencyErrors", fired.Name)
	assert.True(t, fired.Fired)
	assert.False(t, fired.Late)
	assert.InDelta(t, 150, fired.TimeToFireSeconds, 1e-9)
	assert.Equal(t, "ticket", fired.FiredSeverity)
	assert.False(t, res.AlertCoverage[1].Fired)
	assert.Nil(t, res.AlertCoverage[1].FiredAt)

	// Fired, but after its expected time: late, a medium finding.
	in := findingstest.GameDay()
	in.Alerts[0].Time = findingstest.Start.Add(8 * time.Minute)
	res = findings.Derive(in)
	assert.True(t, res.AlertCoverage[0].Late)
	late := byID(t, res.Findings, "alert_late:PaymentDependencyErrors")
	assert.Equal(t, "Alert PaymentDependencyErrors fired 3m late", late.Title)

	// A notification from before the run does not count; an unexpected
	// alert is an info finding.
	in = findingstest.GameDay()
	in.Alerts[0].Time = findingstest.Start.Add(-time.Minute)
	in.Alerts = append(in.Alerts, findings.AlertEvent{Name: "DiskFull", Status: "firing", Time: findingstest.Start.Add(time.Minute)})
	res = findings.Derive(in)
	assert.False(t, res.AlertCoverage[0].Fired)
	assert.Equal(t, []string{"DiskFull"}, res.UnexpectedAlerts)
	assert.Equal(t, findings.Info, byID(t, res.Findings, "unexpected_alert:DiskFull").Severity)
}

func TestExpectationsAndAlignment(t *testing.T) {
	res := findings.Derive(findingstest.GameDay())
	marks := map[string]string{}
	actual := map[string]string{}
	for _, e := range res.Expectations {
		marks[e.Who] = e.Mark
		actual[e.Who] = e.Actual
	}
	assert.Equal(t, map[string]string{"alice": "wrong", "bob": "right", "carol": "wrong", "dave": "right"}, marks)
	assert.Equal(t, "fails", actual["dave"], "the stop condition was met: the cohort failed")
	assert.Equal(t, "stuck", actual["carol"])
	assert.Equal(t, "3 vs 1", res.Alignment.Split)
	assert.Equal(t, "The team split 3 vs 1: alice, bob and carol expected no impact; dave expected impact. 2 of 4 predictions were right, 0 partly, 2 wrong.", res.Alignment.Summary)
	require.NotEmpty(t, res.Alignment.Groups)
	assert.Equal(t, findings.AlignmentGroup{Outcome: "unaffected", Who: []string{"alice", "bob"}}, res.Alignment.Groups[0])
	miss := byID(t, res.Findings, "expectation_miss:alice:checkout_errors")
	assert.Equal(t, "alice expected checkout_errors to be unaffected; it failed", miss.Title)
	assert.Nil(t, miss.Risk, "a wrong prediction is a learning, not a work item")

	// Degrades where fails was predicted: partly right.
	in := findingstest.GameDay()
	in.StopConditions = nil
	res = findings.Derive(in)
	for _, e := range res.Expectations {
		if e.Who == "dave" {
			assert.Equal(t, "degrades", e.Actual)
			assert.Equal(t, "partly", e.Mark)
		}
	}
}

func TestBacklogRanking(t *testing.T) {
	res := findings.Derive(findingstest.GameDay())
	require.Len(t, res.Backlog, 3)
	got := []string{}
	for i, it := range res.Backlog {
		assert.Equal(t, i+1, it.Rank)
		got = append(got, it.FindingID)
	}
	// 10 of 200 items x 20 min x all items = 1.0; 37% excess x 20 min x 5%
	// = 0.37 for both the crash and the missing page, the crash first by
	// severity.
	assert.Equal(t, []string{"flow_stuck:publish:content.transformed", "sli_regression:checkout_errors", "alert_missing:CheckoutErrorRateHigh"}, got)
	assert.InDelta(t, 1.0, res.Backlog[0].Risk.BadMinutesPerUser, 1e-9)
	assert.InDelta(t, 0.37, res.Backlog[1].Risk.BadMinutesPerUser, 1e-9)
	// 0.37 x 0.05 x 20 min over a 43.2-minute budget (99.9% of 30 days).
	assert.InDelta(t, 0.37*0.05*20/43.2, res.Backlog[1].Risk.BudgetShare, 1e-6)
	assert.Equal(t, "Make alert CheckoutErrorRateHigh fire for a partial outage (it never fired during the game day)", res.Backlog[2].Title)
	assert.Equal(t, []string{"alert:CheckoutErrorRateHigh", "alerting", "chaos", "severity:high"}, res.Backlog[2].Labels)
	assert.Equal(t, "team-checkout", res.Backlog[2].Owner)
	assert.Contains(t, res.Backlog[0].Description, "- 10 of 200 items stuck (5%); by cohort: control 5 of 100, experiment 5 of 100")
	assert.Equal(t, findings.Fingerprint("checkout-payment-500", "alert_missing:CheckoutErrorRateHigh"), res.Backlog[2].Fingerprint)
	assert.NotEqual(t, findings.Fingerprint("other", "alert_missing:CheckoutErrorRateHigh"), res.Backlog[2].Fingerprint)
}

func TestBurnTimelineSummary(t *testing.T) {
	res := findings.Derive(findingstest.GameDay())
	require.Len(t, res.Burn, 20, "one point per bucket of the run")
	// 19 errors of 50 a minute against 0.1% of 1000 events: the budget of
	// the whole run is gone in the first minute, 380x by the end.
	assert.InDelta(t, 19, res.Burn[0].Consumed, 1e-9)
	assert.InDelta(t, 380, res.Burn[19].Consumed, 1e-9)

	kinds := []string{}
	for _, e := range res.Timeline {
		kinds = append(kinds, e.Kind)
	}
	assert.Equal(t, []string{"run_start", "alert_firing", "stop_condition", "flow_stuck", "run_stop", "alert_resolved"}, kinds)

	assert.Contains(t, res.Summary, "The hypothesis did not hold: users who got the failure were clearly worse off (error rate 38% against 1%).")
	assert.Contains(t, res.Summary, "1 of 2 expected alerts fired; CheckoutErrorRateHigh never did")
	assert.Contains(t, res.Summary, "Users outside the experiment were not affected.")
	assert.Contains(t, res.Summary, "the team split 3 vs 1; 2 of 4 predictions were right")
}

func TestAnalyzeIsDeterministicAndTotal(t *testing.T) {
	a := findings.Derive(findingstest.GameDay())
	b := findings.Derive(findingstest.GameDay())
	assert.Equal(t, a, b)

	empty := findings.Derive(findings.Input{Experiment: findings.Experiment{ID: "x"}, Verdict: "insufficient_data"})
	assert.Empty(t, empty.Findings)
	assert.NotNil(t, empty.Backlog)
	assert.Contains(t, empty.Summary, "The data are not enough")
	assert.InDelta(t, findings.DefaultObjective, empty.Objective, 1e-12)
}

func TestBlastRadiusAndSRMFindings(t *testing.T) {
	in := findingstest.GameDay()
	in.BlastRadius.Degraded, in.BlastRadius.Verdict, in.BlastRadius.ErrorRateDuring = true, "fail", 0.03
	in.BlastRadius.Services = []string{"checkout"}
	in.SRM.Mismatch, in.SRM.Observed = true, 0.08
	res := findings.Derive(in)
	b := byID(t, res.Findings, "blast_radius")
	assert.Equal(t, findings.Critical, b.Severity)
	assert.Equal(t, "The fault reached users outside the experiment: errors rose from 1% to 3%", b.Title)
	assert.InDelta(t, 0.02*20*0.95, b.Risk.BadMinutesPerUser, 1e-9)
	s := byID(t, res.Findings, "sample_ratio_mismatch")
	assert.Equal(t, "Cohort assignment is off: 8% of traffic in the experiment cohort, 5% planned", s.Title)
}

// Two SLIs failing for one cause (the page errors, so it is also not a
// good event) are one finding and one backlog item, with the evidence of
// both.
func TestFailingSLIsOfOneRunAreOneFinding(t *testing.T) {
	in := findingstest.GameDay()
	good := in.SLIs[0]
	good.Name, good.Type, good.Direction = "checkout_good", "good_events", "higher_is_better"
	good.Control.Value, good.Experiment.Value = 0.99, 0.62
	in.SLIs = append(in.SLIs, good)
	res := findings.Derive(in)

	var regressions []findings.Finding
	for _, f := range res.Findings {
		if f.Kind == findings.KindSLIRegression {
			regressions = append(regressions, f)
		}
	}
	require.Len(t, regressions, 1)
	f := regressions[0]
	assert.Equal(t, "sli_regression:checkout_errors", f.ID)
	assert.Equal(t, findings.Critical, f.Severity)
	assert.Contains(t, f.Title, "checkout_errors 38% vs 1%")
	assert.Contains(t, f.Title, "checkout_good 62% vs 99%")
	assert.Contains(t, f.Evidence, "checkout_good: experiment: 62% over 1000 events; control: 99% over 19000 events")
	assert.Contains(t, f.Labels, "sli:checkout_good")
	assert.Contains(t, f.Labels, "sli:checkout_errors")
	require.NotNil(t, f.Risk)
	assert.InDelta(t, 0.37, f.Risk.Impact, 1e-9, "the worst SLI's excess bad share")
}
