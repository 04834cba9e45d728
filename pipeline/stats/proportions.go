package stats

import (
	"fmt"
	"math"
)

// Counts is one cohort's tally for a proportion metric such as an error
// rate: Bad events out of Total events.
type Counts struct {
	// Bad is the number of bad (e.g. failed) events.
	Bad int64
	// Total is the number of events.
	Total int64
}

// Rate returns Bad/Total and false when Total is zero (rate reported as 0).
func (c Counts) Rate() (float64, bool) {
	if c.Total <= 0 {
		return 0, false
	}
	return float64(c.Bad) / float64(c.Total), true
}

func (c Counts) validate() error {
	if c.Bad < 0 || c.Total < 0 {
		return fmt.Errorf("negative count bad=%d total=%d", c.Bad, c.Total)
	}
	if c.Bad > c.Total {
		return fmt.Errorf("bad count %d exceeds total %d", c.Bad, c.Total)
	}
	return nil
}

// Interval is a confidence interval. Lower <= Upper always holds and both
// are finite.
type Interval struct {
	// Lower is the lower confidence limit.
	Lower float64
	// Upper is the upper confidence limit.
	Upper float64
	// Uninformative is true when there were no data to bound the interval;
	// Lower and Upper then span the whole parameter range.
	Uninformative bool
}

// TestMethod names how a p-value was computed.
type TestMethod string

const (
	// MethodExact marks an exact (permutation or conditional) p-value.
	MethodExact TestMethod = "exact"
	// MethodScore marks a large-sample score (pooled z) p-value.
	MethodScore TestMethod = "score"
	// MethodAsymptotic marks a normal-approximation p-value.
	MethodAsymptotic TestMethod = "asymptotic"
	// MethodNone marks a result where no test could be run (no data); the
	// p-values are then 1.
	MethodNone TestMethod = "none"
)

// MaxExactSupport is the largest hypergeometric support (number of
// possible tables, min(bad, good, n1, n2)+1) for which FisherExact sums
// exact probabilities. The cost is linear in the support, so the exact test
// is used for any sample size as long as the smaller margin is at most
// 99,999; above that the score test is used, which at such counts agrees
// with the exact test to many digits.
const MaxExactSupport = 100000

// tieTolerance is the relative tolerance under which two hypergeometric
// probabilities are treated as equal in the two-sided Fisher test.
const tieTolerance = 1e-7

// FisherResult holds Fisher's exact test for a 2x2 table of control vs
// experiment bad/good counts.
type FisherResult struct {
	// PTwoSided sums the probabilities of all tables no more likely than
	// the observed one (the "minimum likelihood" rule used by R and SciPy).
	PTwoSided float64
	// PGreater is the one-sided p-value for "experiment rate is higher"
	// (experiment worse for an error rate).
	PGreater float64
	// PLess is the one-sided p-value for "experiment rate is lower".
	PLess float64
	// Method is MethodExact, MethodScore (support above MaxExactSupport)
	// or MethodNone (a margin is zero: no information, all p-values 1).
	Method TestMethod
}

// FisherExact runs Fisher's exact test conditional on the margins, with
// hypergeometric probabilities computed from log-gamma so that zero counts
// and small samples are handled exactly. When a margin is zero (a cohort
// without events, or no bad or no good events at all) every p-value is 1
// and Method is MethodNone. Above MaxExactSupport the pooled score test
// without continuity correction is used instead (Method is MethodScore).
func FisherExact(control, experiment Counts) (FisherResult, error) {
	if err := control.validate(); err != nil {
		return FisherResult{}, fmt.Errorf("fisher exact control: %w", err)
	}
	if err := experiment.validate(); err != nil {
		return FisherResult{}, fmt.Errorf("fisher exact experiment: %w", err)
	}
	n1, n2 := control.Total, experiment.Total
	nAll := n1 + n2
	m := control.Bad + experiment.Bad
	if n1 == 0 || n2 == 0 || m == 0 || m == nAll {
		return FisherResult{PTwoSided: 1, PGreater: 1, PLess: 1, Method: MethodNone}, nil
	}
	lo := max(0, m-n1)
	hi := min(m, n2)
	if hi-lo+1 > MaxExactSupport {
		return scoreTest(control, experiment), nil
	}
	// X = experiment bad count ~ Hypergeometric(N, n2, m). lchoose of both
	// margins, with their lgamma(n+1) taken once instead of per k: the
	// same values in the same operations, so the same bits.
	f1, f2 := float64(n1), float64(n2)
	g1, g2 := lgamma(f1+1), lgamma(f2+1)
	logpmf := func(k int64) float64 {
		fk, fj := float64(k), float64(m-k)
		return (g2 - lgamma(fk+1) - lgamma(f2-fk+1)) + (g1 - lgamma(fj+1) - lgamma(f1-fj+1))
	}
	mode := int64(float64(m+1) * float64(n2+1) / float64(nAll+2))
	mode = min(max(mode, lo), hi)
	lmax := logpmf(mode)
	x := experiment.Bad
	lobs := logpmf(x)
	cut := lobs + math.Log1p(tieTolerance)
	// Only the tables whose weight exp(l - lmax) does not underflow to 0
	// add to the sums (adding 0 changes no sum): the hypergeometric
	// probabilities fall monotonically away from the mode (log-concave), so
	// walking out from it, the first table below negligibleLog bounds the
	// ones that count, and every table further out is below it too (the
	// margin to exp's underflow at -745.13 dwarfs lgamma's rounding). At the
	// blast radius's counts (thousands of errors) that is a few standard
	// deviations' worth of the support instead of all of it: a live look's
	// Fisher test was a fifth of a watcher's CPU per look (pprof).
	const negligibleLog = -1000
	var below, above []float64 // logpmf(mode-1), logpmf(mode-2), ... and logpmf(mode+1), ...
	for k := mode - 1; k >= lo; k-- {
		l := logpmf(k)
		if l-lmax < negligibleLog {
			break
		}
		below = append(below, l)
	}
	for k := mode + 1; k <= hi; k++ {
		l := logpmf(k)
		if l-lmax < negligibleLog {
			break
		}
		above = append(above, l)
	}
	var total, greater, less, two float64
	for k := mode - int64(len(below)); k <= mode+int64(len(above)); k++ {
		l := lmax
		switch {
		case k < mode:
			l = below[mode-1-k]
		case k > mode:
			l = above[k-mode-1]
		}
		w := math.Exp(l - lmax)
		total += w
		if k >= x {
			greater += w
		}
		if k <= x {
			less += w
		}
		if l <= cut {
			two += w
		}
	}
	return FisherResult{
		PTwoSided: clamp01(two / total),
		PGreater:  clamp01(greater / total),
		PLess:     clamp01(less / total),
		Method:    MethodExact,
	}, nil
}

// scoreTest is the pooled two-proportion z test without continuity
// correction; it is only used when both margins are large.
func scoreTest(control, experiment Counts) FisherResult {
	n1, n2 := float64(control.Total), float64(experiment.Total)
	p1 := float64(control.Bad) / n1
	p2 := float64(experiment.Bad) / n2
	pooled := float64(control.Bad+experiment.Bad) / (n1 + n2)
	se := math.Sqrt(pooled * (1 - pooled) * (1/n1 + 1/n2))
	z := 0.0
	if se > 0 {
		z = (p2 - p1) / se
	}
	return FisherResult{
		PTwoSided: clamp01(2 * NormalSF(math.Abs(z))),
		PGreater:  NormalSF(z),
		PLess:     NormalCDF(z),
		Method:    MethodScore,
	}
}

// Wilson returns the Wilson score interval for a binomial proportion x/n at
// the given two-sided confidence level (e.g. 0.95). With n == 0 it returns
// [0, 1] marked Uninformative.
func Wilson(x, n int64, confidence float64) (Interval, error) {
	if err := (Counts{Bad: x, Total: n}).validate(); err != nil {
		return Interval{}, fmt.Errorf("wilson interval: %w", err)
	}
	z, err := zForConfidence(confidence)
	if err != nil {
		return Interval{}, fmt.Errorf("wilson interval: %w", err)
	}
	if n == 0 {
		return Interval{Lower: 0, Upper: 1, Uninformative: true}, nil
	}
	return wilson(float64(x), float64(n), z), nil
}

func wilson(x, n, z float64) Interval {
	p := x / n
	z2 := z * z
	denom := 1 + z2/n
	center := (p + z2/(2*n)) / denom
	half := z / denom * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	lo := clamp01(center - half)
	hi := clamp01(center + half)
	// The exact limits at the boundary are 0 and 1.
	if x == 0 {
		lo = 0
	}
	if x == n {
		hi = 1
	}
	return Interval{Lower: lo, Upper: hi}
}

// zForConfidence returns the two-sided normal critical value.
func zForConfidence(confidence float64) (float64, error) {
	if !(confidence > 0 && confidence < 1) {
		return 0, fmt.Errorf("confidence %v outside (0, 1)", confidence)
	}
	return NormalQuantile(1 - (1-confidence)/2)
}

// NewcombeDifference returns Newcombe's hybrid score interval (method 10
// of Newcombe, Stat Med 1998) for the difference of proportions
// p2 - p1 (experiment minus control), built from the two Wilson intervals.
// It is well-behaved for zero counts. When a cohort has no events the
// result is [-1, 1] marked Uninformative.
func NewcombeDifference(control, experiment Counts, confidence float64) (Interval, error) {
	if err := control.validate(); err != nil {
		return Interval{}, fmt.Errorf("newcombe interval control: %w", err)
	}
	if err := experiment.validate(); err != nil {
		return Interval{}, fmt.Errorf("newcombe interval experiment: %w", err)
	}
	z, err := zForConfidence(confidence)
	if err != nil {
		return Interval{}, fmt.Errorf("newcombe interval: %w", err)
	}
	if control.Total == 0 || experiment.Total == 0 {
		return Interval{Lower: -1, Upper: 1, Uninformative: true}, nil
	}
	p1 := float64(control.Bad) / float64(control.Total)
	p2 := float64(experiment.Bad) / float64(experiment.Total)
	w1 := wilson(float64(control.Bad), float64(control.Total), z)
	w2 := wilson(float64(experiment.Bad), float64(experiment.Total), z)
	d := p2 - p1
	lo := d - math.Sqrt(sq(p2-w2.Lower)+sq(w1.Upper-p1))
	hi := d + math.Sqrt(sq(w2.Upper-p2)+sq(p1-w1.Lower))
	return Interval{Lower: math.Max(lo, -1), Upper: math.Min(hi, 1)}, nil
}

func sq(v float64) float64 { return v * v }

// ProportionComparison is the fixed-horizon comparison of an experiment
// proportion (e.g. error rate) against a control proportion.
type ProportionComparison struct {
	// Control is the control cohort's tally.
	Control Counts
	// Experiment is the experiment cohort's tally.
	Experiment Counts
	// ControlRate is Control.Bad/Control.Total (0 when Total is 0).
	ControlRate float64
	// ExperimentRate is Experiment.Bad/Experiment.Total (0 when Total is 0).
	ExperimentRate float64
	// ControlInterval is the Wilson interval of ControlRate.
	ControlInterval Interval
	// ExperimentInterval is the Wilson interval of ExperimentRate.
	ExperimentInterval Interval
	// Difference is ExperimentRate - ControlRate.
	Difference float64
	// DifferenceInterval is the Newcombe hybrid score interval of
	// Difference.
	DifferenceInterval Interval
	// RelativeChange is ExperimentRate/ControlRate - 1, or nil when the
	// control rate is zero and the ratio is undefined.
	RelativeChange *float64
	// Fisher holds the exact test p-values.
	Fisher FisherResult
	// Confidence is the two-sided confidence level of the intervals.
	Confidence float64
	// Insufficient is true when a cohort has no events.
	Insufficient bool
}

// CompareProportions compares experiment against control for a proportion
// metric at one look (fixed horizon): Wilson intervals per cohort, the
// Newcombe interval of the difference, Fisher's exact test and the
// relative change. confidence is the two-sided level, e.g. 0.95; for
// verdicts with one-sided tests at level alpha use 1-2*alpha so that each
// interval end is a one-sided bound at alpha.
func CompareProportions(control, experiment Counts, confidence float64) (ProportionComparison, error) {
	ci, err := Wilson(control.Bad, control.Total, confidence)
	if err != nil {
		return ProportionComparison{}, fmt.Errorf("compare proportions control: %w", err)
	}
	ei, err := Wilson(experiment.Bad, experiment.Total, confidence)
	if err != nil {
		return ProportionComparison{}, fmt.Errorf("compare proportions experiment: %w", err)
	}
	di, err := NewcombeDifference(control, experiment, confidence)
	if err != nil {
		return ProportionComparison{}, fmt.Errorf("compare proportions: %w", err)
	}
	fr, err := FisherExact(control, experiment)
	if err != nil {
		return ProportionComparison{}, fmt.Errorf("compare proportions: %w", err)
	}
	p1, ok1 := control.Rate()
	p2, ok2 := experiment.Rate()
	res := ProportionComparison{
		Control:            control,
		Experiment:         experiment,
		ControlRate:        p1,
		ExperimentRate:     p2,
		ControlInterval:    ci,
		ExperimentInterval: ei,
		Difference:         p2 - p1,
		DifferenceInterval: di,
		Fisher:             fr,
		Confidence:         confidence,
		Insufficient:       !ok1 || !ok2,
	}
	if ok1 && ok2 && p1 > 0 {
		rel := p2/p1 - 1
		res.RelativeChange = &rel
	}
	return res, nil
}

// Evidence converts the comparison into verdict evidence. dir says whether
// a lower proportion is better (error rate) or a higher one (success
// ratio); it selects which one-sided Fisher p-value measures harm.
func (c ProportionComparison) Evidence(dir Direction) Evidence {
	pHarm := c.Fisher.PGreater
	if dir == HigherIsBetter {
		pHarm = c.Fisher.PLess
	}
	return Evidence{
		Baseline:     c.ControlRate,
		Effect:       c.Difference,
		Lower:        c.DifferenceInterval.Lower,
		Upper:        c.DifferenceInterval.Upper,
		PHarm:        pHarm,
		Insufficient: c.Insufficient,
	}
}
