package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lognormalSample(r *rand.Rand, n int, mu, sigma float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Round(math.Exp(mu + sigma*r.NormFloat64()))
	}
	return out
}

func TestMannWhitneyEdgeCases(t *testing.T) {
	tests := []struct {
		name         string
		control      []float64
		experiment   []float64
		method       TestMethod
		insufficient bool
		ties         bool
	}{
		{"both empty", nil, nil, MethodNone, true, false},
		{"control empty", nil, []float64{1, 2}, MethodNone, true, false},
		{"all tied", []float64{5, 5, 5}, []float64{5, 5}, MethodNone, false, true},
		{"single values", []float64{1}, []float64{2}, MethodExact, false, false},
		{"ties use normal approximation", []float64{1, 2, 2}, []float64{2, 3}, MethodAsymptotic, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := MannWhitneyU(tt.control, tt.experiment, MannWhitneyAuto)
			require.NoError(t, err)
			requireFinite(t, r.U, r.Z, r.PTwoSided, r.PGreater, r.PLess)
			assert.Equal(t, tt.method, r.Method)
			assert.Equal(t, tt.insufficient, r.Insufficient)
			assert.Equal(t, tt.ties, r.Ties)
			if tt.method == MethodNone {
				assert.InDelta(t, 1.0, r.PTwoSided, 0)
				assert.InDelta(t, 0.0, r.Z, 0)
			}
		})
	}
	_, err := MannWhitneyU([]float64{1, math.NaN()}, []float64{2}, MannWhitneyAuto)
	require.ErrorContains(t, err, "mann-whitney control value 1")
	_, err = MannWhitneyU([]float64{1, 2}, []float64{2}, MannWhitneyExact)
	require.ErrorContains(t, err, "needs no ties")
	_, err = MannWhitneyU([]float64{1}, []float64{2}, "magic")
	require.ErrorContains(t, err, "unknown method")
}

func TestMannWhitneyDetectsShiftOnlyWhenPresent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ctrl := lognormalSample(r, 2000, 4, 0.5)
	same := lognormalSample(r, 2000, 4, 0.5)
	slower := lognormalSample(r, 2000, 4.1, 0.5)

	a, err := MannWhitneyU(ctrl, same, MannWhitneyAuto)
	require.NoError(t, err)
	assert.Greater(t, a.PGreater, 0.01)
	b, err := MannWhitneyU(ctrl, slower, MannWhitneyAuto)
	require.NoError(t, err)
	assert.Less(t, b.PGreater, 1e-6)
	assert.Greater(t, b.Z, 4.0)
	assert.Greater(t, b.PLess, 0.99)
}

func TestExactMannWhitneyDistribution(t *testing.T) {
	// U for m=n=2 takes 0..4 with counts 1,1,2,1,1 over C(4,2)=6.
	d := mwuDistribution(2, 2)
	want := []float64{1, 1, 2, 1, 1}
	for u := range want {
		assert.InDelta(t, want[u]/6, d.pmf[u], 1e-15)
	}
	// The distribution is symmetric and sums to one for the largest size.
	d = mwuDistribution(MaxExactMannWhitney, MaxExactMannWhitney)
	var s float64
	for u, p := range d.pmf {
		s += p
		assert.InDelta(t, p, d.pmf[len(d.pmf)-1-u], 1e-15)
	}
	assert.InDelta(t, 1, s, 1e-12)
}

func TestQuantileDifference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ctrl := lognormalSample(r, 3000, 4, 0.5)
	same := lognormalSample(r, 3000, 4, 0.5)
	slower := lognormalSample(r, 3000, 4.3, 0.5)
	tol := Tolerance{Direction: LowerIsBetter, Relative: 0.1}
	for _, q := range []float64{0.5, 0.95, 0.99} {
		t.Run(fmt.Sprintf("p%g", q*100), func(t *testing.T) {
			d, err := CompareQuantile(ctrl, slower, q, 0.9)
			require.NoError(t, err)
			require.True(t, d.LowerBounded && d.UpperBounded)
			assert.Greater(t, d.Lower, 0.0)
			assert.LessOrEqual(t, d.Lower, d.Difference)
			assert.GreaterOrEqual(t, d.Upper, d.Difference)
			mw, err := MannWhitneyU(ctrl, slower, MannWhitneyAuto)
			require.NoError(t, err)
			v, err := DecideMetric(d.Evidence(mw.PGreater), tol, 0.05)
			require.NoError(t, err)
			assert.Equal(t, VerdictFail, v, "a 35%% slowdown exceeds a 10%% tolerance")

			d, err = CompareQuantile(ctrl, same, q, 0.9)
			require.NoError(t, err)
			assert.Less(t, d.Lower, 0.0)
			assert.Greater(t, d.Upper, 0.0)
			mw, err = MannWhitneyU(ctrl, same, MannWhitneyAuto)
			require.NoError(t, err)
			v, err = DecideMetric(d.Evidence(mw.PGreater), Tolerance{Direction: LowerIsBetter}, 0.05)
			require.NoError(t, err)
			assert.NotEqual(t, VerdictFail, v)
		})
	}
}

func TestQuantileSmallSamples(t *testing.T) {
	small := []float64{10, 12, 11, 13, 9, 14, 10, 12, 15, 11}
	d, err := CompareQuantile(small, small, 0.99, 0.9)
	require.NoError(t, err)
	assert.False(t, d.UpperBounded, "10 values cannot bound a p99 from above")
	assert.False(t, d.LowerBounded)
	requireFinite(t, d.Difference, d.Lower, d.Upper)
	e := d.Evidence(0.5)
	assert.True(t, e.NoUpperBound)
	v, err := DecideMetric(e, Tolerance{Direction: LowerIsBetter, Absolute: 1000}, 0.05)
	require.NoError(t, err)
	assert.Equal(t, VerdictInconclusive, v, "an unbounded interval must not pass")

	d, err = CompareQuantile(nil, small, 0.5, 0.9)
	require.NoError(t, err)
	assert.True(t, d.Insufficient)
	v, err = DecideMetric(d.Evidence(1), Tolerance{Direction: LowerIsBetter}, 0.05)
	require.NoError(t, err)
	assert.Equal(t, VerdictInsufficientData, v)

	_, err = CompareQuantile(small, []float64{math.Inf(1)}, 0.5, 0.9)
	require.ErrorContains(t, err, "compare quantile experiment")
	_, err = CompareQuantile(small, small, 1, 0.9)
	require.ErrorContains(t, err, "quantile 1 outside")

	got, ok := Quantile(nil, 0.5)
	assert.False(t, ok)
	assert.InDelta(t, 0.0, got, 0)
}

func TestQuantileCICoverage(t *testing.T) {
	// Distribution-free: coverage of the 0.9-quantile of a uniform(0,1)
	// must reach the nominal level (checked over seeded replicates).
	r := rand.New(rand.NewPCG(5, 6))
	const reps = 2000
	covered := 0
	for range reps {
		s := make([]float64, 50)
		for i := range s {
			s[i] = r.Float64()
		}
		slices.Sort(s)
		ci, err := QuantileCI(s, 0.9, 0.9)
		require.NoError(t, err)
		if ci.LowerBounded && ci.UpperBounded && ci.Lower <= 0.9 && 0.9 <= ci.Upper {
			covered++
		}
	}
	assert.GreaterOrEqual(t, float64(covered)/reps, 0.89)
}

func TestHashSampling(t *testing.T) {
	ids := make([]string, 20000)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt-%d", i)
	}
	idx, thr, err := SampleIDs(ids, 1000)
	require.NoError(t, err)
	assert.Len(t, idx, 1000)
	for _, i := range idx {
		assert.Less(t, HashID(ids[i]), thr)
	}
	again, thr2, err := SampleIDs(ids, 1000)
	require.NoError(t, err)
	assert.Equal(t, idx, again, "the same events are chosen every refresh")
	assert.Equal(t, thr, thr2)

	// More events later: the new sample is drawn below a lower threshold,
	// so every earlier id still in the sample was in the earlier one.
	more := append(append([]string(nil), ids...), make([]string, 0, 5000)...)
	for i := 20000; i < 25000; i++ {
		more = append(more, fmt.Sprintf("evt-%d", i))
	}
	idx2, thr3, err := SampleIDs(more, 1000)
	require.NoError(t, err)
	assert.LessOrEqual(t, thr3, thr)
	before := map[int]bool{}
	for _, i := range idx {
		before[i] = true
	}
	for _, i := range idx2 {
		if i < 20000 {
			assert.True(t, before[i], "id %d appeared only after the set grew", i)
		}
	}

	all, _, err := SampleIDs(ids[:10], 100)
	require.NoError(t, err)
	assert.Len(t, all, 10)
	none, _, err := SampleIDs(ids, 0)
	require.NoError(t, err)
	assert.Empty(t, none)
	_, _, err = SampleIDs(ids, -1)
	require.ErrorContains(t, err, "negative max size")

	kept := 0
	for _, id := range ids {
		if KeepByHash(id, 0.1) {
			kept++
			assert.True(t, KeepByHash(id, 0.2), "smaller fractions are subsets of larger ones")
		}
	}
	assert.InDelta(t, 2000, kept, 200, "sequential ids must still spread uniformly")
	assert.True(t, KeepByHash("x", 1))
	assert.False(t, KeepByHash("x", 0))
}

func TestCompareLatency(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	ctrl := lognormalSample(r, 5000, 4, 0.5)
	exp := lognormalSample(r, 5000, 4.2, 0.5)
	orig := slices.Clone(ctrl)
	c, err := CompareLatency(ctrl, exp, 0.9)
	require.NoError(t, err)
	assert.Equal(t, orig, ctrl, "inputs must not be reordered")
	assert.Equal(t, MethodAsymptotic, c.MannWhitney.Method)
	assert.Less(t, c.MannWhitney.PGreater, 1e-10)
	for i, d := range c.Quantiles {
		assert.InDelta(t, latencyQuantiles[i], d.Quantile, 0)
		assert.Greater(t, d.Difference, 0.0)
		v, err := DecideMetric(d.Evidence(c.MannWhitney.PGreater), Tolerance{Direction: LowerIsBetter}, 0.05)
		require.NoError(t, err)
		assert.Equal(t, VerdictFail, v, "p%g", d.Quantile*100)
	}
	_, err = CompareLatency([]float64{math.NaN()}, exp, 0.9)
	require.ErrorContains(t, err, "compare latency")
}

// TestQuantileEvidenceMemoSameAnswers holds QuantileEvidence's memo of the
// binomial CDF (binomialMemo) to giving what the CDF computed afresh
// gives: the interval at every level the tolerance test tries and the
// p-values, bit for bit, for cohorts of different sizes (the memo serves
// both) and for p50 to p99.
func TestQuantileEvidenceMemoSameAnswers(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, sizes := range [][2]int{{5000, 600}, {4913, 5087}, {300, 40}, {12, 7}} {
		control := lognormalSample(r, sizes[0], 3, 0.6)
		experiment := lognormalSample(r, sizes[1], 3.05, 0.6)
		cs, es := slices.Clone(control), slices.Clone(experiment)
		slices.Sort(cs)
		slices.Sort(es)
		for _, q := range []float64{0.5, 0.95, 0.99} {
			ev, d, err := QuantileEvidence(control, experiment, q, 0.05)
			require.NoError(t, err)
			want, err := compareSortedQuantile(cs, es, q, 0.9, nil)
			require.NoError(t, err)
			assert.Equal(t, want, d, "sizes %v q %v", sizes, q)
			if d.Insufficient {
				continue
			}
			// The reference: the same Evidence with Bounds computed
			// without the memo.
			ref := ev
			ref.Bounds = func(a float64) (float64, float64) {
				x, err := compareSortedQuantile(cs, es, q, 1-2*a, nil)
				require.NoError(t, err)
				lo, hi := math.Min(x.Lower, x.Difference), math.Max(x.Upper, x.Difference)
				if !x.LowerBounded {
					lo = -unboundedEnd
				}
				if !x.UpperBounded {
					hi = unboundedEnd
				}
				return lo, hi
			}
			for a := 1e-12; a < 0.5; a *= 1.7 {
				gl, gh := ev.Bounds(a)
				wl, wh := ref.Bounds(a)
				require.Equal(t, math.Float64bits(wl), math.Float64bits(gl), "sizes %v q %v level %v lower", sizes, q, a)
				require.Equal(t, math.Float64bits(wh), math.Float64bits(gh), "sizes %v q %v level %v upper", sizes, q, a)
			}
			for _, allow := range []float64{0, 0.5, 2, 5} {
				for _, dir := range []Direction{LowerIsBetter, HigherIsBetter} {
					assert.Equal(t, math.Float64bits(ref.PExceeds(dir, allow)), math.Float64bits(ev.PExceeds(dir, allow)),
						"sizes %v q %v allow %v dir %v", sizes, q, allow, dir)
				}
			}
			assert.Equal(t, math.Float64bits(ref.PExceeds(LowerIsBetter, 0)), math.Float64bits(ev.PHarm), "sizes %v q %v PHarm", sizes, q)
		}
	}
}
