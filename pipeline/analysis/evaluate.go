package analysis

import (
	"fmt"
	"math"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/stats"
)

// Test names used in Metric.Test.
const (
	TestFisherExact  = "fisher_exact"
	TestScore        = "score"
	TestMannWhitney  = "mann_whitney_u"
	TestMSPRT        = "msprt"
	TestDeltaMethod  = "delta_method_z"
	TestQuantileCI   = "quantile_interval"
	TestBinomial     = "binomial_exact"
	TestNone         = "none"
	ModeFixedHorizon = "fixed_horizon"
	ModeSequential   = "sequential"
)

// observation is what was measured for one SLI.
type observation struct {
	// Ratio and throughput SLIs: x of n per cohort (x = errors for
	// error_rate, good events for good_events, n = events).
	cx, cn, ex, en int64
	// cu and eu are the per-unit tallies of the bad events (errors, or
	// events that are not good) when the randomization unit is known;
	// nil means every event counts as its own unit.
	cu, eu *stats.UnitCounts
	// Latency: the sample (shared by SLIs with the same filter) and the
	// cohorts' event counts in the filter.
	sample           *latencySample
	cEvents, eEvents int64
	// note is added to the metric.
	note string
}

// latencySample is one filter's sample, shared by the quantiles of that
// filter.
type latencySample struct {
	Sample
}

// seqState is the anytime-valid state of one metric across live looks.
type seqState struct {
	avp   *stats.AlwaysValidP
	minP  float64
	last  [4]int64
	looks int // decided (non-provisional) latency looks
}

// judgeSettings are the shared parameters of one evaluation.
type judgeSettings struct {
	alpha float64
	// share is the planned experiment share (throughput normalisation).
	share float64
	// dur is the window length (throughput).
	dur time.Duration
	// monitor configures AlwaysValidP (live).
	monitor stats.MonitorConfig
	// minSample is the minimum latency sample per cohort in live.
	minSample int
}

// judge turns one observation into a metric and its evidence. seq is nil
// for a fixed-horizon comparison.
func judge(s *SLI, o *observation, js judgeSettings, seq *seqState) (Metric, stats.Evidence, error) {
	m := Metric{
		Name: s.Name, Type: string(s.Type), Unit: s.unit(), Direction: string(s.Tolerance.Direction),
		Tolerance: ToleranceOut{Absolute: s.Tolerance.Absolute, Relative: s.Tolerance.Relative, Direction: string(s.Tolerance.Direction)},
		Note:      o.note,
	}
	level := 1 - 2*js.alpha
	var (
		ev  stats.Evidence
		err error
	)
	switch s.Type {
	case experiment.SLIErrorRate, experiment.SLIGoodEvents:
		ev, err = judgeRatio(s, o, js, seq, &m)
	case experiment.SLILatency:
		m.Quantile = s.Quantile
		ev, err = judgeLatency(s, o, js, seq, &m)
	case experiment.SLIThroughput:
		ev, err = judgeThroughput(s, o, js, seq, &m)
	default:
		return m, ev, fmt.Errorf("sli %q: unknown type %q", s.Name, s.Type)
	}
	if err != nil {
		return m, ev, fmt.Errorf("sli %q: %w", s.Name, err)
	}
	m.CI.Level = level
	m.Tolerance.Allowed = s.Tolerance.Allowance(ev.Baseline)
	m.PValue = ev.PHarm
	if ev.Insufficient {
		m.Test = TestNone
	}
	return m, ev, nil
}

func relative(effect, baseline float64) *float64 {
	if baseline == 0 {
		return nil
	}
	r := effect / math.Abs(baseline)
	return &r
}

func judgeRatio(s *SLI, o *observation, js judgeSettings, seq *seqState, m *Metric) (stats.Evidence, error) {
	c := stats.Counts{Bad: o.cx, Total: o.cn}
	e := stats.Counts{Bad: o.ex, Total: o.en}
	cr, _ := c.Rate()
	er, _ := e.Rate()
	cb, eb := o.cx, o.ex // error_rate: the errors
	if s.Type == experiment.SLIGoodEvents {
		cb, eb = o.cn-o.cx, o.en-o.ex // good_events: the events that are not good
	}
	m.Control = CohortValue{N: o.cn, Value: cr, Bad: &cb}
	m.Experiment = CohortValue{N: o.en, Value: er, Bad: &eb}
	m.Effect = Effect{Absolute: er - cr, Relative: relative(er-cr, cr)}
	dir := s.Tolerance.Direction
	good := s.Type == experiment.SLIGoodEvents
	// The bad-event tallies: a good-event ratio is judged as the complement
	// of its bad events, with the same variance and detection speed as the
	// matching error rate, then negated back into good-ratio units.
	cBad := stats.EventUnits(stats.Counts{Bad: cb, Total: o.cn})
	eBad := stats.EventUnits(stats.Counts{Bad: eb, Total: o.en})
	if o.cu != nil && o.eu != nil {
		cBad, eBad = *o.cu, *o.eu
		m.Control.Units, m.Experiment.Units = cBad.Units, eBad.Units
	}
	toMetric := func(ev stats.Evidence) stats.Evidence {
		if good {
			ev = ev.Negated()
			ev.Baseline = cr
		}
		return ev
	}
	if seq == nil {
		if o.cu != nil && o.eu != nil {
			// Unit level: the delta-method (cluster-robust) variance of
			// the difference of the two ratios over units.
			var cbr, ebr float64
			if o.cn > 0 {
				cbr = float64(cb) / float64(o.cn)
			}
			if o.en > 0 {
				ebr = float64(eb) / float64(o.en)
			}
			ev := stats.WaldEvidence(ebr-cbr, stats.DifferenceVariance(cBad, eBad), cbr, js.alpha)
			ev.Insufficient = ev.Insufficient || o.cn == 0 || o.en == 0
			ev = toMetric(ev)
			m.CI = Interval{Lower: ev.Lower, Upper: ev.Upper, LowerBounded: !ev.Insufficient, UpperBounded: !ev.Insufficient}
			m.Test = TestDeltaMethod
			if ev.Insufficient {
				m.Note = joinNote(m.Note, "a cohort has fewer than two units")
			}
			return ev, nil
		}
		pc, err := stats.CompareProportions(c, e, 1-2*js.alpha)
		if err != nil {
			return stats.Evidence{}, err
		}
		ev := pc.Evidence(dir)
		if !ev.Insufficient {
			// The interval at any level, so the tolerance test and the
			// multiplicity adjustment use the same Newcombe interval.
			ev.Bounds = func(a float64) (float64, float64) {
				iv, err := stats.NewcombeDifference(c, e, 1-2*a)
				if err != nil {
					return -1, 1
				}
				return iv.Lower, iv.Upper
			}
		}
		m.CI = Interval{Lower: ev.Lower, Upper: ev.Upper, LowerBounded: !pc.DifferenceInterval.Uninformative, UpperBounded: !pc.DifferenceInterval.Uninformative}
		m.Test = TestFisherExact
		if pc.Fisher.Method == stats.MethodScore {
			m.Test = TestScore
		}
		if ev.Insufficient {
			m.Note = joinNote(m.Note, "a cohort has no events")
		}
		return ev, nil
	}
	// Anytime-valid: cumulative counts never fall (a late bucket may be
	// re-read smaller while it settles), so clamp to the last look.
	cur := [4]int64{cBad.Bad, cBad.Total, eBad.Bad, eBad.Total}
	for i := range cur {
		cur[i] = max(cur[i], seq.last[i])
	}
	cur[0], cur[2] = min(cur[0], cur[1]), min(cur[2], cur[3])
	seq.last = cur
	cBad.Bad, cBad.Total, eBad.Bad, eBad.Total = cur[0], cur[1], cur[2], cur[3]
	cBad.Units, eBad.Units = min(cBad.Units, cBad.Total), min(eBad.Units, eBad.Total)
	r, err := seq.avp.UpdateUnits(cBad, eBad)
	if err != nil {
		return stats.Evidence{}, err
	}
	ev := toMetric(r.Evidence())
	m.CI = Interval{Lower: ev.Lower, Upper: ev.Upper, LowerBounded: !r.Provisional, UpperBounded: !r.Provisional}
	m.Test = TestMSPRT
	m.Provisional = r.Provisional
	if r.Provisional {
		cfg := seq.avp.Config()
		m.Note = joinNote(m.Note, fmt.Sprintf("provisional: needs %d events per cohort and %d bad events in all", cfg.MinEventsPerCohort, cfg.MinTotalBad))
	}
	if r.Inconsistent {
		m.Note = joinNote(m.Note, "the effect changed during the run (the interval contradicts earlier looks): no pass")
	}
	return ev, nil
}

func judgeLatency(s *SLI, o *observation, js judgeSettings, seq *seqState, m *Metric) (stats.Evidence, error) {
	// The verdict is decided by the quantile-difference interval itself
	// (order statistics, stats.QuantileEvidence): a rank test would test a
	// shift of the whole distribution, not this quantile, and would count
	// one p-value once per quantile in the family.
	spent := js.alpha
	if seq != nil {
		provisional := len(o.sample.Control) < js.minSample || len(o.sample.Experiment) < js.minSample
		m.Provisional = provisional
		if provisional {
			m.Note = joinNote(m.Note, fmt.Sprintf("provisional: needs a sample of %d per cohort", js.minSample))
		} else {
			seq.looks++
		}
		// The interval is not a confidence sequence: spend alpha over the
		// looks (alpha·6/(π²k²) at the k-th decided look, summing to at
		// most alpha), so repeated looks keep the level.
		spent = js.alpha * 6 / (math.Pi * math.Pi * float64(max(seq.looks, 1)*max(seq.looks, 1)))
	}
	ev, qd, err := stats.QuantileEvidence(o.sample.Control, o.sample.Experiment, s.Quantile, spent)
	if err != nil {
		return stats.Evidence{}, err
	}
	if seq != nil && ev.Bounds != nil {
		// Decide works at alpha: map its levels onto the spent ones.
		b, scale := ev.Bounds, spent/js.alpha
		ev.Bounds = func(a float64) (float64, float64) { return b(a * scale) }
		ev.PHarm = math.Min(1, ev.PHarm/scale)
	}
	m.Control = CohortValue{N: int64(len(o.sample.Control)), Value: qd.Control.Estimate, Events: o.cEvents}
	m.Experiment = CohortValue{N: int64(len(o.sample.Experiment)), Value: qd.Experiment.Estimate, Events: o.eEvents}
	m.Test = TestQuantileCI
	ev.Insufficient = ev.Insufficient || m.Provisional
	m.Effect = Effect{Absolute: qd.Difference, Relative: relative(qd.Difference, qd.Control.Estimate)}
	m.CI = Interval{Lower: ev.Lower, Upper: ev.Upper, LowerBounded: !ev.NoLowerBound, UpperBounded: !ev.NoUpperBound}
	if qd.Insufficient {
		m.Note = joinNote(m.Note, "a cohort has no latency sample")
	}
	if seq != nil && !m.Provisional {
		m.Note = joinNote(m.Note, fmt.Sprintf("interval at level %.2g (alpha spent over %d looks)", spent, seq.looks))
	}
	if o.cEvents > int64(len(o.sample.Control)) || o.eEvents > int64(len(o.sample.Experiment)) {
		m.Note = joinNote(m.Note, "values from a deterministic sample (seconds, then events within them)")
	}
	return ev, nil
}

// judgeThroughput compares events per second normalised by the planned
// split: given n events in both cohorts, the experiment's count is
// Binomial(n, share) when both cohorts get the same traffic per unit of
// share, so the test is an exact binomial test and the interval comes from
// the Wilson interval of the experiment's share.
func judgeThroughput(s *SLI, o *observation, js judgeSettings, seq *seqState, m *Metric) (stats.Evidence, error) {
	secs := js.dur.Seconds()
	share := js.share
	if !(share > 0 && share < 1) {
		share = 0.5
	}
	n := o.cn + o.en
	var cRate, eRate float64
	if secs > 0 {
		cRate = float64(o.cn) / secs / (1 - share)
		eRate = float64(o.en) / secs / share
	}
	m.Control = CohortValue{N: o.cn, Value: cRate}
	m.Experiment = CohortValue{N: o.en, Value: eRate}
	m.Effect = Effect{Absolute: eRate - cRate, Relative: relative(eRate-cRate, cRate)}
	ev := stats.Evidence{Baseline: cRate, Effect: eRate - cRate, PHarm: 1, Insufficient: o.cn == 0 || o.en == 0 || secs <= 0}
	m.Test = TestBinomial
	if ev.Insufficient {
		ev.Lower, ev.Upper = math.Min(0, ev.Effect), math.Max(0, ev.Effect)
		return ev, nil
	}
	// ratio R of normalised rates as a function of the experiment share p.
	ratio := func(p float64) (float64, bool) {
		if p >= 1 {
			return 0, false
		}
		return p / (1 - p) * (1 - share) / share, true
	}
	bounds := func(a float64) (lo, hi float64, bounded bool, err error) {
		wi, err := stats.Wilson(o.en, n, 1-2*a)
		if err != nil {
			return 0, 0, false, err
		}
		rl, _ := ratio(wi.Lower)
		ru, okU := ratio(wi.Upper)
		lo, hi = math.Min(cRate*(rl-1), ev.Effect), ev.Effect
		if okU {
			hi = math.Max(cRate*(ru-1), ev.Effect)
		}
		return lo, hi, okU, nil
	}
	lo, hi, okU, err := bounds(js.alpha)
	if err != nil {
		return ev, err
	}
	ev.Lower, ev.Upper, ev.NoUpperBound = lo, hi, !okU
	{
		// The interval at any level, for the tolerance test and the
		// multiplicity adjustment (live: see below).
		ev.Bounds = func(a float64) (float64, float64) {
			lo, hi, ok, err := bounds(a)
			if err != nil {
				return -math.MaxFloat64 / 4, math.MaxFloat64 / 4
			}
			if !ok {
				hi = math.MaxFloat64 / 4
			}
			return lo, hi
		}
	}
	lower := s.Tolerance.Direction == stats.HigherIsBetter // harm: experiment has fewer
	switch {
	case lower:
		ev.PHarm, err = stats.BinomialCDF(o.en, n, share)
	case o.en == 0:
		ev.PHarm = 1
	default:
		var c float64
		c, err = stats.BinomialCDF(o.en-1, n, share)
		ev.PHarm = 1 - c
	}
	if err != nil {
		return ev, err
	}
	if seq != nil {
		d := float64(o.en)/float64(n) - share
		if lower {
			d = -d
		}
		p := stats.MixtureP(d, share*(1-share)/float64(n), 0.1*share)
		if seq.minP == 0 {
			seq.minP = 1
		}
		seq.minP = math.Min(seq.minP, p)
		ev.PHarm = seq.minP
		// Live: the tolerance test needs both the anytime-valid mixture
		// p-value (harm > 0) and the Wilson interval beyond the allowance.
		wilsonOnly := stats.Evidence{Bounds: ev.Bounds}
		minP := seq.minP
		ev.PAbove = func(d float64) float64 { return math.Max(minP, wilsonOnly.PExceeds(stats.LowerIsBetter, d)) }
		ev.PBelow = func(d float64) float64 { return math.Max(minP, wilsonOnly.PExceeds(stats.HigherIsBetter, -d)) }
		m.Test = TestMSPRT
	}
	m.CI = Interval{Lower: ev.Lower, Upper: ev.Upper, LowerBounded: !ev.NoLowerBound, UpperBounded: !ev.NoUpperBound}
	return ev, nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
