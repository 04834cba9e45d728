package analysis

import (
	"math"
	"time"

	"github.com/steadystate/steadystate/pipeline/stats"
)

// Result is one comparison of an experiment's cohorts: what `analyze
// compare --output json` prints and what every `analyze live` JSON line
// holds. Every number in it is finite; quantities that are undefined
// (a relative change against a zero control value) are null.
type Result struct {
	// ExperimentID is the experiment compared.
	ExperimentID string `json:"experiment_id"`
	// Title is the experiment's title from its definition ("" without one).
	Title string `json:"title,omitempty"`
	// FromSpec is true when the SLIs come from a definition file, false
	// when the defaults (error rate, latency p50/p95/p99) were used.
	FromSpec bool `json:"from_spec"`
	// Run is the run whose window was compared, when one was used.
	Run *Run `json:"run,omitempty"`
	// Window is the compared interval [since, until).
	Window Window `json:"window"`
	// GeneratedAt is when the result was computed.
	GeneratedAt time.Time `json:"generated_at"`
	// Mode is "fixed_horizon" (one look: compare) or "sequential"
	// (anytime-valid, repeated looks: live).
	Mode string `json:"mode"`
	// Alpha is the significance level of every test; intervals are
	// two-sided at 1-2*alpha, so each end is a one-sided bound at alpha.
	Alpha float64 `json:"alpha"`
	// Adjustment is the multiple-comparison adjustment across metrics.
	Adjustment string `json:"adjustment"`
	// Verdict is the overall verdict: pass, fail, inconclusive,
	// insufficient_data, or untrusted (sample-ratio mismatch).
	Verdict stats.Verdict `json:"verdict"`
	// Reason explains an untrusted or insufficient_data verdict.
	Reason string `json:"reason,omitempty"`
	// Provisional is true (live only) while a metric is below its minimum
	// sample.
	Provisional bool `json:"provisional,omitempty"`
	// Unit is the randomization unit the ratio SLIs and the split were
	// analysed at: the unit's name (e.g. "subject": enduser.id, user.id or
	// feature_flag.context.id as stored in the events' subject), or
	// "event" when no unit is known and every event counts as independent.
	Unit string `json:"unit"`
	// Cohorts are the distinct, non-synthetic events per cohort in the
	// window, over all services and operations.
	Cohorts CohortSizes `json:"cohorts"`
	// Tagging says how the events of Cohorts got their cohort: directly,
	// by their trace at ingest, or by their trace in ClickHouse (compare
	// on ClickHouse only).
	Tagging *TaggingCounts `json:"tagging,omitempty"`
	// SRM is the sample-ratio check of Cohorts against the expected split.
	SRM SRM `json:"srm"`
	// BlastRadius compares everyone outside the experiment cohort during
	// the window with the same length of time before it.
	BlastRadius *BlastRadius `json:"blast_radius,omitempty"`
	// Metrics holds one entry per SLI, in definition order.
	Metrics []Metric `json:"metrics"`
	// StopConditions are the experiment's stop conditions and whether they
	// hold.
	StopConditions []StopStatus `json:"stop_conditions,omitempty"`
	// Stop is true when any stop condition holds: abort the run.
	Stop bool `json:"stop"`
}

// CohortSizes are distinct event counts per cohort.
type CohortSizes struct {
	Control    int64 `json:"control"`
	Experiment int64 `json:"experiment"`
}

// SRM is the sample-ratio-mismatch check.
type SRM struct {
	// ExpectedExperimentShare is the planned share of the experiment
	// cohort (0.5 without a definition).
	ExpectedExperimentShare float64 `json:"expected_experiment_share"`
	// ObservedExperimentShare is experiment / (experiment + control), 0
	// without events.
	ObservedExperimentShare float64 `json:"observed_experiment_share"`
	// Test is "chi_square" (compare) or "sequential_dirichlet" (live).
	Test string `json:"test"`
	// PValue of the test (1 without events).
	PValue float64 `json:"p_value"`
	// Threshold below which a mismatch is declared.
	Threshold float64 `json:"threshold"`
	// Mismatch makes the overall verdict untrusted.
	Mismatch bool `json:"mismatch"`
	// Basis says which events were counted: the first SLI's filter (the
	// requests users make, one per exposure) when it can be served from the
	// view, else "all events". A fault changes how many downstream events a
	// request produces (a failed page calls fewer services), so counting
	// every event would flag the fault itself as a broken split.
	Basis string `json:"basis"`
	// Control and Experiment are the counts the test used.
	Control    int64 `json:"control"`
	Experiment int64 `json:"experiment"`
}

// BlastRadius compares the control cohort and untagged traffic during the
// window (after) with the same length of time before it (before). A
// degraded control is a finding of its own.
type BlastRadius struct {
	// Before and During are the events and errors outside the experiment
	// cohort.
	Before Tally `json:"before"`
	During Tally `json:"during"`
	// ErrorRateBefore and ErrorRateDuring are errors/events (0 without
	// events).
	ErrorRateBefore float64 `json:"error_rate_before"`
	ErrorRateDuring float64 `json:"error_rate_during"`
	// Effect is during minus before, with its interval.
	Effect Effect   `json:"effect"`
	CI     Interval `json:"ci"`
	// PValue is the one-sided exact (Fisher) p-value of "worse during".
	PValue float64 `json:"p_value"`
	// Verdict is pass, fail (degraded), inconclusive or
	// insufficient_data, judged with the first error-rate tolerance.
	Verdict stats.Verdict `json:"verdict"`
	// Degraded is true when Verdict is fail.
	Degraded bool `json:"degraded"`
	// Services lists the services whose error rate rose, worst first.
	Services []ServiceBlast `json:"services,omitempty"`
}

// ServiceBlast is one service's share of the blast radius.
type ServiceBlast struct {
	Service         string  `json:"service"`
	Before          Tally   `json:"before"`
	During          Tally   `json:"during"`
	ErrorRateBefore float64 `json:"error_rate_before"`
	ErrorRateDuring float64 `json:"error_rate_during"`
	PValue          float64 `json:"p_value"`
}

// Tally is a count of events and of errors among them.
type Tally struct {
	Events int64 `json:"events"`
	Errors int64 `json:"errors"`
}

// Metric is the comparison of one SLI between the cohorts.
type Metric struct {
	// Name is the SLI's name (e.g. "error_rate", "latency_p95").
	Name string `json:"name"`
	// Type is error_rate, latency, throughput or good_events.
	Type string `json:"type"`
	// Unit is "ratio" (error_rate, good_events), "s" (latency) or
	// "events/s" (throughput, normalised to 100% of traffic: the cohort's
	// rate divided by its expected share).
	Unit string `json:"unit"`
	// Quantile is the latency quantile (latency only).
	Quantile float64 `json:"quantile,omitempty"`
	// Direction is lower_is_better or higher_is_better.
	Direction string `json:"direction"`
	// Control and Experiment are the per-cohort sample sizes and values.
	Control    CohortValue `json:"control"`
	Experiment CohortValue `json:"experiment"`
	// Effect is experiment minus control.
	Effect Effect `json:"effect"`
	// CI is the interval of the absolute effect.
	CI Interval `json:"ci"`
	// Test names the test behind PValue: fisher_exact, score,
	// mann_whitney_u, msprt (anytime-valid mixture SPRT), binomial_exact,
	// or none (no data).
	Test string `json:"test"`
	// PValue is the one-sided p-value of "the experiment is worse",
	// before the multiple-comparison adjustment.
	PValue float64 `json:"p_value"`
	// AdjustedPValue is PValue after the adjustment across metrics (what
	// the verdict uses).
	AdjustedPValue float64 `json:"adjusted_p_value"`
	// Tolerance is what was allowed.
	Tolerance ToleranceOut `json:"tolerance"`
	// Verdict is pass, fail, inconclusive or insufficient_data.
	Verdict stats.Verdict `json:"verdict"`
	// VerdictChanges (live) lists when and why this metric's verdict
	// changed during the run; a pass is provisional until the end, a fail
	// is final.
	VerdictChanges []VerdictChange `json:"verdict_changes,omitempty"`
	// Provisional is true (live) below the minimum sample.
	Provisional bool `json:"provisional,omitempty"`
	// Note says what a reader should know about this metric, e.g. why
	// the data are insufficient or that the latency values are sampled.
	Note string `json:"note,omitempty"`
}

// CohortValue is one cohort's side of a metric.
type CohortValue struct {
	// N is the number of events the value is computed from (for latency,
	// the sample size).
	N int64 `json:"n"`
	// Value is the SLI's value in Unit.
	Value float64 `json:"value"`
	// Events is the cohort's event count in the SLI's filter when N is a
	// sample of it (latency); omitted otherwise.
	Events int64 `json:"events,omitempty"`
	// Bad is the number of bad events (ratio SLIs: errors, or events that
	// are not good).
	Bad *int64 `json:"bad,omitempty"`
	// Units is the number of distinct randomization units behind N (ratio
	// SLIs analysed at a unit; omitted at the event level).
	Units int64 `json:"units,omitempty"`
}

// Effect is the difference experiment minus control.
type Effect struct {
	// Absolute is in the metric's unit.
	Absolute float64 `json:"absolute"`
	// Relative is Absolute / control value; null when the control value
	// is zero.
	Relative *float64 `json:"relative"`
}

// Interval is a confidence interval of the absolute effect.
type Interval struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	// Level is the two-sided confidence level (1-2*alpha).
	Level float64 `json:"level"`
	// LowerBounded / UpperBounded are false when that end is not a valid
	// bound (too few data; read it as -inf / +inf).
	LowerBounded bool `json:"lower_bounded"`
	UpperBounded bool `json:"upper_bounded"`
}

// ToleranceOut is the tolerance applied to a metric.
type ToleranceOut struct {
	// Absolute and Relative are as defined (0 when not set).
	Absolute float64 `json:"absolute"`
	Relative float64 `json:"relative"`
	// Allowed is the harm allowed at this control value:
	// max(absolute, relative * |control|).
	Allowed float64 `json:"allowed"`
	// Direction is the way the SLI gets better.
	Direction string `json:"direction"`
}

// StopStatus is one stop condition's state.
type StopStatus struct {
	SLI       string  `json:"sli"`
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
	// For is how long the condition must hold (e.g. "30s"; "" = at once).
	For string `json:"for,omitempty"`
	// Value is the experiment cohort's current value of the SLI (over the
	// last max(for, 10s) in live; over the window in compare).
	Value float64 `json:"value"`
	// Crossed is true when Value is past the threshold.
	Crossed bool `json:"crossed"`
	// Since is when the value first crossed (live); nil otherwise.
	Since *time.Time `json:"since,omitempty"`
	// Holds is true when the condition is met: crossed for at least For.
	Holds bool `json:"holds"`
}

// fin replaces NaN and ±Inf with def, so no output ever holds them.
func fin(v, def float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return def
	}
	return v
}

// finPtr is fin for optional values: nil stays nil, a non-finite value
// becomes nil.
func finPtr(v *float64) *float64 {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return nil
	}
	x := *v
	return &x
}

// Sanitize makes every float of r finite (NaN and ±Inf become 0, optional
// values null). Compare and the monitor call it before returning; it is
// exported for code that builds or edits a Result itself.
func (r *Result) Sanitize() {
	r.Alpha = fin(r.Alpha, 0)
	r.SRM.ExpectedExperimentShare = fin(r.SRM.ExpectedExperimentShare, 0)
	r.SRM.ObservedExperimentShare = fin(r.SRM.ObservedExperimentShare, 0)
	r.SRM.PValue = fin(r.SRM.PValue, 1)
	r.SRM.Threshold = fin(r.SRM.Threshold, 0)
	if b := r.BlastRadius; b != nil {
		b.ErrorRateBefore = fin(b.ErrorRateBefore, 0)
		b.ErrorRateDuring = fin(b.ErrorRateDuring, 0)
		b.Effect.Absolute = fin(b.Effect.Absolute, 0)
		b.Effect.Relative = finPtr(b.Effect.Relative)
		b.CI.sanitize()
		b.PValue = fin(b.PValue, 1)
		for i := range b.Services {
			s := &b.Services[i]
			s.ErrorRateBefore = fin(s.ErrorRateBefore, 0)
			s.ErrorRateDuring = fin(s.ErrorRateDuring, 0)
			s.PValue = fin(s.PValue, 1)
		}
	}
	for i := range r.Metrics {
		m := &r.Metrics[i]
		m.Quantile = fin(m.Quantile, 0)
		m.Control.Value = fin(m.Control.Value, 0)
		m.Experiment.Value = fin(m.Experiment.Value, 0)
		m.Effect.Absolute = fin(m.Effect.Absolute, 0)
		m.Effect.Relative = finPtr(m.Effect.Relative)
		m.CI.sanitize()
		m.PValue = fin(m.PValue, 1)
		m.AdjustedPValue = fin(m.AdjustedPValue, 1)
		m.Tolerance.Absolute = fin(m.Tolerance.Absolute, 0)
		m.Tolerance.Relative = fin(m.Tolerance.Relative, 0)
		m.Tolerance.Allowed = fin(m.Tolerance.Allowed, 0)
	}
	for i := range r.StopConditions {
		s := &r.StopConditions[i]
		s.Threshold = fin(s.Threshold, 0)
		s.Value = fin(s.Value, 0)
	}
}

func (iv *Interval) sanitize() {
	if math.IsNaN(iv.Lower) || math.IsInf(iv.Lower, 0) {
		iv.Lower, iv.LowerBounded = 0, false
	}
	if math.IsNaN(iv.Upper) || math.IsInf(iv.Upper, 0) {
		iv.Upper, iv.UpperBounded = 0, false
	}
	if iv.Lower > iv.Upper {
		iv.Lower, iv.Upper = iv.Upper, iv.Lower
	}
	iv.Level = fin(iv.Level, 0)
}

// VerdictChange is one change of a metric's live verdict.
type VerdictChange struct {
	// At is the look's time.
	At time.Time `json:"at"`
	// From and To are the verdicts before and after.
	From stats.Verdict `json:"from"`
	To   stats.Verdict `json:"to"`
	// Reason says why.
	Reason string `json:"reason"`
}
