package findings

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Severity orders findings; Critical is the worst.
type Severity string

// Severities, worst first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
)

// Rank is 0 for Critical up to 4 for Info.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 0
	case High:
		return 1
	case Medium:
		return 2
	case Low:
		return 3
	default:
		return 4
	}
}

// Kinds of finding.
const (
	KindSLIRegression   = "sli_regression"
	KindBlastRadius     = "blast_radius"
	KindFlowStuck       = "flow_stuck"
	KindAlertMissing    = "alert_missing"
	KindAlertLate       = "alert_late"
	KindExpectationMiss = "expectation_miss"
	KindSRM             = "sample_ratio_mismatch"
	KindUnexpectedAlert = "unexpected_alert"
)

// Chart names: the report draws a chart of each name.
const (
	ChartErrorRate   = "error_rate"
	ChartLatency     = "latency"
	ChartFlowFunnel  = "flow_funnel"
	ChartErrorBudget = "error_budget"
)

// Finding is one thing the run showed that someone should know or act on.
type Finding struct {
	// ID is stable across runs of the same experiment (kind and subject),
	// e.g. "alert_missing:CheckoutErrorRateHigh".
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Summary is one or two sentences in plain words.
	Summary string `json:"summary"`
	// Evidence are the numbers behind it, one fact per line.
	Evidence []string `json:"evidence"`
	// Chart names the chart that shows it ("" for none); Query the query
	// file whose answer it rests on.
	Chart string `json:"chart,omitempty"`
	Query string `json:"query,omitempty"`
	// Owner is the suggested owner; Labels go on the backlog item.
	Owner  string   `json:"owner,omitempty"`
	Labels []string `json:"labels,omitempty"`
	// Risk is the estimate the backlog ranks by; nil for findings that
	// are not work items (expectation misses, unexpected alerts).
	Risk *Risk `json:"risk,omitempty"`
}

// Risk estimates what a finding costs users if it happened in production
// as it happened in the run: Impact (share of requests or items that go
// bad) for Duration (until detected and stopped) over AffectedShare of
// users.
type Risk struct {
	Impact        float64 `json:"impact"`
	DurationMin   float64 `json:"duration_minutes"`
	AffectedShare float64 `json:"affected_share"`
	// BadMinutesPerUser is Impact x DurationMin x AffectedShare: the
	// minutes of bad experience an average user gets from one occurrence.
	BadMinutesPerUser float64 `json:"bad_minutes_per_user"`
	// BudgetShare is the share of a 30-day error budget one occurrence
	// burns: Impact x AffectedShare x DurationMin / (budget minutes), where
	// the budget is (1 - objective) x 30 days.
	BudgetShare float64 `json:"error_budget_share"`
}

func newRisk(impact, durationMin, affected, objective float64) *Risk {
	impact = clamp01(impact)
	affected = clamp01(affected)
	r := &Risk{Impact: round(impact, 6), DurationMin: round(durationMin, 3), AffectedShare: round(affected, 6)}
	r.BadMinutesPerUser = round(impact*durationMin*affected, 6)
	budgetMin := (1 - objective) * 30 * 24 * 60
	if budgetMin > 0 {
		r.BudgetShare = round(impact*affected*durationMin/budgetMin, 6)
	}
	return r
}

// ExpectationResult is one prediction marked against the outcome.
type ExpectationResult struct {
	Expectation
	// Actual is what happened: unaffected, degrades, fails, completes,
	// stuck, or unknown (the data do not say).
	Actual string `json:"actual"`
	// Mark is right, wrong, partly (impact predicted and seen, at another
	// level) or unknown.
	Mark     string `json:"mark"`
	Evidence string `json:"evidence"`
}

// Alignment says how much the team agreed before the run.
type Alignment struct {
	// Groups are the people by the outcome they predicted, largest first.
	Groups []AlignmentGroup `json:"groups"`
	// Split is e.g. "3 vs 1" (people expecting no impact vs impact).
	Split   string `json:"split"`
	Summary string `json:"summary"`
	Right   int    `json:"right"`
	Wrong   int    `json:"wrong"`
	Partly  int    `json:"partly"`
	Unknown int    `json:"unknown"`
}

// AlignmentGroup is the people who predicted one outcome.
type AlignmentGroup struct {
	Outcome string   `json:"outcome"`
	Who     []string `json:"who"`
}

// AlertCoverage is one expected alert against what fired.
type AlertCoverage struct {
	Name     string `json:"name"`
	Severity string `json:"severity,omitempty"`
	// WithinSeconds is the expected time to fire (0: during the run).
	WithinSeconds float64 `json:"within_seconds"`
	Fired         bool    `json:"fired"`
	// FiredAt and TimeToFireSeconds (from the run start) when it fired.
	FiredAt           *time.Time `json:"fired_at,omitempty"`
	TimeToFireSeconds float64    `json:"time_to_fire_seconds,omitempty"`
	// Late: fired after its expected time.
	Late bool `json:"late"`
	// FiredSeverity is the severity label it fired with.
	FiredSeverity string `json:"fired_severity,omitempty"`
}

// TimelineEntry is one moment of the run.
type TimelineEntry struct {
	Time time.Time `json:"time"`
	// Kind is run_start, run_stop, verdict_change, stop_condition,
	// alert_firing, alert_resolved or flow_stuck.
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// BurnPoint is the experiment cohort's cumulative error-budget use at the
// end of one bucket, as a share of the budget its events allow.
type BurnPoint struct {
	Time     time.Time `json:"time"`
	Consumed float64   `json:"consumed"`
}

// Result is the analysis of one run.
type Result struct {
	// Summary is one paragraph a non-engineer can read.
	Summary          string              `json:"summary"`
	Findings         []Finding           `json:"findings"`
	Expectations     []ExpectationResult `json:"expectations"`
	Alignment        Alignment           `json:"alignment"`
	AlertCoverage    []AlertCoverage     `json:"alert_coverage"`
	UnexpectedAlerts []string            `json:"unexpected_alerts"`
	Timeline         []TimelineEntry     `json:"timeline"`
	// Objective is the SLO objective used for the error budget.
	Objective float64     `json:"objective"`
	Burn      []BurnPoint `json:"burn"`
	Backlog   []Item      `json:"backlog"`
}

// Derive computes the findings of a run. It does not modify in.
func Derive(in Input) Result {
	a := derivation{in: in, objective: objective(in)}
	a.res.Objective = a.objective
	a.sliFindings()
	a.srmFinding()
	a.blastFinding()
	a.flowFindings()
	a.alertCoverage()
	a.expectations()
	a.burn()
	a.timeline()
	slices.SortStableFunc(a.res.Findings, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(x.Severity.Rank(), y.Severity.Rank()), cmp.Compare(x.ID, y.ID))
	})
	a.res.Backlog = Backlog(in.Experiment, a.res.Findings)
	a.res.Summary = a.summary()
	nonNil(&a.res)
	return a.res
}

type derivation struct {
	in        Input
	objective float64
	res       Result
}

func objective(in Input) float64 {
	if in.Experiment.Objective > 0 && in.Experiment.Objective < 1 {
		return in.Experiment.Objective
	}
	for _, s := range in.SLIs {
		if s.Objective > 0 && s.Objective < 1 {
			return s.Objective
		}
	}
	return DefaultObjective
}

// experimentShare is the share of users in the experiment cohort.
func (a *derivation) experimentShare() float64 {
	if s := a.in.Experiment.ExpectedExperimentShare; s > 0 {
		return s
	}
	if t := a.in.Cohorts.Control + a.in.Cohorts.Experiment; t > 0 {
		return float64(a.in.Cohorts.Experiment) / float64(t)
	}
	return 0
}

func (a *derivation) runMinutes() float64 { return a.in.Run.Duration().Minutes() }

// stopFor returns the stop condition on an SLI that held, if any.
func (a *derivation) stopFor(sli string) *StopCondition {
	for i := range a.in.StopConditions {
		if s := &a.in.StopConditions[i]; s.SLI == sli && s.Holds {
			return s
		}
	}
	return nil
}

// excessBad is how much more often the experiment cohort had a bad event
// than control, as a share of requests (0 for non-ratio SLIs).
func excessBad(s SLIResult) float64 {
	switch s.Type {
	case "error_rate":
		return math.Max(0, s.Experiment.Value-s.Control.Value)
	case "good_events":
		return math.Max(0, s.Control.Value-s.Experiment.Value)
	}
	return 0
}

// sliFindings turns the failing SLIs into one finding: SLIs of one
// experiment usually fail together for one cause (a page that errors is
// also not a good event), and one cause is one backlog item. Each SLI keeps
// its own evidence lines.
func (a *derivation) sliFindings() {
	var failed []SLIResult
	for _, s := range a.in.SLIs {
		if s.Verdict == "fail" {
			failed = append(failed, s)
		}
	}
	if len(failed) == 0 {
		return
	}
	first := failed[0]
	f := Finding{
		ID: KindSLIRegression + ":" + first.Name, Kind: KindSLIRegression, Severity: High,
		Chart: chartFor(first), Query: "analyze/sli_counts.sql",
		Owner:  a.in.Experiment.Owner,
		Labels: []string{"chaos", "resilience"},
	}
	var titles, summaries []string
	var impact float64
	for _, s := range failed {
		stop := a.stopFor(s.Name)
		if stop != nil || outcomeOf(s, nil) == "fails" {
			f.Severity = Critical
		}
		titles = append(titles, fmt.Sprintf("%s %s vs %s", s.Name, fmtValue(s.Unit, s.Experiment.Value), fmtValue(s.Unit, s.Control.Value)))
		summaries = append(summaries, fmt.Sprintf("the %s (%s) was %s against %s for control, more than the %s allowed",
			describeSLI(s), s.Name, fmtValue(s.Unit, s.Experiment.Value), fmtValue(s.Unit, s.Control.Value), fmtValue(s.Unit, s.Allowed)))
		prefix := ""
		if len(failed) > 1 {
			prefix = s.Name + ": "
		}
		f.Evidence = append(f.Evidence,
			fmt.Sprintf("%sexperiment: %s over %d events; control: %s over %d events", prefix, fmtValue(s.Unit, s.Experiment.Value), s.Experiment.N, fmtValue(s.Unit, s.Control.Value), s.Control.N),
			fmt.Sprintf("%seffect %s (%.0f%% interval %s to %s), tolerance %s", prefix, fmtSigned(s.Unit, s.Effect), s.CILevel*100, fmtValue(s.Unit, s.CILower), fmtValue(s.Unit, s.CIUpper), fmtValue(s.Unit, s.Allowed)),
			testEvidence(prefix, s),
		)
		if stop != nil {
			f.Evidence = append(f.Evidence, fmt.Sprintf("stop condition met: %s %s %s (value %s)", stop.SLI, stop.Op, fmtValue(s.Unit, stop.Threshold), fmtValue(s.Unit, stop.Value)))
		}
		f.Labels = append(f.Labels, "sli:"+s.Name)
		i := excessBad(s)
		if i == 0 && s.Type == "latency" && s.Control.Value > 0 {
			// Slower, not failed: count the relative slowdown, capped.
			i = math.Min(1, math.Max(0, s.Effect/s.Control.Value)) * 0.1
		}
		impact = math.Max(impact, i)
	}
	f.Title = "The experiment cohort is worse than control: " + strings.Join(titles, ", ")
	if len(failed) == 1 {
		f.Title = fmt.Sprintf("%s: the experiment cohort is worse than control (%s vs %s)", first.Name, fmtValue(first.Unit, first.Experiment.Value), fmtValue(first.Unit, first.Control.Value))
	}
	f.Summary = "The hypothesis did not hold: with the fault injected, " + strings.Join(summaries, "; ") + "."
	if len(failed) == 1 {
		f.Summary = fmt.Sprintf("The hypothesis did not hold for %s: with the fault injected, the experiment cohort's %s was %s against %s for control, more than the %s the experiment allowed.",
			first.Name, describeSLI(first), fmtValue(first.Unit, first.Experiment.Value), fmtValue(first.Unit, first.Control.Value), fmtValue(first.Unit, first.Allowed))
	}
	f.Risk = newRisk(impact, a.runMinutes(), a.experimentShare(), a.objective)
	a.res.Findings = append(a.res.Findings, f)
}

func chartFor(s SLIResult) string {
	if s.Type == "latency" {
		return ChartLatency
	}
	return ChartErrorRate
}

func describeSLI(s SLIResult) string {
	switch s.Type {
	case "error_rate":
		return "error rate"
	case "good_events":
		return "share of good requests"
	case "latency":
		return fmt.Sprintf("p%g latency", s.Quantile*100)
	case "throughput":
		return "throughput"
	}
	return s.Type
}

func (a *derivation) srmFinding() {
	s := a.in.SRM
	if s == nil || !s.Mismatch {
		return
	}
	a.res.Findings = append(a.res.Findings, Finding{
		ID: KindSRM, Kind: KindSRM, Severity: High,
		Title:   fmt.Sprintf("Cohort assignment is off: %s of traffic in the experiment cohort, %s planned", pct(s.Observed), pct(s.Expected)),
		Summary: "The cohorts do not have the sizes the experiment planned, so the comparison cannot be trusted: users may be assigned by something related to the outcome.",
		Evidence: []string{
			fmt.Sprintf("experiment %d events, control %d events", a.in.Cohorts.Experiment, a.in.Cohorts.Control),
			fmt.Sprintf("chi-square p = %s", fmtP(s.PValue)),
		},
		Query: "analyze/cohort_summary.sql", Owner: a.in.Experiment.Owner, Labels: []string{"chaos", "experiment-design"},
		Risk: newRisk(math.Abs(s.Observed-s.Expected), a.runMinutes(), 1, a.objective),
	})
}

func (a *derivation) blastFinding() {
	b := a.in.BlastRadius
	if b == nil || !b.Degraded {
		return
	}
	ev := []string{
		fmt.Sprintf("before the run: %s errors (%d of %d)", pct(b.ErrorRateBefore), b.BeforeErrors, b.BeforeEvents),
		fmt.Sprintf("during the run: %s errors (%d of %d)", pct(b.ErrorRateDuring), b.DuringErrors, b.DuringEvents),
		fmt.Sprintf("exact test p = %s", fmtP(b.PValue)),
	}
	if len(b.Services) > 0 {
		ev = append(ev, "services whose error rate rose: "+strings.Join(b.Services, ", "))
	}
	a.res.Findings = append(a.res.Findings, Finding{
		ID: KindBlastRadius, Kind: KindBlastRadius, Severity: Critical,
		Title:    fmt.Sprintf("The fault reached users outside the experiment: errors rose from %s to %s", pct(b.ErrorRateBefore), pct(b.ErrorRateDuring)),
		Summary:  "Control and untagged traffic got worse during the run, so the failure was not contained to the experiment cohort.",
		Evidence: ev, Chart: ChartErrorRate, Query: "analyze/blast_radius.sql", Owner: a.in.Experiment.Owner,
		Labels: []string{"chaos", "blast-radius"},
		Risk:   newRisk(b.ErrorRateDuring-b.ErrorRateBefore, a.runMinutes(), 1-a.experimentShare(), a.objective),
	})
}

func (a *derivation) flowFindings() {
	for _, fl := range a.in.Flows {
		var items, stuck int64
		stuckAfter := make([]int64, len(fl.Stages))
		var cohorts []string
		for _, c := range fl.Cohorts {
			items += c.Items
			stuck += c.Stuck
			for i := range stuckAfter {
				if i < len(c.StuckAfter) {
					stuckAfter[i] += c.StuckAfter[i]
				}
			}
			if c.Stuck > 0 {
				cohorts = append(cohorts, fmt.Sprintf("%s %d of %d", c.Cohort, c.Stuck, c.Items))
			}
		}
		if stuck == 0 {
			continue
		}
		// The stage where most stuck items stop.
		worst := 0
		for i, n := range stuckAfter {
			if n > stuckAfter[worst] {
				worst = i
			}
		}
		next := "the end of the flow"
		if worst+1 < len(fl.Stages) {
			next = fl.Stages[worst+1]
		}
		sev := Medium
		if fl.Severity == "page" {
			sev = High
		}
		ev := []string{
			fmt.Sprintf("%d of %d items stuck (%s); by cohort: %s", stuck, items, pct(ratio(stuck, items)), strings.Join(cohorts, ", ")),
		}
		for i, n := range stuckAfter {
			if n > 0 {
				ev = append(ev, fmt.Sprintf("%d stopped after %s", n, fl.Stages[i]))
			}
		}
		if len(fl.StuckExamples) > 0 {
			ev = append(ev, "examples: "+strings.Join(fl.StuckExamples, ", "))
		}
		owner := fl.Owner
		if owner == "" {
			owner = a.in.Experiment.Owner
		}
		a.res.Findings = append(a.res.Findings, Finding{
			ID: KindFlowStuck + ":" + fl.Name + ":" + fl.Stages[worst], Kind: KindFlowStuck, Severity: sev,
			Title: fmt.Sprintf("Flow %s: %d of %d items stuck after %s", fl.Name, stuck, items, fl.Stages[worst]),
			Summary: fmt.Sprintf("Items of %s stopped after %s and never reached %s within %s, so the work they stand for was not finished.",
				fl.Name, fl.Stages[worst], next, fmtDuration(time.Duration(fl.WithinSeconds*float64(time.Second)))),
			Evidence: ev, Chart: ChartFlowFunnel + "_" + fl.Name, Query: "alerts/flow_items.sql", Owner: owner,
			Labels: []string{"chaos", "flow:" + fl.Name, "stage:" + fl.Stages[worst]},
			Risk:   newRisk(ratio(stuck, items), a.runMinutes(), 1, a.objective),
		})
	}
}

func (a *derivation) alertCoverage() {
	expected := map[string]bool{}
	worst := 0.0
	for _, s := range a.in.SLIs {
		if s.Verdict == "fail" {
			worst = math.Max(worst, excessBad(s))
		}
	}
	for _, e := range a.in.ExpectedAlerts {
		expected[e.Name] = true
		cov := AlertCoverage{Name: e.Name, Severity: e.Severity, WithinSeconds: e.Within.Seconds()}
		deadline := a.in.Run.End
		if e.Within > 0 {
			deadline = a.in.Run.Start.Add(e.Within)
		}
		for _, al := range a.in.Alerts {
			if al.Name != e.Name || al.Status != "firing" || al.Time.Before(a.in.Run.Start) || al.Time.After(a.in.Run.End.Add(e.Within)) {
				continue
			}
			if cov.FiredAt == nil || al.Time.Before(*cov.FiredAt) {
				t := al.Time
				cov.Fired, cov.FiredAt, cov.FiredSeverity = true, &t, al.Severity
				cov.TimeToFireSeconds = t.Sub(a.in.Run.Start).Seconds()
				cov.Late = t.After(deadline)
			}
		}
		a.res.AlertCoverage = append(a.res.AlertCoverage, cov)
		within := "during the run"
		if e.Within > 0 {
			within = "within " + fmtDuration(e.Within) + " of the start"
		}
		switch {
		case !cov.Fired:
			sev := Medium
			if e.Severity == "page" || worst > 0 {
				sev = High
			}
			f := Finding{
				ID: KindAlertMissing + ":" + e.Name, Kind: KindAlertMissing, Severity: sev,
				Title:   fmt.Sprintf("Alert %s never fired", e.Name),
				Summary: fmt.Sprintf("The team expected %s to fire %s; no notification for it arrived, so nobody would have been told about this failure.", e.Name, within),
				Evidence: []string{
					fmt.Sprintf("expected: %s, severity %s, %s", e.Name, orAny(e.Severity), within),
					fmt.Sprintf("alert notifications received during the run: %d (%s)", len(a.in.Alerts), orNone(alertNames(a.in.Alerts))),
				},
				Query: "analyze/alert_events.sql", Owner: a.in.Experiment.Owner,
				Labels: []string{"chaos", "alerting", "alert:" + e.Name},
			}
			if worst > 0 {
				f.Evidence = append(f.Evidence, fmt.Sprintf("meanwhile the experiment cohort had %s more bad requests than control", pct(worst)))
			}
			// Undetected for the whole run: the failure's impact for as
			// long as it lasted without anyone being told.
			f.Risk = newRisk(math.Max(worst, 0.01), a.runMinutes(), a.experimentShare(), a.objective)
			a.res.Findings = append(a.res.Findings, f)
		case cov.Late:
			late := cov.FiredAt.Sub(deadline)
			a.res.Findings = append(a.res.Findings, Finding{
				ID: KindAlertLate + ":" + e.Name, Kind: KindAlertLate, Severity: Medium,
				Title:   fmt.Sprintf("Alert %s fired %s late", e.Name, fmtDuration(late)),
				Summary: fmt.Sprintf("%s fired %s after the run started; the team expected it %s.", e.Name, fmtDuration(time.Duration(cov.TimeToFireSeconds*float64(time.Second))), within),
				Evidence: []string{
					fmt.Sprintf("first firing notification at %s", cov.FiredAt.UTC().Format(time.RFC3339)),
				},
				Query: "analyze/alert_events.sql", Owner: a.in.Experiment.Owner,
				Labels: []string{"chaos", "alerting", "alert:" + e.Name},
				Risk:   newRisk(math.Max(worst, 0.01), late.Minutes(), a.experimentShare(), a.objective),
			})
		}
	}
	seen := map[string]bool{}
	for _, al := range a.in.Alerts {
		if !expected[al.Name] && al.Status == "firing" && !seen[al.Name] {
			seen[al.Name] = true
			a.res.UnexpectedAlerts = append(a.res.UnexpectedAlerts, al.Name)
		}
	}
	slices.Sort(a.res.UnexpectedAlerts)
	for _, name := range a.res.UnexpectedAlerts {
		a.res.Findings = append(a.res.Findings, Finding{
			ID: KindUnexpectedAlert + ":" + name, Kind: KindUnexpectedAlert, Severity: Info,
			Title:    fmt.Sprintf("Alert %s fired without being expected", name),
			Summary:  "An alert nobody listed fired during the run: either the list of expected alerts is incomplete or the alert is noisy.",
			Evidence: []string{fmt.Sprintf("%s fired during the run", name)},
			Query:    "analyze/alert_events.sql", Labels: []string{"chaos", "alerting"},
		})
	}
}

func alertNames(alerts []AlertEvent) string {
	var names []string
	for _, a := range alerts {
		if !slices.Contains(names, a.Name) {
			names = append(names, a.Name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// outcomeOf classifies an SLI's result as an outcome a person predicts.
func outcomeOf(s SLIResult, stop *StopCondition) string {
	switch s.Verdict {
	case "pass":
		return "unaffected"
	case "fail":
		if stop != nil {
			return "fails"
		}
		if (s.Type == "error_rate" && s.Experiment.Value >= 0.5) || (s.Type == "good_events" && s.Experiment.Value <= 0.5) {
			return "fails"
		}
		return "degrades"
	}
	return "unknown"
}

func impactClass(outcome string) string {
	switch outcome {
	case "unaffected", "completes":
		return "no impact"
	case "degrades", "fails", "stuck":
		return "impact"
	}
	return "unknown"
}

func (a *derivation) expectations() {
	groups := map[string][]string{}
	byClass := map[string][]string{}
	for _, e := range a.in.Expectations {
		r := ExpectationResult{Expectation: e, Actual: "unknown"}
		switch {
		case e.SLI != "":
			for _, s := range a.in.SLIs {
				if s.Name == e.SLI {
					r.Actual = outcomeOf(s, a.stopFor(s.Name))
					r.Evidence = fmt.Sprintf("%s: experiment %s, control %s (%s)", s.Name, fmtValue(s.Unit, s.Experiment.Value), fmtValue(s.Unit, s.Control.Value), s.Verdict)
				}
			}
		case e.Flow != "":
			for _, fl := range a.in.Flows {
				if fl.Name != e.Flow {
					continue
				}
				var items, stuck int64
				for _, c := range fl.Cohorts {
					items += c.Items
					stuck += c.Stuck
				}
				switch {
				case stuck > 0:
					r.Actual = "stuck"
				case items > 0:
					r.Actual = "completes"
				}
				r.Evidence = fmt.Sprintf("%s: %d of %d items stuck", fl.Name, stuck, items)
			}
		}
		switch {
		case r.Actual == "unknown":
			r.Mark = "unknown"
			a.res.Alignment.Unknown++
		case r.Actual == e.Outcome:
			r.Mark = "right"
			a.res.Alignment.Right++
		case impactClass(r.Actual) == impactClass(e.Outcome):
			r.Mark = "partly"
			a.res.Alignment.Partly++
		default:
			r.Mark = "wrong"
			a.res.Alignment.Wrong++
		}
		a.res.Expectations = append(a.res.Expectations, r)
		if !slices.Contains(groups[e.Outcome], e.Who) {
			groups[e.Outcome] = append(groups[e.Outcome], e.Who)
		}
		class := impactClass(e.Outcome)
		if !slices.Contains(byClass[class], e.Who) {
			byClass[class] = append(byClass[class], e.Who)
		}
	}
	for outcome, who := range groups {
		a.res.Alignment.Groups = append(a.res.Alignment.Groups, AlignmentGroup{Outcome: outcome, Who: who})
	}
	slices.SortFunc(a.res.Alignment.Groups, func(x, y AlignmentGroup) int {
		return cmp.Or(cmp.Compare(len(y.Who), len(x.Who)), cmp.Compare(x.Outcome, y.Outcome))
	})
	// A person who predicted impact for one thing counts on the impact
	// side of the split.
	var none []string
	for _, w := range byClass["no impact"] {
		if !slices.Contains(byClass["impact"], w) {
			none = append(none, w)
		}
	}
	impact := byClass["impact"]
	if len(a.in.Expectations) == 0 {
		a.res.Alignment.Summary = "No expectations were recorded before the run."
		return
	}
	a.res.Alignment.Split = fmt.Sprintf("%d vs %d", len(none), len(impact))
	var parts []string
	if len(none) > 0 {
		parts = append(parts, fmt.Sprintf("%s expected no impact", joinNames(none)))
	}
	if len(impact) > 0 {
		parts = append(parts, fmt.Sprintf("%s expected impact", joinNames(impact)))
	}
	a.res.Alignment.Summary = fmt.Sprintf("The team split %s: %s. %d of %d predictions were right, %d partly, %d wrong.",
		a.res.Alignment.Split, strings.Join(parts, "; "), a.res.Alignment.Right, len(a.in.Expectations), a.res.Alignment.Partly, a.res.Alignment.Wrong)
	for _, r := range a.res.Expectations {
		if r.Mark != "wrong" {
			continue
		}
		subject := r.SLI + r.Flow
		a.res.Findings = append(a.res.Findings, Finding{
			ID: KindExpectationMiss + ":" + r.Who + ":" + subject, Kind: KindExpectationMiss, Severity: Info,
			Title:    fmt.Sprintf("%s expected %s to %s; it %s", r.Who, subject, infinitive(r.Outcome), pastTense(r.Actual)),
			Summary:  "A prediction recorded before the run was wrong: the system behaves differently from how this person pictured it.",
			Evidence: []string{r.Evidence, "note: " + orNone(r.Note)},
			Labels:   []string{"chaos", "learning"},
		})
	}
}

func infinitive(outcome string) string {
	switch outcome {
	case "unaffected":
		return "be unaffected"
	case "degrades":
		return "degrade"
	case "fails":
		return "fail"
	case "completes":
		return "complete"
	case "stuck":
		return "get stuck"
	}
	return outcome
}

func pastTense(outcome string) string {
	switch outcome {
	case "unaffected":
		return "was unaffected"
	case "degrades":
		return "degraded"
	case "fails":
		return "failed"
	case "completes":
		return "completed"
	case "stuck":
		return "got stuck"
	}
	return "is unknown"
}

func (a *derivation) burn() {
	var total int64
	for _, p := range a.in.Series {
		if p.Cohort == "experiment" && inRun(a.in.Run, p.Time) {
			total += p.Events
		}
	}
	budget := (1 - a.objective) * float64(total)
	if budget <= 0 {
		return
	}
	var bad int64
	for _, p := range a.in.Series {
		if p.Cohort != "experiment" || !inRun(a.in.Run, p.Time) {
			continue
		}
		bad += p.Errors
		a.res.Burn = append(a.res.Burn, BurnPoint{Time: p.Time, Consumed: round(float64(bad)/budget, 6)})
	}
}

func inRun(r Run, t time.Time) bool { return !t.Before(r.Start) && t.Before(r.End) }

func (a *derivation) timeline() {
	add := func(t time.Time, kind, text string) {
		a.res.Timeline = append(a.res.Timeline, TimelineEntry{Time: t.UTC(), Kind: kind, Text: text})
	}
	start := "Run started"
	if a.in.Run.Operator != "" {
		start += " by " + a.in.Run.Operator
	}
	if a.in.Run.Note != "" {
		start += ": " + a.in.Run.Note
	}
	add(a.in.Run.Start, "run_start", start)
	// The first look at which live saw each stop condition hold, and
	// each change of an SLI's verdict, come from the verdict history.
	firstHeld := map[string]VerdictPoint{}
	last := map[string]string{}
	for _, p := range a.in.VerdictHistory {
		if _, seen := firstHeld[p.SLI]; p.StopHolds && !seen {
			firstHeld[p.SLI] = p
		}
		v := p.Verdict
		if p.Provisional {
			v += " (provisional)"
		}
		if prev, ok := last[p.SLI]; ok && prev != v {
			text := fmt.Sprintf("Live verdict of %s changed from %s to %s (p=%s)", p.SLI, prev, v, fmtP(p.PValue))
			if p.ChangeReason != "" {
				text += ": " + p.ChangeReason
			}
			add(p.Time, "verdict_change", text)
		}
		last[p.SLI] = v
	}
	for _, s := range a.in.StopConditions {
		p, live := firstHeld[s.SLI]
		switch {
		case live:
			add(p.Time, "stop_condition", fmt.Sprintf("Stop condition met: %s %s (value %g, as live declared it)", s.SLI, p.StopCondition, round(p.StopValue, 6)))
		case s.Holds:
			t := a.in.Run.End
			if s.Since != nil {
				t = *s.Since
			}
			add(t, "stop_condition", fmt.Sprintf("Stop condition met: %s %s %g (value %g)", s.SLI, s.Op, s.Threshold, round(s.Value, 6)))
		}
	}
	for _, al := range a.in.Alerts {
		sev := ""
		if al.Severity != "" {
			sev = " (" + al.Severity + ")"
		}
		if al.Status == "firing" {
			add(al.Time, "alert_firing", "Alert fired: "+al.Name+sev)
		} else {
			add(al.Time, "alert_resolved", "Alert resolved: "+al.Name+sev)
		}
	}
	for _, f := range a.res.Findings {
		if f.Kind == KindFlowStuck {
			add(a.in.Run.End, "flow_stuck", f.Title)
		}
	}
	if a.in.Run.Open {
		add(a.in.Run.End, "run_stop", "Run still going when the data were read")
	} else {
		add(a.in.Run.End, "run_stop", "Run stopped")
	}
	order := map[string]int{"run_start": 0, "verdict_change": 1, "stop_condition": 2, "alert_firing": 3, "alert_resolved": 4, "flow_stuck": 5, "run_stop": 6}
	slices.SortStableFunc(a.res.Timeline, func(x, y TimelineEntry) int {
		return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(order[x.Kind], order[y.Kind]), cmp.Compare(x.Text, y.Text))
	})
}

func (a *derivation) summary() string {
	in := a.in
	var b strings.Builder
	name := in.Experiment.Title
	if name == "" {
		name = in.Experiment.ID
	}
	fmt.Fprintf(&b, "%s ran for %s (%s to %s UTC). ", name, fmtDuration(in.Run.Duration()),
		in.Run.Start.UTC().Format("2006-01-02 15:04"), in.Run.End.UTC().Format("15:04"))
	fmt.Fprintf(&b, "We recorded %d events (spans, logs and structured events of every service) from users in the experiment cohort, who got the failure, and %d from the control cohort, who did not. ",
		in.Cohorts.Experiment, in.Cohorts.Control)
	switch in.Verdict {
	case "pass":
		b.WriteString("The hypothesis held: the experiment cohort stayed within the agreed tolerance of control. ")
	case "fail":
		var failed []string
		for _, s := range in.SLIs {
			if s.Verdict == "fail" {
				failed = append(failed, fmt.Sprintf("%s %s against %s", describeSLI(s), fmtValue(s.Unit, s.Experiment.Value), fmtValue(s.Unit, s.Control.Value)))
			}
		}
		fmt.Fprintf(&b, "The hypothesis did not hold: users who got the failure were clearly worse off (%s). ", strings.Join(failed, "; "))
	case "untrusted":
		b.WriteString("The comparison cannot be trusted because the cohorts do not have their planned sizes. ")
	default:
		b.WriteString("The data are not enough to say whether the hypothesis held. ")
	}
	if br := in.BlastRadius; br != nil {
		if br.Degraded {
			b.WriteString("Users outside the experiment were affected too. ")
		} else {
			b.WriteString("Users outside the experiment were not affected. ")
		}
	}
	var stuck []string
	for _, f := range a.res.Findings {
		if f.Kind == KindFlowStuck {
			stuck = append(stuck, f.Title)
		}
	}
	if len(stuck) > 0 {
		fmt.Fprintf(&b, "Business flows broke: %s. ", strings.Join(stuck, "; "))
	} else if len(in.Flows) > 0 {
		b.WriteString("Every business flow checked kept completing. ")
	}
	if n := len(a.res.AlertCoverage); n > 0 {
		fired := 0
		var missing []string
		for _, c := range a.res.AlertCoverage {
			if c.Fired {
				fired++
			} else {
				missing = append(missing, c.Name)
			}
		}
		fmt.Fprintf(&b, "%d of %d expected alerts fired", fired, n)
		if len(missing) > 0 {
			fmt.Fprintf(&b, "; %s never did, so the team would not have been told", strings.Join(missing, " and "))
		}
		b.WriteString(". ")
	}
	if len(in.Expectations) > 0 {
		fmt.Fprintf(&b, "Before the run the team split %s; %d of %d predictions were right. ", a.res.Alignment.Split, a.res.Alignment.Right, len(in.Expectations))
	}
	if len(a.res.Backlog) > 0 {
		fmt.Fprintf(&b, "The most urgent follow-up: %s.", a.res.Backlog[0].Title)
	} else {
		b.WriteString("Nothing needs follow-up work.")
	}
	return strings.TrimSpace(b.String())
}

func nonNil(r *Result) {
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Expectations == nil {
		r.Expectations = []ExpectationResult{}
	}
	if r.Alignment.Groups == nil {
		r.Alignment.Groups = []AlignmentGroup{}
	}
	if r.AlertCoverage == nil {
		r.AlertCoverage = []AlertCoverage{}
	}
	if r.UnexpectedAlerts == nil {
		r.UnexpectedAlerts = []string{}
	}
	if r.Burn == nil {
		r.Burn = []BurnPoint{}
	}
	if r.Backlog == nil {
		r.Backlog = []Item{}
	}
	for i := range r.Findings {
		if r.Findings[i].Evidence == nil {
			r.Findings[i].Evidence = []string{}
		}
	}
}

// testEvidence names an SLI's test and its one-sided p-value, or only the
// test where it gives no p-value of its own (PText "-": a quantile
// interval decides by its bounds).
func testEvidence(prefix string, s SLIResult) string {
	if s.PText == "-" {
		return fmt.Sprintf("%stest %s (decided by the interval; no p-value)", prefix, s.Test)
	}
	return fmt.Sprintf("%stest %s, one-sided p = %s", prefix, s.Test, fmtP(s.PValue))
}
