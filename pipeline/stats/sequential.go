package stats

import (
	"fmt"
	"math"
)

// Defaults for MonitorConfig.
const (
	// DefaultMonitorAlpha is the default anytime-valid significance level.
	DefaultMonitorAlpha = 0.05
	// DefaultTauRelative is the default mixing standard deviation of the
	// rate difference as a fraction of the pooled rate: the normal mixture
	// puts most weight on relative changes of up to about ±TauRelative
	// (0.5 means effects like 1% -> 1.5%). It was tuned with Simulate so
	// that a doubling of a 1% error rate at 1000 events/min/cohort fails
	// within 5 minutes in >= 90% of runs (see cmd/statsharness).
	DefaultTauRelative = 0.5
	// DefaultMinEventsPerCohort is the default minimum number of events in
	// each cohort before results stop being provisional.
	DefaultMinEventsPerCohort = 100
	// DefaultMinTotalBad is the default minimum number of bad events (both
	// cohorts together) before results stop being provisional.
	DefaultMinTotalBad = 5
)

// MonitorConfig configures AlwaysValidP.
type MonitorConfig struct {
	// Alpha is the significance level that holds over all looks
	// (default DefaultMonitorAlpha).
	Alpha float64
	// TauRelative sets the mixing standard deviation τ of the rate
	// difference as TauRelative × pooled rate (default
	// DefaultTauRelative). Ignored when TauAbsolute is set.
	TauRelative float64
	// TauAbsolute, when positive, fixes τ in rate units (e.g. 0.005).
	TauAbsolute float64
	// MinEventsPerCohort is the minimum number of events per cohort
	// (default DefaultMinEventsPerCohort; negative means 0).
	MinEventsPerCohort int64
	// MinTotalBad is the minimum number of bad events in both cohorts
	// together (default DefaultMinTotalBad; negative means 0). Below
	// MinTotalBad the normal approximation is not trusted and results are
	// provisional: a live pass needs some errors; use CompareProportions
	// for a final verdict on near-zero error rates.
	MinTotalBad int64
}

func (c MonitorConfig) withDefaults() (MonitorConfig, error) {
	if c.Alpha == 0 {
		c.Alpha = DefaultMonitorAlpha
	}
	if err := checkAlpha(c.Alpha); err != nil {
		return c, err
	}
	if c.TauRelative == 0 {
		c.TauRelative = DefaultTauRelative
	}
	if !(c.TauRelative > 0) || math.IsInf(c.TauRelative, 0) {
		return c, fmt.Errorf("tau relative %v must be positive and finite", c.TauRelative)
	}
	if !(c.TauAbsolute >= 0) || math.IsInf(c.TauAbsolute, 0) {
		return c, fmt.Errorf("tau absolute %v must be non-negative and finite", c.TauAbsolute)
	}
	switch {
	case c.MinEventsPerCohort == 0:
		c.MinEventsPerCohort = DefaultMinEventsPerCohort
	case c.MinEventsPerCohort < 0:
		c.MinEventsPerCohort = 0
	}
	switch {
	case c.MinTotalBad == 0:
		c.MinTotalBad = DefaultMinTotalBad
	case c.MinTotalBad < 0:
		c.MinTotalBad = 0
	}
	return c, nil
}

// AlwaysValidP is the anytime-valid monitor for an error rate, experiment
// vs control, for live refreshes. It implements the normal-mixture mixture
// sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis &
// Walsh ("Always valid inference", 2017; Operations Research 2022) for the
// difference of two proportions d = p2 - p1, with plug-in variances:
//
// With the estimate d̂ ~ N(d, v) and a N(0, τ²) mixture over d, the
// two-sided mixture likelihood ratio against d = 0 is
//
//	Λ = sqrt(v/(v+τ²)) exp(d̂² τ² / (2 v (v+τ²)))
//
// and the one-sided ("experiment worse") version mixes over a half-normal
// on d > 0, Λ⁺ = 2 Φ(d̂ τ / sqrt(v (v+τ²))) Λ. In the Gaussian model both
// are non-negative (super)martingales under the null, so by Ville's
// inequality the running p-values, min over looks of 1/Λ, are valid however
// often they are checked: a look every 5 s keeps the false-positive rate at
// Alpha. For proportions this holds asymptotically (normal approximation,
// plug-in variance and τ); Simulate measures the actual rate, which is
// well below Alpha in the scenarios of cmd/statsharness.
//
// The p-values use the pooled (null) variance v0 = p̄(1-p̄)(1/n1+1/n2).
// The bounds Lower and Upper invert the one-sided test at every d with the
// unpooled variance p1(1-p1)/n1 + p2(1-p2)/n2 and are intersected across
// looks (a confidence sequence; see AlwaysValidResult.Inconsistent for an
// empty intersection). Each is a one-sided bound at level Alpha, so
// [Lower, Upper] is a 1-2·Alpha confidence sequence, matching the
// one-sided fail and pass tests of DecideMetric. Rates used in variances
// are shrunk by half a pseudo-event, (x+0.5)/(n+1), so they are never 0.
//
// The running p-values and bounds start once the minimum sample is reached
// (before that results are Provisional, p-values are 1 and the bounds are
// [-1, 1]); the burn-in depends on the counts only, not on the difference.
// τ is TauRelative × pooled rate, so the mixture scales with the error
// rate. An AlwaysValidP is fed cumulative counts and is not safe for
// concurrent use.
type AlwaysValidP struct {
	cfg                   MonitorConfig
	pTwo, pWorse, pBetter float64
	lower, upper          float64
	started               bool
	inconsistent          bool
	looks                 int
	last                  [4]int64
}

// AlwaysValidResult is the monitor state after one look.
type AlwaysValidResult struct {
	// Control is the cumulative control tally.
	Control Counts
	// Experiment is the cumulative experiment tally.
	Experiment Counts
	// ControlRate is the control bad rate (0 with no events).
	ControlRate float64
	// ExperimentRate is the experiment bad rate (0 with no events).
	ExperimentRate float64
	// Difference is ExperimentRate - ControlRate.
	Difference float64
	// PValue is the two-sided always-valid p-value for d = 0,
	// non-increasing across looks.
	PValue float64
	// PWorse is the one-sided always-valid p-value for "experiment rate is
	// higher" (H0: d <= 0), non-increasing across looks.
	PWorse float64
	// PBetter is the one-sided always-valid p-value for "experiment rate is
	// lower" (H0: d >= 0), non-increasing across looks.
	PBetter float64
	// Lower is the running anytime-valid lower bound on d (one-sided at
	// Alpha); non-decreasing across looks.
	Lower float64
	// Upper is the running anytime-valid upper bound on d (one-sided at
	// Alpha); non-increasing across looks.
	Upper float64
	// Inconsistent is true once the confidence sequence would have become
	// empty: no constant difference fits all looks, i.e. the effect
	// changed during the experiment (e.g. a fault was injected and then
	// removed). Lower and Upper then keep their last non-empty values, so
	// an earlier significant harm is not forgotten. Sticky.
	Inconsistent bool
	// Tau is the mixing standard deviation used at this look.
	Tau float64
	// Provisional is true below the minimum sample.
	Provisional bool
	// Looks is the number of updates so far, including provisional ones.
	Looks int
	// Alpha is the configured level.
	Alpha float64
}

// NewAlwaysValidP returns an anytime-valid monitor; zero config fields take
// their defaults.
func NewAlwaysValidP(cfg MonitorConfig) (*AlwaysValidP, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new always valid p: %w", err)
	}
	return &AlwaysValidP{cfg: c, pTwo: 1, pWorse: 1, pBetter: 1, lower: -1, upper: 1}, nil
}

// Config returns the effective configuration (with defaults applied).
func (m *AlwaysValidP) Config() MonitorConfig { return m.cfg }

// Update takes the cumulative counts (x1 bad of n1 control events, x2 bad
// of n2 experiment events; counts must never decrease) and returns the
// current anytime-valid result.
func (m *AlwaysValidP) Update(x1, n1, x2, n2 int64) (AlwaysValidResult, error) {
	c := Counts{Bad: x1, Total: n1}
	e := Counts{Bad: x2, Total: n2}
	if err := c.validate(); err != nil {
		return AlwaysValidResult{}, fmt.Errorf("always valid update control: %w", err)
	}
	if err := e.validate(); err != nil {
		return AlwaysValidResult{}, fmt.Errorf("always valid update experiment: %w", err)
	}
	cur := [4]int64{x1, n1, x2, n2}
	for i := range cur {
		if cur[i] < m.last[i] {
			return AlwaysValidResult{}, fmt.Errorf("always valid update: cumulative count %d fell from %d to %d", i, m.last[i], cur[i])
		}
	}
	m.last = cur
	m.looks++
	p1, _ := c.Rate()
	p2, _ := e.Rate()
	res := AlwaysValidResult{
		Control:        c,
		Experiment:     e,
		ControlRate:    p1,
		ExperimentRate: p2,
		Difference:     p2 - p1,
		Looks:          m.looks,
		Alpha:          m.cfg.Alpha,
	}
	res.Provisional = n1 < max(m.cfg.MinEventsPerCohort, 1) || n2 < max(m.cfg.MinEventsPerCohort, 1) ||
		x1+x2 < m.cfg.MinTotalBad
	if !res.Provisional {
		m.look(&res)
	}
	res.PValue, res.PWorse, res.PBetter = m.pTwo, m.pWorse, m.pBetter
	res.Lower, res.Upper = m.lower, m.upper
	res.Inconsistent = m.inconsistent
	return res, nil
}

func (m *AlwaysValidP) look(res *AlwaysValidResult) {
	x1, n1 := float64(res.Control.Bad), float64(res.Control.Total)
	x2, n2 := float64(res.Experiment.Bad), float64(res.Experiment.Total)
	d := res.Difference
	pooled := (x1 + x2 + 0.5) / (n1 + n2 + 1)
	v0 := pooled * (1 - pooled) * (1/n1 + 1/n2)
	s1 := (x1 + 0.5) / (n1 + 1)
	s2 := (x2 + 0.5) / (n2 + 1)
	v := s1*(1-s1)/n1 + s2*(1-s2)/n2
	tau := m.cfg.TauAbsolute
	if tau <= 0 {
		tau = m.cfg.TauRelative * pooled
	}
	res.Tau = tau
	t2 := tau * tau

	// p-values at d = 0 with the null variance.
	lTwo := logMixtureLR(d, v0, t2)
	m.pTwo = math.Min(m.pTwo, expNeg(lTwo))
	m.pWorse = math.Min(m.pWorse, expNeg(logOneSidedLR(d, v0, t2)))
	m.pBetter = math.Min(m.pBetter, expNeg(logOneSidedLR(-d, v0, t2)))

	// One-sided bounds with the unpooled variance.
	w := oneSidedRadius(v, t2, m.cfg.Alpha)
	lo := math.Max(d-w, -1)
	hi := math.Min(d+w, 1)
	if !m.started {
		m.lower, m.upper, m.started = lo, hi, true
		return
	}
	nl, nu := math.Max(m.lower, lo), math.Min(m.upper, hi)
	if nl > nu {
		// No constant difference is consistent with all looks: the effect
		// changed over time (or the normal approximation failed). Keep the
		// last non-empty bounds and flag it.
		m.inconsistent = true
		return
	}
	m.lower, m.upper = nl, nu
}

// logMixtureLR is log Λ for the two-sided normal mixture.
func logMixtureLR(d, v, t2 float64) float64 {
	return 0.5*math.Log(v/(v+t2)) + d*d*t2/(2*v*(v+t2))
}

// logOneSidedLR is log Λ⁺ for the half-normal mixture on d > 0.
func logOneSidedLR(d, v, t2 float64) float64 {
	x := d * math.Sqrt(t2) / math.Sqrt(v*(v+t2))
	return math.Ln2 + logNormalCDF(x) + logMixtureLR(d, v, t2)
}

// oneSidedRadius returns w such that the one-sided mixture test of
// H0: d <= d̂ - w rejects exactly at level alpha: with x = w·τ/sqrt(v(v+τ²))
// it solves log 2 + ½ log(v/(v+τ²)) + log Φ(x) + x²/2 = log(1/alpha).
func oneSidedRadius(v, t2, alpha float64) float64 {
	target := -math.Log(alpha) - math.Ln2 - 0.5*math.Log(v/(v+t2))
	g := func(x float64) float64 { return logNormalCDF(x) + x*x/2 }
	lo, hi := -30.0, math.Sqrt(2*math.Abs(target))+10
	for range 200 {
		mid := (lo + hi) / 2
		if g(mid) < target {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-12 {
			break
		}
	}
	x := (lo + hi) / 2
	return finiteOr(x*math.Sqrt(v*(v+t2))/math.Sqrt(t2), 2)
}

func expNeg(l float64) float64 {
	if math.IsNaN(l) {
		return 1
	}
	return clamp01(math.Exp(-l))
}

// Evidence converts the result into verdict evidence for an error rate
// (lower is better): PHarm is PWorse, the interval is [Lower, Upper].
func (r AlwaysValidResult) Evidence() Evidence {
	return Evidence{
		Baseline:     r.ControlRate,
		Effect:       r.Difference,
		Lower:        math.Min(r.Lower, r.Upper),
		Upper:        math.Max(r.Lower, r.Upper),
		PHarm:        r.PWorse,
		Insufficient: r.Provisional,
	}
}

// MixtureP returns the one-sided normal-mixture likelihood-ratio p-value
// (1/Λ⁺, capped at 1) of H0: d <= 0 for an estimate d̂ ~ N(d, v), mixing
// over a half-normal with standard deviation tau on d > 0. It is the
// building block of AlwaysValidP for statistics other than two
// proportions (a rank-test probability index, a binomial share): the
// running minimum over looks of MixtureP is an always-valid p-value when
// d̂ is approximately a Gaussian random walk normalised by its sample
// size. Non-positive or non-finite v or tau give 1.
func MixtureP(d, v, tau float64) float64 {
	if !(v > 0) || !(tau > 0) || math.IsInf(v, 0) || math.IsInf(tau, 0) || math.IsNaN(d) {
		return 1
	}
	return expNeg(logOneSidedLR(d, v, tau*tau))
}
