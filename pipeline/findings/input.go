// Package findings turns what a run measured into what a team acts on:
// findings (each with a severity, the evidence and the chart or query
// behind it), expectations marked right or wrong, alert coverage (expected
// alerts against the alerts that fired), and backlog items ranked by risk.
//
// It is pure: Input holds everything measured (filled by cmd/analyze from
// the comparison, the flow check and a few queries), Derive computes, and
// the same Input always gives the same Result.
package findings

import "time"

// Input is everything a post-run analysis needs, measured and defined.
// Times are UTC; slices are in a deterministic order chosen by the
// producer (Derive sorts what it outputs itself).
type Input struct {
	Experiment Experiment `json:"experiment"`
	Run        Run        `json:"run"`
	// GeneratedAt is when the data were read; the report prints it, so it
	// is an input (not time.Now) to keep reports reproducible.
	GeneratedAt time.Time `json:"generated_at"`
	// Verdict is the comparison's overall verdict: pass, fail,
	// inconclusive, insufficient_data or untrusted; Reason explains the
	// last two.
	Verdict       string `json:"verdict"`
	VerdictReason string `json:"verdict_reason,omitempty"`
	// AnalysisUnit is the randomization unit ratio SLIs were analysed at
	// ("subject", an attribute name, or "event" when none is known).
	AnalysisUnit string `json:"analysis_unit,omitempty"`
	// Cohorts are distinct, non-synthetic events per cohort in the run.
	Cohorts CohortSizes `json:"cohorts"`
	// Tagging says how the cohorts' events got their cohort; nil when
	// not known.
	Tagging *Tagging `json:"tagging,omitempty"`
	// SRM is the sample-ratio check; nil when not computed.
	SRM *SRM `json:"srm,omitempty"`
	// SLIs are the per-SLI comparisons, in definition order.
	SLIs []SLIResult `json:"slis"`
	// StopConditions and whether each was met.
	StopConditions []StopCondition `json:"stop_conditions,omitempty"`
	// BlastRadius compares control and untagged traffic during the run
	// with before it; nil when not computed.
	BlastRadius *BlastRadius `json:"blast_radius,omitempty"`
	// Series are per-bucket, per-cohort counts and latency over the run
	// and the same length before it, for charts and burn.
	Series []SeriesPoint `json:"series,omitempty"`
	// Flows the experiment names, checked over the run.
	Flows []FlowResult `json:"flows,omitempty"`
	// ExpectedAlerts come from the definition; Alerts are the alert events
	// stored (Alertmanager notifications) from the run start to the end
	// of the longest expected delay.
	ExpectedAlerts []ExpectedAlert `json:"expected_alerts,omitempty"`
	Alerts         []AlertEvent    `json:"alerts,omitempty"`
	// Expectations are the predictions recorded before the run.
	Expectations []Expectation `json:"expectations,omitempty"`
	// Differences are the attribute values of the experiment cohort's bad
	// events set against control (BubbleUp), most over-represented first.
	Differences []Difference `json:"differences,omitempty"`
	// VerdictHistory is every look `analyze live` made during the run,
	// one point per SLI and look, oldest first; empty when live did not
	// run. The timeline takes the first time each stop condition held
	// and each verdict changed from it.
	VerdictHistory []VerdictPoint `json:"verdict_history,omitempty"`
	// History is the experiment's earlier runs and this one, oldest first
	// (the report's run-history section); empty for a single run.
	History *History `json:"history,omitempty"`
}

// VerdictPoint is one SLI at one look of the live comparison.
type VerdictPoint struct {
	Time time.Time `json:"time"`
	SLI  string    `json:"sli"`
	// Verdict is the SLI's verdict at that look; Provisional is true
	// below the minimum sample.
	Verdict     string `json:"verdict"`
	Provisional bool   `json:"provisional,omitempty"`
	// PValue is the anytime-valid p-value after the adjustment across
	// SLIs; Effect and its interval are experiment minus control.
	PValue  float64 `json:"p_value"`
	Effect  float64 `json:"effect"`
	CILower float64 `json:"ci_lower"`
	CIUpper float64 `json:"ci_upper"`
	// StopCondition is the SLI's stop condition ("> 0.2 for 30s"), ""
	// without one; StopHolds is true when it held at that look.
	StopCondition string  `json:"stop_condition,omitempty"`
	StopHolds     bool    `json:"stop_holds,omitempty"`
	StopValue     float64 `json:"stop_value,omitempty"`
	// ChangeReason says why the verdict changed at this look ("" when it
	// did not, or when live did not record why).
	ChangeReason string `json:"change_reason,omitempty"`
}

// Experiment is what the definition says.
type Experiment struct {
	ID         string `json:"id"`
	Title      string `json:"title,omitempty"`
	Hypothesis string `json:"hypothesis,omitempty"`
	Owner      string `json:"owner,omitempty"`
	// ExpectedExperimentShare is the planned share of traffic in the
	// experiment cohort (0 when unknown).
	ExpectedExperimentShare float64 `json:"expected_experiment_share,omitempty"`
	// Objective is the SLO objective used for the error budget (e.g.
	// 0.999); 0 means DefaultObjective.
	Objective float64 `json:"objective,omitempty"`
}

// DefaultObjective is the SLO objective when the definition has none.
const DefaultObjective = 0.999

// Run is the analysed time window.
type Run struct {
	ID       string    `json:"id,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Operator string    `json:"operator,omitempty"`
	Note     string    `json:"note,omitempty"`
	// Open is true when the run had not been stopped.
	Open bool `json:"open,omitempty"`
}

// Duration is End - Start.
func (r Run) Duration() time.Duration { return r.End.Sub(r.Start) }

// CohortSizes are distinct event counts per cohort.
type CohortSizes struct {
	Control    int64 `json:"control"`
	Experiment int64 `json:"experiment"`
}

// Tagging splits the cohorts' events by how they got their cohort: their
// own flag evaluation, tag or rule (directly), their trace's at ingest, or
// their trace's in ClickHouse.
type Tagging struct {
	Direct          CohortSizes `json:"direct"`
	TraceIngest     CohortSizes `json:"trace_ingest"`
	TraceClickHouse CohortSizes `json:"trace_clickhouse"`
}

// SRM is the sample-ratio-mismatch check.
type SRM struct {
	Expected float64 `json:"expected_experiment_share"`
	Observed float64 `json:"observed_experiment_share"`
	PValue   float64 `json:"p_value"`
	Mismatch bool    `json:"mismatch"`
}

// SLIResult is the comparison of one SLI.
type SLIResult struct {
	Name string `json:"name"`
	// Type is error_rate, latency, throughput or good_events.
	Type string `json:"type"`
	// Unit is ratio, s or events/s.
	Unit      string  `json:"unit"`
	Direction string  `json:"direction"`
	Quantile  float64 `json:"quantile,omitempty"`
	// Objective is the SLO objective of a ratio SLI (0: none).
	Objective  float64     `json:"objective,omitempty"`
	Control    CohortValue `json:"control"`
	Experiment CohortValue `json:"experiment"`
	// Effect is experiment minus control; Relative is nil when control is 0.
	Effect   float64  `json:"effect"`
	Relative *float64 `json:"relative,omitempty"`
	// CILower and CIUpper bound the effect at CILevel.
	CILower float64 `json:"ci_lower"`
	CIUpper float64 `json:"ci_upper"`
	CILevel float64 `json:"ci_level"`
	Test    string  `json:"test"`
	PValue  float64 `json:"p_value"`
	// PText is PValue as printed: "-" where the test gives no p-value of
	// its own (a quantile interval that does not exclude no harm, no data).
	PText string `json:"p_text,omitempty"`
	// Allowed is the tolerance at this control value.
	Allowed float64 `json:"allowed"`
	// Verdict is pass, fail, inconclusive or insufficient_data.
	Verdict string `json:"verdict"`
	Note    string `json:"note,omitempty"`
}

// CohortValue is one cohort's side of an SLI.
type CohortValue struct {
	N     int64   `json:"n"`
	Value float64 `json:"value"`
	// Bad is the number of bad events of a ratio SLI (nil otherwise).
	Bad *int64 `json:"bad,omitempty"`
	// Units is the number of distinct randomization units behind N (ratio
	// SLIs analysed at a unit; 0 at the event level).
	Units int64 `json:"units,omitempty"`
}

// StopCondition is one stop condition and its state.
type StopCondition struct {
	SLI       string  `json:"sli"`
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
	Value     float64 `json:"value"`
	Holds     bool    `json:"holds"`
	// Since is when it was first met, if known.
	Since *time.Time `json:"since,omitempty"`
}

// BlastRadius compares everyone outside the experiment cohort during the
// run with the same length of time before it.
type BlastRadius struct {
	BeforeEvents    int64   `json:"before_events"`
	BeforeErrors    int64   `json:"before_errors"`
	DuringEvents    int64   `json:"during_events"`
	DuringErrors    int64   `json:"during_errors"`
	ErrorRateBefore float64 `json:"error_rate_before"`
	ErrorRateDuring float64 `json:"error_rate_during"`
	PValue          float64 `json:"p_value"`
	Verdict         string  `json:"verdict"`
	Degraded        bool    `json:"degraded"`
	// Services whose error rate rose, worst first.
	Services []string `json:"services,omitempty"`
}

// SeriesPoint is one time bucket of one cohort.
type SeriesPoint struct {
	Time   time.Time `json:"time"`
	Cohort string    `json:"cohort"`
	Events int64     `json:"events"`
	Errors int64     `json:"errors"`
	P50ms  float64   `json:"p50_ms"`
	P99ms  float64   `json:"p99_ms"`
}

// FlowResult is one flow checked over the run.
type FlowResult struct {
	Name       string   `json:"name"`
	Owner      string   `json:"owner,omitempty"`
	Severity   string   `json:"severity,omitempty"`
	RunbookURL string   `json:"runbook_url,omitempty"`
	Stages     []string `json:"stages"`
	// WithinSeconds is the flow's completion window.
	WithinSeconds float64 `json:"within_seconds"`
	// Cohorts are the real (not synthetic) items per cohort.
	Cohorts []FlowCohort `json:"cohorts"`
	// StuckExamples are a few stuck item keys, oldest first.
	StuckExamples []string `json:"stuck_examples,omitempty"`
}

// FlowCohort is one cohort's items of a flow.
type FlowCohort struct {
	Cohort   string `json:"cohort"`
	Items    int64  `json:"items"`
	Complete int64  `json:"complete"`
	InFlight int64  `json:"in_flight"`
	Stuck    int64  `json:"stuck"`
	// Reached counts items seen at each stage, in stage order.
	Reached []int64 `json:"reached"`
	// StuckAfter counts stuck items by the last stage they reached, in
	// stage order: items stop between that stage and the next.
	StuckAfter []int64 `json:"stuck_after"`
}

// ExpectedAlert is an alert the definition expects to fire.
type ExpectedAlert struct {
	Name string `json:"name"`
	// Within is the expected time to fire after the run starts (0: any
	// time during the run).
	Within   time.Duration `json:"within"`
	Severity string        `json:"severity,omitempty"`
}

// AlertEvent is one stored alert notification.
type AlertEvent struct {
	Name     string    `json:"name"`
	Severity string    `json:"severity,omitempty"`
	Status   string    `json:"status"` // firing or resolved
	Time     time.Time `json:"time"`   // startsAt while firing, endsAt once resolved
	Cohort   string    `json:"cohort,omitempty"`
	// Fingerprint identifies the alert in Alertmanager.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Expectation is one recorded prediction.
type Expectation struct {
	Who     string `json:"who"`
	SLI     string `json:"sli,omitempty"`
	Flow    string `json:"flow,omitempty"`
	Outcome string `json:"outcome"`
	Note    string `json:"note,omitempty"`
}

// Difference is one attribute value of the experiment cohort's bad events
// against control's events.
type Difference struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Bad is the number of the experiment cohort's bad events with the
	// value, of BadTotal; Control the number of control events with it, of
	// ControlTotal.
	Bad          int64 `json:"bad"`
	BadTotal     int64 `json:"bad_total"`
	Control      int64 `json:"control"`
	ControlTotal int64 `json:"control_total"`
	// Exemplars are trace ids of bad events with the value.
	Exemplars []string `json:"exemplars,omitempty"`
	// Rank is the significance-aware score the rows are ordered by
	// (Score: the lower 95% bound of the lift); 0 when not ranked.
	Rank float64 `json:"score,omitempty"`
}

// BadShare is Bad / BadTotal.
func (d Difference) BadShare() float64 { return ratio(d.Bad, d.BadTotal) }

// ControlShare is Control / ControlTotal.
func (d Difference) ControlShare() float64 { return ratio(d.Control, d.ControlTotal) }

// Lift is BadShare - ControlShare: how much more common the value is among
// the bad events.
func (d Difference) Lift() float64 { return d.BadShare() - d.ControlShare() }

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
