package stats

import (
	"fmt"
	"math"
)

// Verdict is the outcome of comparing a metric, or a whole experiment.
type Verdict string

const (
	// VerdictPass means the experiment is shown to stay within tolerance:
	// the harm bound of the effect interval lies inside the allowance.
	VerdictPass Verdict = "pass"
	// VerdictFail means the experiment is significantly worse than the
	// control by more than the tolerance.
	VerdictFail Verdict = "fail"
	// VerdictInconclusive means there are enough data but neither pass nor
	// fail can be established yet.
	VerdictInconclusive Verdict = "inconclusive"
	// VerdictInsufficientData means the minimum sample has not been reached.
	VerdictInsufficientData Verdict = "insufficient_data"
	// VerdictUntrusted means the cohorts are not comparable (sample-ratio
	// mismatch); no metric verdict can be trusted. Only Overall returns it.
	VerdictUntrusted Verdict = "untrusted"
)

// Direction says which way a metric improves.
type Direction string

const (
	// LowerIsBetter is for error rates, latency, burn rate.
	LowerIsBetter Direction = "lower_is_better"
	// HigherIsBetter is for success ratios, throughput, availability.
	HigherIsBetter Direction = "higher_is_better"
)

// Tolerance is how much harm the experiment may do before it fails.
// Harm is experiment minus control for LowerIsBetter metrics and control
// minus experiment for HigherIsBetter ones. When both allowances are set,
// a change is tolerated when it is within either of them, i.e. the
// allowance is max(Absolute, Relative*|baseline|). Zero tolerance (the
// default) means any significant harm fails.
type Tolerance struct {
	// Direction says which way the metric improves.
	Direction Direction
	// Absolute is the allowed harm in metric units (e.g. 0.005 for half a
	// percentage point of error rate). Must be >= 0.
	Absolute float64
	// Relative is the allowed harm as a fraction of the control value
	// (e.g. 0.2 for +20%). Must be >= 0.
	Relative float64
}

// Allowance returns the allowed harm for a given control (baseline) value.
func (t Tolerance) Allowance(baseline float64) float64 {
	return math.Max(t.Absolute, t.Relative*math.Abs(baseline))
}

func (t Tolerance) validate() error {
	if t.Direction != LowerIsBetter && t.Direction != HigherIsBetter {
		return fmt.Errorf("unknown direction %q", t.Direction)
	}
	if !(t.Absolute >= 0) || math.IsInf(t.Absolute, 0) || !(t.Relative >= 0) || math.IsInf(t.Relative, 0) {
		return fmt.Errorf("tolerance absolute=%v relative=%v must be finite and non-negative", t.Absolute, t.Relative)
	}
	return nil
}

// Evidence is what a verdict is decided from. Effect, Lower and Upper are
// always experiment minus control in metric units; DecideMetric applies the
// direction.
type Evidence struct {
	// Baseline is the control value, used for relative tolerances.
	Baseline float64
	// Effect is the point estimate of experiment minus control.
	Effect float64
	// Lower is the lower bound of the effect interval.
	Lower float64
	// Upper is the upper bound of the effect interval.
	Upper float64
	// NoLowerBound marks Lower as not a valid bound (read it as -∞), e.g.
	// an order-statistic interval from too small a sample.
	NoLowerBound bool
	// NoUpperBound marks Upper as not a valid bound (read it as +∞).
	NoUpperBound bool
	// PHarm is the one-sided p-value for "the experiment is worse" in the
	// metric's harmful direction (already adjusted for multiplicity when
	// used with Decide).
	PHarm float64
	// Insufficient is true when the minimum sample has not been reached.
	Insufficient bool
}

// DecideMetric applies the verdict rule to one metric:
//
//   - insufficient_data when Evidence.Insufficient;
//   - fail when PHarm <= alpha and the harm-side bound of the effect
//     interval is beyond the allowance (the whole interval shows more harm
//     than tolerated);
//   - pass when the other bound is within the allowance (the interval
//     excludes harm beyond the tolerance);
//   - inconclusive otherwise.
//
// Each interval end should be a one-sided bound at level alpha (a two-sided
// 1-2*alpha interval), so that fail and pass are both alpha-level tests.
func DecideMetric(e Evidence, tol Tolerance, alpha float64) (Verdict, error) {
	if err := tol.validate(); err != nil {
		return "", fmt.Errorf("decide metric: %w", err)
	}
	if err := checkAlpha(alpha); err != nil {
		return "", fmt.Errorf("decide metric: %w", err)
	}
	for _, v := range []float64{e.Baseline, e.Effect, e.Lower, e.Upper, e.PHarm} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("decide metric: evidence %w", errNonFinite)
		}
	}
	if e.Lower > e.Upper {
		return "", fmt.Errorf("decide metric: interval lower %v above upper %v", e.Lower, e.Upper)
	}
	if e.Insufficient {
		return VerdictInsufficientData, nil
	}
	allow := tol.Allowance(e.Baseline)
	// Harm interval [harmLo, harmHi] in the harmful direction.
	harmLo, harmHi := e.Lower, e.Upper
	loBounded, hiBounded := !e.NoLowerBound, !e.NoUpperBound
	if tol.Direction == HigherIsBetter {
		harmLo, harmHi = -e.Upper, -e.Lower
		loBounded, hiBounded = hiBounded, loBounded
	}
	switch {
	case e.PHarm <= alpha && loBounded && harmLo > allow:
		return VerdictFail, nil
	case hiBounded && harmHi <= allow:
		return VerdictPass, nil
	default:
		return VerdictInconclusive, nil
	}
}

// Overall combines metric verdicts into the experiment verdict: untrusted
// when srm (sample-ratio mismatch) is true; otherwise fail if any metric
// fails; otherwise insufficient_data if any metric lacks data (or there are
// no metrics); otherwise inconclusive if any is inconclusive; otherwise
// pass.
func Overall(srm bool, verdicts []Verdict) Verdict {
	if srm {
		return VerdictUntrusted
	}
	if len(verdicts) == 0 {
		return VerdictInsufficientData
	}
	var insufficient, inconclusive bool
	for _, v := range verdicts {
		switch v {
		case VerdictFail:
			return VerdictFail
		case VerdictInsufficientData:
			insufficient = true
		case VerdictInconclusive, VerdictUntrusted:
			inconclusive = true
		}
	}
	switch {
	case insufficient:
		return VerdictInsufficientData
	case inconclusive:
		return VerdictInconclusive
	}
	return VerdictPass
}

// MetricInput is one SLI to be judged by Decide.
type MetricInput struct {
	// Name identifies the metric in the decision.
	Name string
	// Evidence holds the unadjusted evidence.
	Evidence Evidence
	// Tolerance is the metric's allowed harm.
	Tolerance Tolerance
}

// MetricDecision is one metric's verdict within a Decision.
type MetricDecision struct {
	// Name is the metric name.
	Name string
	// Verdict is the metric verdict.
	Verdict Verdict
	// AdjustedP is PHarm after the multiplicity adjustment.
	AdjustedP float64
}

// Decision is the verdict over several metrics.
type Decision struct {
	// Overall is the combined verdict.
	Overall Verdict
	// Metrics holds the per-metric verdicts in input order.
	Metrics []MetricDecision
}

// Decide adjusts the metrics' harm p-values with adj (Holm or
// Benjamini-Hochberg over the metrics that have sufficient data), decides
// each metric with DecideMetric and combines them with Overall.
func Decide(metrics []MetricInput, alpha float64, adj Adjustment, srm bool) (Decision, error) {
	ps := make([]float64, 0, len(metrics))
	idx := make([]int, 0, len(metrics))
	for i, m := range metrics {
		if !m.Evidence.Insufficient {
			ps = append(ps, m.Evidence.PHarm)
			idx = append(idx, i)
		}
	}
	adjusted, err := Adjust(ps, adj)
	if err != nil {
		return Decision{}, fmt.Errorf("decide: %w", err)
	}
	out := Decision{Metrics: make([]MetricDecision, len(metrics))}
	verdicts := make([]Verdict, len(metrics))
	for i, m := range metrics {
		out.Metrics[i] = MetricDecision{Name: m.Name, AdjustedP: 1}
	}
	for j, i := range idx {
		out.Metrics[i].AdjustedP = adjusted[j]
	}
	for i, m := range metrics {
		e := m.Evidence
		e.PHarm = out.Metrics[i].AdjustedP
		v, err := DecideMetric(e, m.Tolerance, alpha)
		if err != nil {
			return Decision{}, fmt.Errorf("decide metric %q: %w", m.Name, err)
		}
		out.Metrics[i].Verdict = v
		verdicts[i] = v
	}
	out.Overall = Overall(srm, verdicts)
	return out, nil
}
