package stats

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// Quantile returns the q-quantile of sorted (ascending) values by linear
// interpolation between order statistics (Hyndman-Fan type 7, the default
// of NumPy and R). It returns false and 0 for an empty slice.
func Quantile(sorted []float64, q float64) (float64, bool) {
	n := len(sorted)
	if n == 0 || !(q >= 0 && q <= 1) {
		return 0, false
	}
	h := float64(n-1) * q
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1], true
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo]), true
}

// QuantileInterval is a distribution-free confidence interval for one
// cohort's quantile, formed by two order statistics.
type QuantileInterval struct {
	// Estimate is the type-7 sample quantile.
	Estimate float64
	// Lower is the lower order statistic (or the sample minimum when
	// LowerBounded is false).
	Lower float64
	// Upper is the upper order statistic (or the sample maximum when
	// UpperBounded is false).
	Upper float64
	// LowerBounded is false when the sample is too small for any order
	// statistic to bound the quantile from below at the requested level;
	// the true lower limit is then -∞.
	LowerBounded bool
	// UpperBounded is false when no order statistic bounds the quantile
	// from above (e.g. p99 with fewer than ~300 values); the true upper
	// limit is then +∞.
	UpperBounded bool
	// N is the sample size.
	N int
}

// QuantileCI returns a distribution-free interval [X_(l), X_(u)] for the
// q-quantile of a continuous distribution, from the binomial distribution
// of the number of values below the quantile: each side has miss
// probability at most (1-confidence)/2. sorted must be ascending and
// finite. An empty sample returns a zero interval with both Bounded flags
// false.
func QuantileCI(sorted []float64, q, confidence float64) (QuantileInterval, error) {
	return quantileCI(sorted, q, confidence, nil)
}

// quantileCI is QuantileCI with the binomial CDF values it needs taken
// from cdf when set (a memo of BinomialCDF for p = q, see binomialMemo).
func quantileCI(sorted []float64, q, confidence float64, cdf *binomialMemo) (QuantileInterval, error) {
	if !(q > 0 && q < 1) {
		return QuantileInterval{}, fmt.Errorf("quantile interval: quantile %v outside (0, 1)", q)
	}
	if !(confidence > 0 && confidence < 1) {
		return QuantileInterval{}, fmt.Errorf("quantile interval: confidence %v outside (0, 1)", confidence)
	}
	n := len(sorted)
	if n == 0 {
		return QuantileInterval{}, nil
	}
	tail := (1 - confidence) / 2
	est, _ := Quantile(sorted, q)
	out := QuantileInterval{Estimate: est, Lower: sorted[0], Upper: sorted[n-1], N: n}
	n64 := int64(n)
	// Lower: the largest l (1-based) with P(B <= l-1) <= tail, where
	// B ~ Binomial(n, q) counts values below the quantile; then
	// P(X_(l) > ξ_q) <= tail.
	l, err := searchBinomial(n64, q, cdf, func(c float64) bool { return c <= tail })
	if err != nil {
		return QuantileInterval{}, fmt.Errorf("quantile interval lower: %w", err)
	}
	// l is the largest k in [-1, n] with CDF(k) <= tail, i.e. order
	// statistic index l+1.
	if l >= 0 {
		out.Lower = sorted[l] // X_(l+1), 0-based index l
		out.LowerBounded = true
	}
	// Upper: the smallest u with P(B <= u-1) >= 1-tail, i.e. P(X_(u) <
	// ξ_q) <= tail.
	k, err := searchBinomial(n64, q, cdf, func(c float64) bool { return c < 1-tail })
	if err != nil {
		return QuantileInterval{}, fmt.Errorf("quantile interval upper: %w", err)
	}
	// k is the largest index with CDF(k) < 1-tail, so k+1 is the smallest
	// with CDF >= 1-tail; the order statistic is X_(k+2), index k+1.
	if k+1 <= n-1 {
		out.Upper = sorted[k+1]
		out.UpperBounded = true
	}
	return out, nil
}

// searchBinomial returns the largest k in [-1, n-1] such that
// ok(BinomialCDF(k)) holds, assuming ok is true for a prefix of k (CDF is
// increasing). CDF(-1) = 0 is taken as ok.
// With memo set (its p must be p), the CDF values come from it.
func searchBinomial(n int64, p float64, memo *binomialMemo, ok func(float64) bool) (int, error) {
	lo, hi := int64(-1), n-1 // invariant: ok(lo); answer in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		var (
			c   float64
			err error
		)
		if memo != nil {
			c, err = memo.cdf(mid, n)
		} else {
			c, err = BinomialCDF(mid, n, p)
		}
		if err != nil {
			return 0, err
		}
		if ok(c) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return int(lo), nil
}

// binomialMemo remembers BinomialCDF(k, n, p) for one p by (k, n). The
// tolerance test of a quantile SLI (Evidence.PExceeds over
// QuantileEvidence's Bounds) bisects the one-sided level 50 times, and
// each level's interval runs two binary searches over k per cohort
// (QuantileCI) whose probes mostly repeat from one level to the next (the
// first ones are the same for every level): the regularized incomplete
// beta function behind each probe was a third of a live watcher's CPU per
// look (pprof, 10M-event bench database, 100 looks), for one sample per
// look. A remembered value is the value BinomialCDF returned for the same
// arguments, so the intervals and p-values are the same, bit for bit.
type binomialMemo struct {
	p  float64
	mu sync.Mutex
	m  map[[2]int64]float64
}

func newBinomialMemo(p float64) *binomialMemo {
	return &binomialMemo{p: p, m: map[[2]int64]float64{}}
}

// cdf is BinomialCDF(k, n, m.p), computed once per (k, n).
func (m *binomialMemo) cdf(k, n int64) (float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.m[[2]int64{k, n}]; ok {
		return c, nil
	}
	c, err := BinomialCDF(k, n, m.p)
	if err != nil {
		return 0, err
	}
	m.m[[2]int64{k, n}] = c
	return c, nil
}

// QuantileDifference is the difference of one quantile between experiment
// and control (experiment minus control) with a conservative
// distribution-free interval.
type QuantileDifference struct {
	// Quantile is q, e.g. 0.95.
	Quantile float64
	// Control is the control quantile interval (each cohort at level
	// 1-(1-confidence)/2).
	Control QuantileInterval
	// Experiment is the experiment quantile interval.
	Experiment QuantileInterval
	// Difference is Experiment.Estimate - Control.Estimate.
	Difference float64
	// Lower is Experiment.Lower - Control.Upper.
	Lower float64
	// Upper is Experiment.Upper - Control.Lower.
	Upper float64
	// LowerBounded is false when Lower is not a valid bound (a cohort
	// interval end is unbounded); Lower then uses the sample extremes and
	// should be read as -∞.
	LowerBounded bool
	// UpperBounded is false when Upper is not a valid bound; read it as +∞.
	UpperBounded bool
	// Insufficient is true when a cohort is empty.
	Insufficient bool
}

// CompareQuantile returns the q-quantile difference (experiment minus
// control) with a distribution-free interval at the given confidence.
//
// Method: each cohort gets an order-statistic interval at level
// 1-(1-confidence)/2 (QuantileCI), and the difference interval is
// [E.lower - C.upper, E.upper - C.lower]. By the union bound the
// difference interval covers with probability at least confidence, and
// each end misses with probability at most (1-confidence)/2. This is
// conservative (wider than a bootstrap) but exact for continuous data,
// deterministic, and needs no resampling. Values must be finite.
func CompareQuantile(control, experiment []float64, q, confidence float64) (QuantileDifference, error) {
	if !(confidence > 0 && confidence < 1) {
		return QuantileDifference{}, fmt.Errorf("compare quantile: confidence %v outside (0, 1)", confidence)
	}
	cs, err := sortedFinite(control)
	if err != nil {
		return QuantileDifference{}, fmt.Errorf("compare quantile control: %w", err)
	}
	es, err := sortedFinite(experiment)
	if err != nil {
		return QuantileDifference{}, fmt.Errorf("compare quantile experiment: %w", err)
	}
	return compareSortedQuantile(cs, es, q, confidence, nil)
}

// Evidence converts the quantile difference into verdict evidence, using
// pHarm (e.g. MannWhitneyResult.PGreater for latency, adjusted if several
// metrics are judged) as the test. Unbounded interval ends are carried as
// the NoLowerBound/NoUpperBound flags.
func (d QuantileDifference) Evidence(pHarm float64) Evidence {
	return Evidence{
		Baseline:     d.Control.Estimate,
		Effect:       d.Difference,
		Lower:        math.Min(d.Lower, d.Difference),
		Upper:        math.Max(d.Upper, d.Difference),
		NoLowerBound: !d.LowerBounded,
		NoUpperBound: !d.UpperBounded,
		PHarm:        clamp01(pHarm),
		Insufficient: d.Insufficient,
	}
}

func sortedFinite(v []float64) ([]float64, error) {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("value %d: %w", i, errNonFinite)
		}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s, nil
}

// latencyQuantiles are the quantiles reported by CompareLatency.
var latencyQuantiles = [3]float64{0.5, 0.95, 0.99}

// LatencyComparison is the fixed-horizon latency comparison of experiment
// vs control.
type LatencyComparison struct {
	// MannWhitney is the rank test (automatic method choice).
	MannWhitney MannWhitneyResult
	// Quantiles holds the p50, p95 and p99 differences, in that order.
	Quantiles [3]QuantileDifference
}

// CompareLatency runs the Mann-Whitney U test and the p50/p95/p99
// differences (experiment minus control) with conservative
// order-statistic intervals at the given two-sided confidence. For a
// verdict on quantile i use Quantiles[i].Evidence(MannWhitney.PGreater).
// Values must be finite; the inputs are not modified.
func CompareLatency(control, experiment []float64, confidence float64) (LatencyComparison, error) {
	mw, err := MannWhitneyU(control, experiment, MannWhitneyAuto)
	if err != nil {
		return LatencyComparison{}, fmt.Errorf("compare latency: %w", err)
	}
	out := LatencyComparison{MannWhitney: mw}
	for i, q := range latencyQuantiles {
		d, err := CompareQuantile(control, experiment, q, confidence)
		if err != nil {
			return LatencyComparison{}, fmt.Errorf("compare latency p%g: %w", q*100, err)
		}
		out.Quantiles[i] = d
	}
	return out, nil
}

// unboundedEnd stands for an interval end that no order statistic bounds
// (finite, so verdict arithmetic stays finite, but beyond any allowance).
const unboundedEnd = math.MaxFloat64 / 4

// QuantileEvidence compares the q-quantile of two samples (CompareQuantile
// at confidence 1-2·alpha) and returns verdict evidence decided by the
// quantile-difference interval itself: Bounds recomputes the
// order-statistic interval at any one-sided level on the samples sorted
// once, and the tolerance test's p-value (Evidence.PExceeds) is the
// smallest level at which the harm-side bound is beyond the allowance.
// PHarm is that p-value for a zero allowance. No location test (e.g.
// Mann-Whitney) is involved, so a tail-only regression is judged by the
// tail, and each quantile is one hypothesis in the family.
func QuantileEvidence(control, experiment []float64, q, alpha float64) (Evidence, QuantileDifference, error) {
	if err := checkAlpha(alpha); err != nil {
		return Evidence{}, QuantileDifference{}, fmt.Errorf("quantile evidence: %w", err)
	}
	cs, err := sortedFinite(control)
	if err != nil {
		return Evidence{}, QuantileDifference{}, fmt.Errorf("quantile evidence control: %w", err)
	}
	es, err := sortedFinite(experiment)
	if err != nil {
		return Evidence{}, QuantileDifference{}, fmt.Errorf("quantile evidence experiment: %w", err)
	}
	// One memo of the binomial CDF for both cohorts and every level the
	// tolerance test tries (binomialMemo).
	memo := newBinomialMemo(q)
	d, err := compareSortedQuantile(cs, es, q, 1-2*alpha, memo)
	if err != nil {
		return Evidence{}, QuantileDifference{}, fmt.Errorf("quantile evidence: %w", err)
	}
	ev := d.Evidence(1)
	if d.Insufficient {
		return ev, d, nil
	}
	ev.Bounds = func(a float64) (float64, float64) {
		x, err := compareSortedQuantile(cs, es, q, 1-2*a, memo)
		if err != nil || x.Insufficient {
			return -unboundedEnd, unboundedEnd
		}
		lo, hi := math.Min(x.Lower, x.Difference), math.Max(x.Upper, x.Difference)
		if !x.LowerBounded {
			lo = -unboundedEnd
		}
		if !x.UpperBounded {
			hi = unboundedEnd
		}
		return lo, hi
	}
	ev.PHarm = ev.PExceeds(LowerIsBetter, 0)
	return ev, d, nil
}

// compareSortedQuantile is CompareQuantile on sorted, finite samples,
// with the binomial CDF from memo when set (its p must be q).
func compareSortedQuantile(cs, es []float64, q, confidence float64, memo *binomialMemo) (QuantileDifference, error) {
	if !(confidence > 0 && confidence < 1) {
		return QuantileDifference{}, fmt.Errorf("compare quantile: confidence %v outside (0, 1)", confidence)
	}
	perCohort := 1 - (1-confidence)/2
	ci, err := quantileCI(cs, q, perCohort, memo)
	if err != nil {
		return QuantileDifference{}, fmt.Errorf("compare quantile control: %w", err)
	}
	ei, err := quantileCI(es, q, perCohort, memo)
	if err != nil {
		return QuantileDifference{}, fmt.Errorf("compare quantile experiment: %w", err)
	}
	out := QuantileDifference{Quantile: q, Control: ci, Experiment: ei}
	if len(cs) == 0 || len(es) == 0 {
		out.Insufficient = true
		return out, nil
	}
	out.Difference = ei.Estimate - ci.Estimate
	out.Lower = ei.Lower - ci.Upper
	out.Upper = ei.Upper - ci.Lower
	out.LowerBounded = ei.LowerBounded && ci.UpperBounded
	out.UpperBounded = ei.UpperBounded && ci.LowerBounded
	return out, nil
}
