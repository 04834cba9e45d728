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
	// Latency: the sample (shared by SLIs with the same filter) and the
	// cohorts' event counts in the filter.
	sample           *latencySample
	cEvents, eEvents int64
	// note is added to the metric.
	note string
}

// latencySample is one filter's sample with its rank test, computed once
// for all quantiles of that filter.
type latencySample struct {
	Sample
	mw *stats.MannWhitneyResult
}

func (l *latencySample) mannWhitney() (stats.MannWhitneyResult, error) {
	if l.mw == nil {
		mw, err := stats.MannWhitneyU(l.Control, l.Experiment, stats.MannWhitneyAuto)
		if err != nil {
			return mw, err
		}
		l.mw = &mw
	}
	return *l.mw, nil
}

// seqState is the anytime-valid state of one metric across live looks.
type seqState struct {
	avp  *stats.AlwaysValidP
	minP float64
	last [4]int64
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
	if seq == nil {
		pc, err := stats.CompareProportions(c, e, 1-2*js.alpha)
		if err != nil {
			return stats.Evidence{}, err
		}
		ev := pc.Evidence(dir)
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
	cur := [4]int64{o.cx, o.cn, o.ex, o.en}
	for i := range cur {
		cur[i] = max(cur[i], seq.last[i])
	}
	cur[0], cur[2] = min(cur[0], cur[1]), min(cur[2], cur[3])
	seq.last = cur
	r, err := seq.avp.Update(cur[0], cur[1], cur[2], cur[3])
	if err != nil {
		return stats.Evidence{}, err
	}
	ev := r.Evidence()
	if dir == stats.HigherIsBetter {
		ev.PHarm = r.PBetter
	}
	m.CI = Interval{Lower: ev.Lower, Upper: ev.Upper, LowerBounded: !r.Provisional, UpperBounded: !r.Provisional}
	m.Test = TestMSPRT
	m.Provisional = r.Provisional
	if r.Provisional {
		cfg := seq.avp.Config()
		m.Note = joinNote(m.Note, fmt.Sprintf("provisional: needs %d events per cohort and %d bad events in all", cfg.MinEventsPerCohort, cfg.MinTotalBad))
	}
	if r.Inconsistent {
		m.Note = joinNote(m.Note, "the effect changed during the run (confidence sequence emptied)")
	}
	return ev, nil
}

func judgeLatency(s *SLI, o *observation, js judgeSettings, seq *seqState, m *Metric) (stats.Evidence, error) {
	level := 1 - 2*js.alpha
	qd, err := stats.CompareQuantile(o.sample.Control, o.sample.Experiment, s.Quantile, level)
	if err != nil {
		return stats.Evidence{}, err
	}
	mw, err := o.sample.mannWhitney()
	if err != nil {
		return stats.Evidence{}, err
	}
	m.Control = CohortValue{N: int64(len(o.sample.Control)), Value: qd.Control.Estimate, Events: o.cEvents}
	m.Experiment = CohortValue{N: int64(len(o.sample.Experiment)), Value: qd.Experiment.Estimate, Events: o.eEvents}
	pHarm := mw.PGreater
	if s.Tolerance.Direction == stats.HigherIsBetter {
		pHarm = mw.PLess
	}
	m.Test = TestMannWhitney
	if seq != nil {
		// Anytime-valid version of the rank test: the probability index
		// θ̂ = U/(n1 n2) - 1/2 is approximately N(θ, v) with the null
		// variance (n1+n2+1)/(12 n1 n2); mix over θ with sd 0.05.
		n1, n2 := float64(mw.NControl), float64(mw.NExperiment)
		p := 1.0
		if n1 > 0 && n2 > 0 && mw.Method != stats.MethodNone {
			theta := mw.U/(n1*n2) - 0.5
			if s.Tolerance.Direction == stats.HigherIsBetter {
				theta = -theta
			}
			p = stats.MixtureP(theta, (n1+n2+1)/(12*n1*n2), 0.05)
		}
		if seq.minP == 0 {
			seq.minP = 1
		}
		provisional := len(o.sample.Control) < js.minSample || len(o.sample.Experiment) < js.minSample
		if !provisional {
			seq.minP = math.Min(seq.minP, p)
		}
		pHarm = seq.minP
		m.Test = TestMSPRT
		m.Provisional = provisional
		if provisional {
			m.Note = joinNote(m.Note, fmt.Sprintf("provisional: needs a sample of %d per cohort", js.minSample))
		}
	}
	ev := qd.Evidence(pHarm)
	ev.Insufficient = ev.Insufficient || m.Provisional
	m.Effect = Effect{Absolute: qd.Difference, Relative: relative(qd.Difference, qd.Control.Estimate)}
	m.CI = Interval{Lower: ev.Lower, Upper: ev.Upper, LowerBounded: !ev.NoLowerBound, UpperBounded: !ev.NoUpperBound}
	if qd.Insufficient {
		m.Note = joinNote(m.Note, "a cohort has no latency sample")
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
	wi, err := stats.Wilson(o.en, n, 1-2*js.alpha)
	if err != nil {
		return ev, err
	}
	rl, _ := ratio(wi.Lower)
	ru, okU := ratio(wi.Upper)
	ev.Lower = math.Min(cRate*(rl-1), ev.Effect)
	ev.Upper = ev.Effect
	if okU {
		ev.Upper = math.Max(cRate*(ru-1), ev.Effect)
	} else {
		ev.NoUpperBound = true
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
