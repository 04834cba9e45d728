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
// difference of two ratios d = p2 - p1, with plug-in variances:
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
// often they are checked. For ratios this holds asymptotically (normal
// approximation, plug-in variance and τ); Simulate measures the actual
// rate (cmd/statsharness).
//
// The variance v is DifferenceVariance of the cohorts' unit tallies: the
// delta-method (cluster-robust) variance over randomization units, each
// cohort taking the larger of its own and the null-constrained (pooled)
// variance, so the interval keeps its coverage on unequal splits and when
// the small cohort has seen no errors yet. Fed plain event counts (Update)
// every event is its own unit.
//
// The bounds Lower and Upper are the confidence sequence of the current
// look: they invert the one-sided test at every d (each a one-sided bound
// at level Alpha, valid simultaneously over all looks), so a verdict
// always follows the current data. They are not intersected with earlier
// looks: when a fault starts late the interval moves, and an old bound is
// never kept. Instead, Inconsistent flags (stickily) that the current
// interval is disjoint from the intersection of all earlier ones, i.e. no
// constant difference fits all looks (the effect changed during the run);
// the evidence is then Contradicted, which makes a pass inconclusive.
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
	lower, upper          float64 // current look
	isecLo, isecHi        float64 // intersection of all looks
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
	// ControlUnits and ExperimentUnits are the unit tallies (Units is the
	// event count when the unit is unknown).
	ControlUnits, ExperimentUnits UnitCounts
	// ControlRate is the control bad rate (0 with no events).
	ControlRate float64
	// ExperimentRate is the experiment bad rate (0 with no events).
	ExperimentRate float64
	// Difference is ExperimentRate - ControlRate.
	Difference float64
	// Variance is the variance of Difference used at this look.
	Variance float64
	// PValue is the two-sided always-valid p-value for d = 0,
	// non-increasing across looks.
	PValue float64
	// PWorse is the one-sided always-valid p-value for "experiment rate is
	// higher" (H0: d <= 0), non-increasing across looks.
	PWorse float64
	// PBetter is the one-sided always-valid p-value for "experiment rate is
	// lower" (H0: d >= 0), non-increasing across looks.
	PBetter float64
	// Lower is the anytime-valid lower bound on d at this look (one-sided
	// at Alpha).
	Lower float64
	// Upper is the anytime-valid upper bound on d at this look (one-sided
	// at Alpha).
	Upper float64
	// Inconsistent is true once the current interval was disjoint from the
	// intersection of all earlier ones: no constant difference fits all
	// looks, i.e. the effect changed during the experiment (a fault
	// started or stopped). Sticky.
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
	return &AlwaysValidP{cfg: c, pTwo: 1, pWorse: 1, pBetter: 1, lower: -1, upper: 1, isecLo: -1, isecHi: 1}, nil
}

// Config returns the effective configuration (with defaults applied).
func (m *AlwaysValidP) Config() MonitorConfig { return m.cfg }

// Update takes the cumulative counts (x1 bad of n1 control events, x2 bad
// of n2 experiment events; counts must never decrease), treating every
// event as its own unit, and returns the current anytime-valid result.
func (m *AlwaysValidP) Update(x1, n1, x2, n2 int64) (AlwaysValidResult, error) {
	c := Counts{Bad: x1, Total: n1}
	e := Counts{Bad: x2, Total: n2}
	if err := c.validate(); err != nil {
		return AlwaysValidResult{}, fmt.Errorf("always valid update control: %w", err)
	}
	if err := e.validate(); err != nil {
		return AlwaysValidResult{}, fmt.Errorf("always valid update experiment: %w", err)
	}
	return m.UpdateUnits(EventUnits(c), EventUnits(e))
}

// UpdateUnits takes the cumulative unit tallies of both cohorts (event and
// bad counts must never decrease) and returns the current anytime-valid
// result with the cluster-robust variance over units.
func (m *AlwaysValidP) UpdateUnits(control, experiment UnitCounts) (AlwaysValidResult, error) {
	control, experiment = control.normalized(), experiment.normalized()
	if err := control.validate(); err != nil {
		return AlwaysValidResult{}, fmt.Errorf("always valid update control: %w", err)
	}
	if err := experiment.validate(); err != nil {
		return AlwaysValidResult{}, fmt.Errorf("always valid update experiment: %w", err)
	}
	x1, n1, x2, n2 := control.Bad, control.Total, experiment.Bad, experiment.Total
	cur := [4]int64{x1, n1, x2, n2}
	for i := range cur {
		if cur[i] < m.last[i] {
			return AlwaysValidResult{}, fmt.Errorf("always valid update: cumulative count %d fell from %d to %d", i, m.last[i], cur[i])
		}
	}
	m.last = cur
	m.looks++
	c, e := control.Counts(), experiment.Counts()
	p1, _ := c.Rate()
	p2, _ := e.Rate()
	res := AlwaysValidResult{
		Control:         c,
		Experiment:      e,
		ControlUnits:    control,
		ExperimentUnits: experiment,
		ControlRate:     p1,
		ExperimentRate:  p2,
		Difference:      p2 - p1,
		Looks:           m.looks,
		Alpha:           m.cfg.Alpha,
	}
	res.Provisional = n1 < max(m.cfg.MinEventsPerCohort, 1) || n2 < max(m.cfg.MinEventsPerCohort, 1) ||
		x1+x2 < m.cfg.MinTotalBad || control.Units < 2 || experiment.Units < 2
	if !res.Provisional {
		m.look(&res)
	}
	res.PValue, res.PWorse, res.PBetter = m.pTwo, m.pWorse, m.pBetter
	res.Lower, res.Upper = m.lower, m.upper
	res.Inconsistent = m.inconsistent
	return res, nil
}

func (m *AlwaysValidP) tau(res *AlwaysValidResult) float64 {
	if m.cfg.TauAbsolute > 0 {
		return m.cfg.TauAbsolute
	}
	all := res.Control.Bad + res.Experiment.Bad
	n := res.Control.Total + res.Experiment.Total
	pooled := (float64(all) + 0.5) / (float64(n) + 1)
	return m.cfg.TauRelative * pooled
}

func (m *AlwaysValidP) look(res *AlwaysValidResult) {
	d := res.Difference
	v := DifferenceVariance(res.ControlUnits, res.ExperimentUnits)
	res.Variance = v
	tau := m.tau(res)
	res.Tau = tau
	t2 := tau * tau

	// p-values at d = 0.
	lTwo := logMixtureLR(d, v, t2)
	m.pTwo = math.Min(m.pTwo, expNeg(lTwo))
	m.pWorse = math.Min(m.pWorse, expNeg(logOneSidedLR(d, v, t2)))
	m.pBetter = math.Min(m.pBetter, expNeg(logOneSidedLR(-d, v, t2)))

	w := oneSidedRadius(v, t2, m.cfg.Alpha)
	m.lower, m.upper = math.Max(d-w, -1), math.Min(d+w, 1)
	if !m.started {
		m.isecLo, m.isecHi, m.started = m.lower, m.upper, true
		return
	}
	nl, nu := math.Max(m.isecLo, m.lower), math.Min(m.isecHi, m.upper)
	if nl > nu {
		// No constant difference is consistent with all looks: the effect
		// changed over time (or the normal approximation failed).
		m.inconsistent = true
		m.isecLo, m.isecHi = m.lower, m.upper
		return
	}
	m.isecLo, m.isecHi = nl, nu
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
	// g is increasing; Newton from the right (g is convex there), with a
	// bisection bracket as a safeguard.
	g := func(x float64) float64 { return logNormalCDF(x) + x*x/2 - target }
	lo, hi := -30.0, math.Sqrt(2*math.Abs(target))+10
	x := math.Sqrt(2 * math.Max(target, 0.5))
	for range 100 {
		gx := g(x)
		if math.Abs(gx) < 1e-13 {
			break
		}
		if gx < 0 {
			lo = x
		} else {
			hi = x
		}
		// d/dx log Φ(x) = φ(x)/Φ(x) = exp(log φ(x) - log Φ(x)).
		dg := math.Exp(-x*x/2-0.5*math.Log(2*math.Pi)-logNormalCDF(x)) + x
		nx := x - gx/dg
		if !(nx > lo && nx < hi) || dg <= 0 {
			nx = (lo + hi) / 2
		}
		if math.Abs(nx-x) < 1e-13 {
			x = nx
			break
		}
		x = nx
	}
	return finiteOr(x*math.Sqrt(v*(v+t2))/math.Sqrt(t2), 2)
}

func expNeg(l float64) float64 {
	if math.IsNaN(l) {
		return 1
	}
	return clamp01(math.Exp(-l))
}

// Evidence converts the result into verdict evidence for an error rate
// (lower is better): PHarm is PWorse, the interval is [Lower, Upper] of
// the current look, Bounds recomputes it at another level (for the
// multiplicity adjustment) and Contradicted is Inconsistent.
func (r AlwaysValidResult) Evidence() Evidence {
	ev := Evidence{
		Baseline:     r.ControlRate,
		Effect:       r.Difference,
		Lower:        math.Min(r.Lower, r.Upper),
		Upper:        math.Max(r.Lower, r.Upper),
		PHarm:        r.PWorse,
		Insufficient: r.Provisional,
		Contradicted: r.Inconsistent,
	}
	if !r.Provisional && r.Variance > 0 && r.Tau > 0 {
		d, v, t2 := r.Difference, r.Variance, r.Tau*r.Tau
		vc, ve, deff := cohortVariances(r.ControlUnits, r.ExperimentUnits)
		p1, n2 := r.ControlRate, r.Experiment.Total
		ev.Bounds = func(alpha float64) (float64, float64) {
			w := oneSidedRadius(v, t2, alpha)
			// The upper bound uses the variance at the boundary it
			// reports (experiment rate p1 + upper), by fixed-point
			// iteration from the plug-in one.
			hi := d + w
			for range 3 {
				hi = d + oneSidedRadius(boundaryVariance(vc, ve, deff, p1+hi, n2), t2, alpha)
			}
			return math.Max(d-w, -1), math.Min(math.Max(hi, d+w), 1)
		}
		ev.Lower, ev.Upper = ev.Bounds(r.Alpha)
		ev.PAbove = func(delta float64) float64 { return expNeg(logOneSidedLR(d-delta, v, t2)) }
	}
	return ev
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
