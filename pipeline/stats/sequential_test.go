package stats

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAlwaysValidPProvisionalAndMonotone(t *testing.T) {
	m, err := NewAlwaysValidP(MonitorConfig{})
	require.NoError(t, err)
	cfg := m.Config()
	assert.InDelta(t, DefaultMonitorAlpha, cfg.Alpha, 0)
	assert.InDelta(t, DefaultTauRelative, cfg.TauRelative, 0)

	tests := []struct {
		name           string
		x1, n1, x2, n2 int64
		provisional    bool
		maxPWorse      float64
		inconsistent   bool
	}{
		{"nothing yet", 0, 0, 0, 0, true, 1, false},
		{"errors but too few events", 0, 50, 3, 50, true, 1, false},
		{"events but too few errors", 0, 150, 3, 150, true, 1, false},
		{"enough data, weak signal", 2, 300, 6, 300, false, 1, false},
		{"no new errors", 2, 600, 6, 600, false, 1, false},
		{"strong signal", 5, 3000, 40, 3000, false, 1e-2, false},
		// The experiment stops erroring: no constant difference fits all
		// looks; the bounds follow the current data and the result is
		// flagged (contradicted: no pass).
		{"effect disappears", 60, 40000, 62, 40000, false, 1e-2, true},
	}
	prev := AlwaysValidResult{PValue: 1, PWorse: 1, PBetter: 1, Lower: -1, Upper: 1}
	for _, tt := range tests {
		r, err := m.Update(tt.x1, tt.n1, tt.x2, tt.n2)
		require.NoError(t, err, tt.name)
		requireFinite(t, r.ControlRate, r.ExperimentRate, r.Difference, r.PValue, r.PWorse, r.PBetter, r.Lower, r.Upper, r.Tau)
		assert.Equal(t, tt.provisional, r.Provisional, tt.name)
		if tt.provisional {
			assert.InDelta(t, 1.0, r.PWorse, 0, tt.name)
			assert.Equal(t, VerdictInsufficientData, mustDecide(t, r.Evidence()), tt.name)
		}
		assert.LessOrEqual(t, r.PWorse, tt.maxPWorse, tt.name)
		assert.Equal(t, tt.inconsistent, r.Inconsistent, tt.name)
		// Running p-values never increase; the confidence sequence only
		// shrinks.
		assert.LessOrEqual(t, r.PValue, prev.PValue, tt.name)
		assert.LessOrEqual(t, r.PWorse, prev.PWorse, tt.name)
		assert.LessOrEqual(t, r.PBetter, prev.PBetter, tt.name)
		assert.LessOrEqual(t, r.Lower, r.Upper, tt.name)
		if !tt.provisional {
			assert.LessOrEqual(t, r.Lower, r.Difference, tt.name)
			assert.GreaterOrEqual(t, r.Upper, r.Difference, tt.name)
		}
		prev = r
	}
	assert.Less(t, prev.PWorse, 1e-2, "40 vs 5 errors in 3000 events is strong evidence")
	assert.Less(t, prev.Lower, 0.0, "the current interval follows the current data, no old bound is kept")
	assert.True(t, prev.Evidence().Contradicted)
	assert.Equal(t, VerdictInconclusive, mustDecide(t, prev.Evidence()), "a contradicted interval never passes")
	assert.Equal(t, len(tests), prev.Looks)

	_, err = m.Update(1, 100, 0, 100)
	require.ErrorContains(t, err, "fell from")
	_, err = m.Update(5, 4, 0, 100)
	require.ErrorContains(t, err, "exceeds total")
}

func mustDecide(t *testing.T, e Evidence) Verdict {
	t.Helper()
	v, err := DecideMetric(e, Tolerance{Direction: LowerIsBetter}, DefaultMonitorAlpha)
	require.NoError(t, err)
	return v
}

func TestAlwaysValidPConfigErrors(t *testing.T) {
	for _, cfg := range []MonitorConfig{{Alpha: 1}, {Alpha: -0.1}, {TauRelative: -1}, {TauAbsolute: -1}} {
		_, err := NewAlwaysValidP(cfg)
		require.Error(t, err, "%+v", cfg)
		assert.Contains(t, err.Error(), "new always valid p")
	}
	m, err := NewAlwaysValidP(MonitorConfig{TauAbsolute: 0.005, MinEventsPerCohort: -1, MinTotalBad: -1})
	require.NoError(t, err)
	r, err := m.Update(0, 2, 0, 2)
	require.NoError(t, err)
	assert.False(t, r.Provisional)
	assert.InDelta(t, 0.005, r.Tau, 0)
	requireFinite(t, r.PValue, r.Lower, r.Upper)
}

func TestAlwaysValidPIdenticalCohortsNeverFail(t *testing.T) {
	m, err := NewAlwaysValidP(MonitorConfig{})
	require.NoError(t, err)
	for i := int64(1); i <= 500; i++ {
		r, err := m.Update(i, 100*i, i, 100*i)
		require.NoError(t, err)
		assert.InDelta(t, 1.0, r.PWorse, 0)
		assert.NotEqual(t, VerdictFail, mustDecide(t, r.Evidence()))
	}
}

func TestOneSidedRadiusInvertsTest(t *testing.T) {
	for _, c := range []struct{ v, t2, alpha float64 }{{1e-5, 4e-5, 0.05}, {1e-6, 1e-7, 0.01}, {2e-4, 1e-3, 0.2}} {
		w := oneSidedRadius(c.v, c.t2, c.alpha)
		assert.InDelta(t, -logOneSidedLR(w, c.v, c.t2), math.Log(c.alpha), 1e-8, "%+v", c)
	}
}

func TestSRMCheck(t *testing.T) {
	tests := []struct {
		name     string
		observed []int64
		shares   []float64
		mismatch bool
		noData   bool
		ratios   []float64
	}{
		{"balanced", []int64{5000, 5000}, []float64{0.5, 0.5}, false, false, []float64{1, 1}},
		{"55/45 at 10000", []int64{5500, 4500}, []float64{0.5, 0.5}, true, false, []float64{1.1, 0.9}},
		{"5/95 as planned", []int64{9500, 500}, []float64{0.95, 0.05}, false, false, []float64{1, 1}},
		{"shares normalised", []int64{9500, 500}, []float64{95, 5}, false, false, []float64{1, 1}},
		{"no data", []int64{0, 0}, []float64{0.5, 0.5}, false, true, []float64{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := SRMCheck(tt.observed, tt.shares, 0)
			require.NoError(t, err)
			assert.Equal(t, tt.mismatch, r.Mismatch)
			assert.Equal(t, tt.noData, r.NoData)
			assert.InDelta(t, DefaultSRMThreshold, r.Threshold, 0)
			requireFinite(t, r.ChiSquare, r.PValue)
			assert.InDeltaSlice(t, tt.ratios, r.Ratios, 1e-12)
		})
	}
	for _, bad := range []struct {
		obs    []int64
		shares []float64
		err    string
	}{
		{[]int64{1, 2}, []float64{1}, "1 expected shares for 2 cohorts"},
		{[]int64{1}, []float64{1}, "at least two cohorts"},
		{[]int64{1, 2}, []float64{0.5, 0}, "must be positive"},
		{[]int64{-1, 2}, []float64{0.5, 0.5}, "negative count"},
	} {
		_, err := SRMCheck(bad.obs, bad.shares, 0)
		require.ErrorContains(t, err, bad.err)
		assert.Contains(t, err.Error(), "srm check")
	}
}

func TestSequentialSRM(t *testing.T) {
	s, err := NewSequentialSRM([]float64{0.5, 0.5}, 0, 0)
	require.NoError(t, err)
	r, err := s.Update([]int64{0, 0})
	require.NoError(t, err)
	assert.InDelta(t, 1.0, r.PValue, 0)
	assert.False(t, r.Mismatch)

	// 55/45 split arriving 2000 events per minute is flagged within minutes.
	prevP := 1.0
	flaggedAt := -1
	for minute := 1; minute <= 10; minute++ {
		r, err = s.Update([]int64{int64(1100 * minute), int64(900 * minute)})
		require.NoError(t, err)
		assert.LessOrEqual(t, r.PValue, prevP)
		prevP = r.PValue
		if r.Mismatch && flaggedAt < 0 {
			flaggedAt = minute
		}
	}
	assert.Equal(t, 1, flaggedAt)
	assert.InDeltaSlice(t, []float64{1.1, 0.9}, r.Ratios, 1e-12)

	// Exactly as planned: the Bayes factor favours the null.
	s2, err := NewSequentialSRM([]float64{0.05, 0.95}, 0, 0)
	require.NoError(t, err)
	r, err = s2.Update([]int64{5000, 95000})
	require.NoError(t, err)
	assert.False(t, r.Mismatch)
	assert.Less(t, r.LogBayesFactor, 0.0)

	_, err = s2.Update([]int64{4000, 95000})
	require.ErrorContains(t, err, "fell from")
	_, err = s2.Update([]int64{1})
	require.ErrorContains(t, err, "1 counts for 2 cohorts")
	_, err = NewSequentialSRM([]float64{1, -1}, 0, 0)
	require.ErrorContains(t, err, "sequential srm")
}

func TestBinomialSampler(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		n int64
		p float64
	}{{83, 0.01}, {417, 0.02}, {1667, 0.055}, {100000, 0.3}, {50, 0.9}} {
		const reps = 4000
		var sum float64
		for range reps {
			k := binomial(r, c.n, c.p)
			require.True(t, k >= 0 && k <= c.n)
			sum += float64(k)
		}
		mean := float64(c.n) * c.p
		sd := math.Sqrt(mean * (1 - c.p) / reps)
		assert.InDelta(t, mean, sum/reps, 5*sd, "%+v", c)
	}
	assert.Equal(t, int64(0), binomial(r, 10, 0))
	assert.Equal(t, int64(10), binomial(r, 10, 1))
}

// TestSimulationAcceptance is the small seeded version of the acceptance
// study printed by cmd/statsharness (200 runs per scenario instead of
// 1000). Its thresholds have slack for 200 runs but can fail.
func TestSimulationAcceptance(t *testing.T) {
	const runs = 200
	base := SimConfig{Runs: runs, Seed: 42, ControlEventsPerMin: 1000, ExperimentEventsPerMin: 1000, ControlErrorRate: 0.01, ExperimentErrorRate: 0.01}

	aa, err := Simulate(base)
	require.NoError(t, err)
	assert.LessOrEqual(t, aa.FailShare(), 0.08, "A/A false-positive share")

	worse := base
	worse.ExperimentErrorRate = 0.02
	w, err := Simulate(worse)
	require.NoError(t, err)
	med, ok := w.MedianTimeToFail()
	require.True(t, ok)
	assert.LessOrEqual(t, med, 3*time.Minute)
	assert.GreaterOrEqual(t, w.FailedWithin(5*time.Minute), 0.80)

	fast := worse
	fast.ControlEventsPerMin, fast.ExperimentEventsPerMin = 5000, 5000
	f, err := Simulate(fast)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, f.FailedWithin(2*time.Minute), 0.80)

	srm := base
	srm.ExpectedExperimentShare, srm.ActualExperimentShare = 0.5, 0.55
	s, err := Simulate(srm)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, s.SRMShare(), 0.95)
	assert.Equal(t, runs, s.FinalChiSquareSRM)

	t.Logf("A/A fail %.1f%%; 1000/min median %v, by 5m %.1f%%; 5000/min by 2m %.1f%%; SRM %.1f%%",
		100*aa.FailShare(), med, 100*w.FailedWithin(5*time.Minute), 100*f.FailedWithin(2*time.Minute), 100*s.SRMShare())
}

func TestSimulateDeterministic(t *testing.T) {
	cfg := SimConfig{Runs: 40, Seed: 9, ControlEventsPerMin: 1000, ExperimentEventsPerMin: 1000,
		ControlErrorRate: 0.01, ExperimentErrorRate: 0.02, Workers: 1}
	a, err := Simulate(cfg)
	require.NoError(t, err)
	cfg.Workers = 4
	b, err := Simulate(cfg)
	require.NoError(t, err)
	assert.Equal(t, a.FailTimes, b.FailTimes)
	assert.Equal(t, 120, a.Ticks)

	for _, bad := range []SimConfig{
		{},
		{Runs: 1, ControlEventsPerMin: 1},
		{Runs: 1, ControlEventsPerMin: 1, ExperimentEventsPerMin: 1, ControlErrorRate: 2},
		{Runs: 1, ControlEventsPerMin: 1, ExperimentEventsPerMin: 1, ActualExperimentShare: 1},
		{Runs: 1, ControlEventsPerMin: 1, ExperimentEventsPerMin: 1, Tick: time.Hour},
	} {
		_, err := Simulate(bad)
		require.Error(t, err, "%+v", bad)
		assert.Contains(t, err.Error(), "simulate")
	}
}
