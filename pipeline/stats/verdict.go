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
	// Contradicted is true when the data contradict a constant effect
	// (a live confidence sequence emptied: the effect changed during the
	// run). A contradicted metric can fail but never pass.
	Contradicted bool
	// Bounds, when set, recomputes [Lower, Upper] with each end a
	// one-sided bound at level alpha. Decide uses it to report the
	// interval at the level the multiplicity adjustment tests the metric
	// at, and (without PAbove/PBelow) to find the p-value of the
	// tolerance test by inverting the interval.
	Bounds func(alpha float64) (lower, upper float64) `json:"-"`
	// PAbove, when set, is the one-sided p-value of H0: effect <= delta
	// (small when the effect is shown to exceed delta); PBelow of H0:
	// effect >= delta. They invert Bounds exactly; without them Decide
	// inverts Bounds numerically.
	PAbove, PBelow func(delta float64) float64 `json:"-"`
}

// Negated returns the evidence for the negated metric (control minus
// experiment), e.g. a good-event ratio from its bad-event complement.
func (e Evidence) Negated() Evidence {
	out := e
	out.Baseline = -e.Baseline
	out.Effect = -e.Effect
	out.Lower, out.Upper = -e.Upper, -e.Lower
	out.NoLowerBound, out.NoUpperBound = e.NoUpperBound, e.NoLowerBound
	if e.Bounds != nil {
		b := e.Bounds
		out.Bounds = func(a float64) (float64, float64) { lo, hi := b(a); return -hi, -lo }
	}
	out.PAbove, out.PBelow = nil, nil
	if e.PBelow != nil {
		f := e.PBelow
		out.PAbove = func(d float64) float64 { return f(-d) }
	}
	if e.PAbove != nil {
		f := e.PAbove
		out.PBelow = func(d float64) float64 { return f(-d) }
	}
	return out
}

// harmBounds returns the harm-side and the other bound of the harm
// interval at level alpha from Bounds (harm = effect for LowerIsBetter,
// -effect otherwise).
func (e Evidence) harmBounds(dir Direction, alpha float64) (harmLo, harmHi float64) {
	lo, hi := e.Bounds(alpha)
	if dir == HigherIsBetter {
		return -hi, -lo
	}
	return lo, hi
}

// PExceeds returns the one-sided p-value of H0: harm <= allow, the test
// whose rejection fails the metric, where harm is the effect in the
// metric's harmful direction. It uses PAbove/PBelow when set, else inverts
// Bounds (the smallest one-sided level at which the harm-side bound
// exceeds allow), else falls back to PHarm when allow is 0. With a
// positive allowance and neither, it returns 1 (no valid test).
func (e Evidence) PExceeds(dir Direction, allow float64) float64 {
	switch {
	case dir != HigherIsBetter && e.PAbove != nil:
		return clamp01(e.PAbove(allow))
	case dir == HigherIsBetter && e.PBelow != nil:
		return clamp01(e.PBelow(-allow))
	case e.Bounds != nil:
		beyond := func(a float64) bool { lo, _ := e.harmBounds(dir, a); return lo > allow }
		const top = 0.45
		if !beyond(top) {
			return 1
		}
		lo, hi := math.Log(1e-15), math.Log(top)
		if beyond(1e-15) {
			return 1e-15
		}
		for range 50 {
			mid := (lo + hi) / 2
			if beyond(math.Exp(mid)) {
				hi = mid
			} else {
				lo = mid
			}
		}
		return math.Exp(hi)
	case allow == 0:
		return e.PHarm
	}
	return 1
}

// DecideMetric applies the verdict rule to one metric:
//
//   - insufficient_data when Evidence.Insufficient;
//   - fail when PHarm <= alpha and the harm-side bound of the effect
//     interval is beyond the allowance (the whole interval shows more harm
//     than tolerated);
//   - pass when the other bound is within the allowance (the interval
//     excludes harm beyond the tolerance) and the evidence is not
//     Contradicted;
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
	case hiBounded && harmHi <= allow && !e.Contradicted:
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
	// PExceeds is the unadjusted one-sided p-value of H0: harm <=
	// allowance (the tolerance test; 1 without sufficient data).
	PExceeds float64
	// AdjustedP is PExceeds after the multiplicity adjustment.
	AdjustedP float64
	// Level is the one-sided level the harm-side bound was computed at:
	// alpha/(m-j+1) for the metric ranked j-th by PExceeds under Holm
	// (the level Holm compares it with), alpha/m under Bonferroni-like
	// BH reporting, alpha without adjustment.
	Level float64
	// Lower and Upper are the effect interval after the adjustment: the
	// harm-side end at Level, the other end (which decides pass) at alpha.
	Lower, Upper float64
}

// Decision is the verdict over several metrics.
type Decision struct {
	// Overall is the combined verdict.
	Overall Verdict
	// Metrics holds the per-metric verdicts in input order.
	Metrics []MetricDecision
}

// Decide judges several metrics as one family. The fail test of each
// metric is H0: harm <= allowance (PExceeds, the non-inferiority p-value
// for the metric's tolerance), and the adjustment (Holm by default
// semantics of adj; Benjamini-Hochberg or none on request) is applied to
// exactly those p-values over the metrics with sufficient data, so the
// family-wise false-fail rate holds with tolerances and several SLIs.
// The interval is adjusted together with the test: the harm-side bound is
// recomputed (Evidence.Bounds) at the one-sided level Holm tests that
// metric at, alpha/(m-j+1) for the j-th smallest p-value, so an adjusted
// fail always has its harm-side bound beyond the allowance. (Holm's
// step-down can withhold a fail whose own bound is beyond the allowance
// when a metric ranked before it did not fail; the verdict follows the
// adjusted p-value.) Passes are not adjusted: the experiment passes only
// when every metric passes, an intersection-union test that is valid at
// alpha without adjustment. Each metric is then decided with DecideMetric
// and combined with Overall.
func Decide(metrics []MetricInput, alpha float64, adj Adjustment, srm bool) (Decision, error) {
	if err := checkAlpha(alpha); err != nil {
		return Decision{}, fmt.Errorf("decide: %w", err)
	}
	ps := make([]float64, 0, len(metrics))
	idx := make([]int, 0, len(metrics))
	out := Decision{Metrics: make([]MetricDecision, len(metrics))}
	for i, m := range metrics {
		if err := m.Tolerance.validate(); err != nil {
			return Decision{}, fmt.Errorf("decide metric %q: %w", m.Name, err)
		}
		out.Metrics[i] = MetricDecision{Name: m.Name, PExceeds: 1, AdjustedP: 1, Level: alpha, Lower: m.Evidence.Lower, Upper: m.Evidence.Upper}
		if !m.Evidence.Insufficient {
			p := m.Evidence.PExceeds(m.Tolerance.Direction, m.Tolerance.Allowance(m.Evidence.Baseline))
			out.Metrics[i].PExceeds = p
			ps = append(ps, p)
			idx = append(idx, i)
		}
	}
	adjusted, err := Adjust(ps, adj)
	if err != nil {
		return Decision{}, fmt.Errorf("decide: %w", err)
	}
	levels := make([]float64, len(ps))
	for rank, j := range sortedOrder(ps) {
		switch adj {
		case AdjustHolm:
			levels[j] = alpha / float64(len(ps)-rank)
		case AdjustBH:
			levels[j] = alpha / float64(len(ps))
		default:
			levels[j] = alpha
		}
	}
	verdicts := make([]Verdict, len(metrics))
	for j, i := range idx {
		out.Metrics[i].AdjustedP = adjusted[j]
		out.Metrics[i].Level = levels[j]
	}
	for i, m := range metrics {
		e := m.Evidence
		d := &out.Metrics[i]
		e.PHarm = d.AdjustedP
		// Lower and Upper are at alpha; the harm side moves to Level.
		if e.Bounds != nil && !e.Insufficient && d.Level < alpha {
			alo, ahi := e.Bounds(d.Level)
			if m.Tolerance.Direction == HigherIsBetter {
				e.Upper = math.Max(ahi, e.Effect)
			} else {
				e.Lower = math.Min(alo, e.Effect)
			}
			d.Lower, d.Upper = e.Lower, e.Upper
		}
		v, err := DecideMetric(e, m.Tolerance, alpha)
		if err != nil {
			return Decision{}, fmt.Errorf("decide metric %q: %w", m.Name, err)
		}
		d.Verdict = v
		verdicts[i] = v
	}
	out.Overall = Overall(srm, verdicts)
	return out, nil
}
