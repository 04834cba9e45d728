package stats

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnitCountsVariance(t *testing.T) {
	// One event per unit: the binomial variance (times K/(K-1)).
	ev := EventUnits(Counts{Bad: 30, Total: 1000})
	assert.InDelta(t, 0.03*0.97/1000*1000/999, ev.RatioVariance(), 1e-15)
	assert.InDelta(t, 1.0, ev.DesignEffect(), 1e-2)
	// Three users: (x, n) = (0, 1), (2, 2), (1, 3): R = 3/6.
	var u UnitCounts
	for _, xn := range [][2]float64{{0, 1}, {2, 2}, {1, 3}} {
		u = u.Add(UnitCounts{Units: 1, Bad: int64(xn[0]), Total: int64(xn[1]), SumTotalSq: xn[1] * xn[1], SumBadSq: xn[0] * xn[0], SumBadTotal: xn[0] * xn[1]})
	}
	// Σ (x - 0.5 n)² = 0.25 + 1 + 0.25 = 1.5; × 3/2 / 36.
	assert.InDelta(t, 1.5*1.5/36, u.RatioVariance(), 1e-15)
	// The complement (good events) has the same variance.
	assert.InDelta(t, u.RatioVariance(), u.Complement().RatioVariance(), 1e-15)
	assert.Equal(t, int64(3), u.Complement().Bad)
	require.NoError(t, u.validate())
	require.Error(t, UnitCounts{Units: 5, Total: 2}.validate())
}

// TestSmallCohortWithoutErrorsKeepsCoverage: at a 1/99 split the small
// cohort often has no errors yet; its own variance is then tiny, and the
// upper bound on the difference fell below the truth far more often than
// alpha. With the null-constrained term the one-sided miss rate of the
// upper bound at one look stays <= alpha (checked at 2,000 draws with a
// binomial margin).
func TestSmallCohortWithoutErrorsKeepsCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const runs = 2000
	misses := 0
	for range runs {
		// True rates 1% both; control 19,800 events, experiment 200.
		x1 := binomial(rng, 19800, 0.01)
		x2 := binomial(rng, 200, 0.01)
		m, err := NewAlwaysValidP(MonitorConfig{MinTotalBad: -1, MinEventsPerCohort: -1})
		require.NoError(t, err)
		r, err := m.Update(x1, 19800, x2, 200)
		require.NoError(t, err)
		if r.Evidence().Upper < 0 {
			misses++
		}
	}
	// One-sided at alpha; the mixture bound is conservative at one look,
	// so a miss rate above alpha/2 means the variance is too small.
	t.Logf("upper bound below the truth in %d of %d", misses, runs)
	assert.LessOrEqual(t, float64(misses)/runs, DefaultMonitorAlpha/2, "misses %d of %d", misses, runs)
}

func TestDecideHolmOnToleranceTests(t *testing.T) {
	// Four metrics each with an estimate just above its allowance: the
	// unadjusted interval excludes the allowance for all of them, Holm on
	// the tolerance tests keeps only the strongest.
	mk := func(d, se float64) Evidence {
		return Evidence{Baseline: 0.01, Effect: d, Lower: d - 1.645*se, Upper: d + 1.645*se, PHarm: 0.01,
			Bounds: func(a float64) (float64, float64) {
				z, _ := NormalQuantile(1 - a)
				return d - z*se, d + z*se
			}}
	}
	tol := Tolerance{Direction: LowerIsBetter, Absolute: 0.005}
	in := []MetricInput{
		{Name: "a", Evidence: mk(0.0080, 0.001), Tolerance: tol}, // z = 3: p 0.00135
		{Name: "b", Evidence: mk(0.0069, 0.001), Tolerance: tol}, // z = 1.9: p 0.0287
		{Name: "c", Evidence: mk(0.0068, 0.001), Tolerance: tol}, // z = 1.8
		{Name: "d", Evidence: mk(0.0067, 0.001), Tolerance: tol}, // z = 1.7
	}
	for _, m := range in {
		v, err := DecideMetric(m.Evidence, tol, 0.05)
		require.NoError(t, err)
		require.Equal(t, VerdictFail, v, "each alone fails unadjusted")
	}
	d, err := Decide(in, 0.05, AdjustHolm, false)
	require.NoError(t, err)
	assert.Equal(t, VerdictFail, d.Metrics[0].Verdict)
	assert.InDelta(t, NormalSF(3), d.Metrics[0].PExceeds, 1e-6, "p of H0: harm <= allowance, not of harm <= 0")
	assert.InDelta(t, 0.05/4, d.Metrics[0].Level, 1e-12)
	assert.Greater(t, d.Metrics[0].Lower, 0.005, "the fail's adjusted bound is beyond the allowance")
	for _, m := range d.Metrics[1:] {
		assert.Equal(t, VerdictInconclusive, m.Verdict, m.Name)
		assert.Greater(t, m.AdjustedP, 0.05, m.Name)
	}
	assert.InDelta(t, 0.05/3, d.Metrics[1].Level, 1e-12)
	assert.LessOrEqual(t, d.Metrics[1].Lower, 0.005, "adjusted bound and adjusted test agree")
	// Without Bounds/PAbove and a positive allowance there is no valid
	// tolerance test: never fail on PHarm of "harm > 0".
	e := in[1].Evidence
	e.Bounds = nil
	assert.InDelta(t, 1.0, e.PExceeds(LowerIsBetter, 0.005), 0)
	assert.InDelta(t, 0.01, e.PExceeds(LowerIsBetter, 0), 0)
}

func TestFamilyMonitorPassIsProvisionalFailIsFinal(t *testing.T) {
	fm, err := NewFamilyMonitor(0.05, AdjustHolm)
	require.NoError(t, err)
	tol := Tolerance{Direction: LowerIsBetter, Absolute: 0.002}
	mon, err := NewAlwaysValidP(MonitorConfig{})
	require.NoError(t, err)
	// 20,000 events per cohort per step at 1%; the experiment doubles from
	// step 4 on.
	var x1, x2, n int64
	var verdicts []Verdict
	for step := 1; step <= 12; step++ {
		n += 20000
		x1 += 200
		if step >= 4 {
			x2 += 400
		} else {
			x2 += 200
		}
		r, err := mon.Update(x1, n, x2, n)
		require.NoError(t, err)
		d, _, err := fm.Look([]MetricInput{{Name: "errors", Evidence: r.Evidence(), Tolerance: tol}}, false)
		require.NoError(t, err)
		verdicts = append(verdicts, d.Metrics[0].Verdict)
	}
	assert.Contains(t, verdicts[:3], VerdictPass, "passes before the fault: %v", verdicts)
	assert.Equal(t, VerdictFail, verdicts[len(verdicts)-1], "the provisional pass turns into a fail: %v", verdicts)
	ch := fm.Changes(0)
	require.NotEmpty(t, ch)
	last := ch[len(ch)-1]
	assert.Equal(t, VerdictFail, last.To)
	assert.Contains(t, last.Reason, "beyond the allowance")
	var sawPass bool
	for _, c := range ch {
		sawPass = sawPass || c.To == VerdictPass
	}
	assert.True(t, sawPass)
	// A fail stays a fail when the evidence weakens.
	d, _, err := fm.Look([]MetricInput{{Name: "errors", Evidence: Evidence{Effect: 0, Lower: -0.01, Upper: 0.001, PHarm: 1}, Tolerance: tol}}, false)
	require.NoError(t, err)
	assert.Equal(t, VerdictFail, d.Metrics[0].Verdict)
}

func TestQuantileEvidenceTailOnlyRegression(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := make([]float64, 10000)
	e := make([]float64, 10000)
	for i := range c {
		c[i] = 0.1 * math.Exp(0.5*rng.NormFloat64())
		e[i] = 0.1 * math.Exp(0.5*rng.NormFloat64())
		if rng.Float64() < 0.01 {
			e[i] += 2
		}
	}
	ev, qd, err := QuantileEvidence(c, e, 0.99, 0.05)
	require.NoError(t, err)
	assert.Greater(t, qd.Lower, 0.0)
	assert.Less(t, ev.PHarm, 0.05)
	d, err := Decide([]MetricInput{{Name: "p99", Evidence: ev, Tolerance: Tolerance{Direction: LowerIsBetter}}}, 0.05, AdjustHolm, false)
	require.NoError(t, err)
	assert.Equal(t, VerdictFail, d.Overall)
	// The median is unchanged: p50 does not fail.
	ev50, _, err := QuantileEvidence(c, e, 0.5, 0.05)
	require.NoError(t, err)
	d, err = Decide([]MetricInput{{Name: "p50", Evidence: ev50, Tolerance: Tolerance{Direction: LowerIsBetter, Absolute: 0.01}}}, 0.05, AdjustHolm, false)
	require.NoError(t, err)
	assert.NotEqual(t, VerdictFail, d.Overall)
	_ = time.Second
}

// TestGroupedUnitsMatchPerUnitVariance: compare tallies ratio SLIs over
// 256 unit groups (queries/schema/0016_unit_groups.up.sql) instead of
// units when an experiment has many. Every unit lies in exactly one
// group, so the cluster-robust variance over group totals estimates the
// same variance. On the same simulated traffic (geometric requests per
// user, correlated errors within a user, a 10/90 split) the grouped
// difference variance stays close to the per-unit one, and the 90%
// interval built from it covers the true difference as often.
func TestGroupedUnitsMatchPerUnitVariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const (
		runs   = 600
		users  = 8000
		groups = 256
	)
	add := func(u *UnitCounts, x, n float64) {
		u.Bad += int64(x)
		u.Total += int64(n)
		u.SumTotalSq += n * n
		u.SumBadSq += x * x
		u.SumBadTotal += x * n
	}
	var ratios []float64
	cover := [2]int{}
	for range runs {
		var unit, grouped [2]UnitCounts
		var gx, gn [2][groups]float64
		for u := range users {
			c := 0
			if rng.Float64() < 0.1 {
				c = 1
			}
			n := 1.0
			for rng.Float64() > 0.2 { // geometric, mean 5
				n++
			}
			p := 0.01 * rng.ExpFloat64() // a user's own error propensity
			x := float64(binomial(rng, int64(n), math.Min(p, 1)))
			unit[c].Units++
			add(&unit[c], x, n)
			g := uint64(u) * 0x9E3779B97F4A7C15 >> 56 // a hash of the user, 0..255
			gx[c][g] += x
			gn[c][g] += n
		}
		for c := range 2 {
			grouped[c].Units = unit[c].Units
			for g := range groups {
				if gn[c][g] > 0 {
					add(&grouped[c], gx[c][g], gn[c][g])
				}
			}
			require.Equal(t, unit[c].Counts(), grouped[c].Counts())
		}
		vu := DifferenceVariance(unit[0], unit[1])
		vg := DifferenceVariance(grouped[0], grouped[1])
		ratios = append(ratios, vg/vu)
		d := float64(unit[1].Bad)/float64(unit[1].Total) - float64(unit[0].Bad)/float64(unit[0].Total)
		for i, v := range []float64{vu, vg} {
			if math.Abs(d) <= 1.6449*math.Sqrt(v) { // true difference 0
				cover[i]++
			}
		}
	}
	sum, worst := 0.0, 0.0
	for _, r := range ratios {
		sum += r
		worst = math.Max(worst, math.Abs(math.Log(r)))
	}
	mean := sum / float64(len(ratios))
	t.Logf("grouped/per-unit variance: mean %.3f, worst factor %.3f; 90%% coverage per unit %d, grouped %d of %d",
		mean, math.Exp(worst), cover[0], cover[1], runs)
	assert.InDelta(t, 1, mean, 0.03, "the grouped variance estimates the same variance")
	assert.Less(t, math.Exp(worst), 1.4, "no run's grouped variance far off the per-unit one")
	assert.InDelta(t, float64(cover[0])/runs, float64(cover[1])/runs, 0.02, "the same coverage")
	assert.InDelta(t, 0.9, float64(cover[1])/runs, 0.04)
}
