package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func requireFinite(t *testing.T, vals ...float64) {
	t.Helper()
	for i, v := range vals {
		require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "value %d is %v", i, v)
	}
}

func requireFiniteComparison(t *testing.T, c ProportionComparison) {
	t.Helper()
	requireFinite(t, c.ControlRate, c.ExperimentRate, c.Difference,
		c.ControlInterval.Lower, c.ControlInterval.Upper,
		c.ExperimentInterval.Lower, c.ExperimentInterval.Upper,
		c.DifferenceInterval.Lower, c.DifferenceInterval.Upper,
		c.Fisher.PTwoSided, c.Fisher.PGreater, c.Fisher.PLess)
	if c.RelativeChange != nil {
		requireFinite(t, *c.RelativeChange)
	}
	require.LessOrEqual(t, c.DifferenceInterval.Lower, c.DifferenceInterval.Upper)
}

func TestCompareProportionsZeroControl(t *testing.T) {
	tests := []struct {
		name        string
		control     Counts
		experiment  Counts
		wantGreater float64 // exact one-sided Fisher p (from SciPy)
		significant bool    // at alpha 0.05 one-sided
		want        Verdict
	}{
		{"three errors not enough", Counts{0, 1000}, Counts{3, 1000}, 0.12481240620310154, false, VerdictInconclusive},
		{"five errors borderline", Counts{0, 1000}, Counts{5, 1000}, 0.0310937892581744, true, VerdictFail},
		{"eight errors", Counts{0, 1000}, Counts{8, 1000}, 0.0038517404255419474, true, VerdictFail},
		// The Newcombe interval excludes 0 here but the exact test does not
		// reject: both must agree before a fail is declared.
		{"tiny cohorts", Counts{0, 50}, Counts{4, 50}, 0.058731646360512334, false, VerdictInconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CompareProportions(tt.control, tt.experiment, 0.9)
			require.NoError(t, err)
			requireFiniteComparison(t, c)
			assert.Nil(t, c.RelativeChange, "ratio against a zero control must be absent, not Inf")
			assert.Equal(t, MethodExact, c.Fisher.Method)
			assert.InDelta(t, tt.wantGreater, c.Fisher.PGreater, 1e-9)
			assert.InDelta(t, 1, c.Fisher.PLess, 1e-12)
			assert.Equal(t, tt.significant, c.Fisher.PGreater <= 0.05)
			assert.InDelta(t, 0.0, c.ControlInterval.Lower, 0)
			assert.Greater(t, c.ControlInterval.Upper, 0.0, "zero observed errors still leave an upper bound above zero")
			v, err := DecideMetric(c.Evidence(LowerIsBetter), Tolerance{Direction: LowerIsBetter}, 0.05)
			require.NoError(t, err)
			assert.Equal(t, tt.want, v)
		})
	}
}

func TestCompareProportionsEdgeCases(t *testing.T) {
	tests := []struct {
		name         string
		control      Counts
		experiment   Counts
		insufficient bool
		relative     *float64
	}{
		{"both empty", Counts{0, 0}, Counts{0, 0}, true, nil},
		{"control empty", Counts{0, 0}, Counts{3, 10}, true, nil},
		{"experiment empty", Counts{2, 10}, Counts{0, 0}, true, nil},
		{"no errors anywhere", Counts{0, 100}, Counts{0, 100}, false, nil},
		{"all errors", Counts{5, 5}, Counts{7, 7}, false, ptr(0.0)},
		{"doubling", Counts{10, 1000}, Counts{20, 1000}, false, ptr(1.0)},
		{"one event each", Counts{1, 1}, Counts{0, 1}, false, ptr(-1.0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CompareProportions(tt.control, tt.experiment, 0.95)
			require.NoError(t, err)
			requireFiniteComparison(t, c)
			assert.Equal(t, tt.insufficient, c.Insufficient)
			if tt.relative == nil {
				assert.Nil(t, c.RelativeChange)
			} else {
				require.NotNil(t, c.RelativeChange)
				assert.InDelta(t, *tt.relative, *c.RelativeChange, 1e-12)
			}
			if tt.insufficient {
				assert.True(t, c.DifferenceInterval.Uninformative)
				assert.InDelta(t, 1.0, c.Fisher.PTwoSided, 0)
				v, err := DecideMetric(c.Evidence(LowerIsBetter), Tolerance{Direction: LowerIsBetter}, 0.05)
				require.NoError(t, err)
				assert.Equal(t, VerdictInsufficientData, v)
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }

func TestCompareProportionsErrors(t *testing.T) {
	tests := []struct {
		name       string
		control    Counts
		experiment Counts
		confidence float64
		wantErr    string
	}{
		{"bad above total", Counts{5, 4}, Counts{0, 1}, 0.95, "bad count 5 exceeds total 4"},
		{"negative", Counts{0, 1}, Counts{-1, 1}, 0.95, "negative count"},
		{"confidence one", Counts{0, 1}, Counts{0, 1}, 1, "confidence 1 outside (0, 1)"},
		{"confidence nan", Counts{0, 1}, Counts{0, 1}, math.NaN(), "outside (0, 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompareProportions(tt.control, tt.experiment, tt.confidence)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Contains(t, err.Error(), "compare proportions")
		})
	}
}

// Every small table gives finite results and sane p-values.
func TestProportionsAlwaysFinite(t *testing.T) {
	for n1 := int64(0); n1 <= 6; n1++ {
		for x1 := int64(0); x1 <= n1; x1++ {
			for n2 := int64(0); n2 <= 6; n2++ {
				for x2 := int64(0); x2 <= n2; x2++ {
					c, err := CompareProportions(Counts{x1, n1}, Counts{x2, n2}, 0.95)
					require.NoError(t, err)
					requireFiniteComparison(t, c)
					f := c.Fisher
					for _, p := range []float64{f.PTwoSided, f.PGreater, f.PLess} {
						require.True(t, p >= 0 && p <= 1, "p=%v for %d/%d vs %d/%d", p, x1, n1, x2, n2)
					}
					// The one-sided p-values of a discrete test overlap at the
					// observed table, so they sum to at least 1.
					require.GreaterOrEqual(t, f.PGreater+f.PLess, 1-1e-12)
					require.GreaterOrEqual(t, f.PTwoSided, math.Min(f.PGreater, f.PLess)-1e-12)
				}
			}
		}
	}
}

func TestIdenticalCohortsNeverFail(t *testing.T) {
	for _, c := range []Counts{{0, 10}, {1, 10}, {10, 1000}, {0, 100000}, {500, 50000}, {9, 10}, {1000, 1000}} {
		for _, tol := range []Tolerance{
			{Direction: LowerIsBetter},
			{Direction: HigherIsBetter},
			{Direction: LowerIsBetter, Absolute: 0.01},
		} {
			r, err := CompareProportions(c, c, 0.9)
			require.NoError(t, err)
			assert.InDelta(t, 1, r.Fisher.PTwoSided, 1e-9, "%+v", c)
			v, err := DecideMetric(r.Evidence(tol.Direction), tol, 0.05)
			require.NoError(t, err)
			assert.NotEqual(t, VerdictFail, v, "%+v %+v", c, tol)
		}
	}
}

func TestBigEffectsFail(t *testing.T) {
	tests := []struct {
		name       string
		control    Counts
		experiment Counts
		tol        Tolerance
		want       Verdict
	}{
		{"error rate x10", Counts{10, 10000}, Counts{100, 10000}, Tolerance{Direction: LowerIsBetter}, VerdictFail},
		{"error rate x10 within 2pp allowance", Counts{10, 10000}, Counts{100, 10000}, Tolerance{Direction: LowerIsBetter, Absolute: 0.02}, VerdictPass},
		{"success ratio drop", Counts{9990, 10000}, Counts{9800, 10000}, Tolerance{Direction: HigherIsBetter}, VerdictFail},
		{"improvement is not a failure", Counts{100, 10000}, Counts{10, 10000}, Tolerance{Direction: LowerIsBetter}, VerdictPass},
		{"zero control, many experiment errors", Counts{0, 2000}, Counts{40, 2000}, Tolerance{Direction: LowerIsBetter, Relative: 0.5}, VerdictFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CompareProportions(tt.control, tt.experiment, 0.9)
			require.NoError(t, err)
			v, err := DecideMetric(r.Evidence(tt.tol.Direction), tt.tol, 0.05)
			require.NoError(t, err)
			assert.Equal(t, tt.want, v)
		})
	}
}

func TestFisherScoreFallbackIsConsistent(t *testing.T) {
	// Just above the exact limit the score test agrees with the trend of the
	// exact test just below it.
	below, err := FisherExact(Counts{49000, 200000}, Counts{50000, 200000})
	require.NoError(t, err)
	above, err := FisherExact(Counts{60000, 200000}, Counts{61200, 200000})
	require.NoError(t, err)
	assert.Equal(t, MethodExact, below.Method)
	assert.Equal(t, MethodScore, above.Method)
	assert.Less(t, below.PGreater, 1e-3)
	assert.Less(t, above.PGreater, 1e-3)
}

// fisherAllTables is FisherExact's exact branch as it summed before the
// tables that underflow were left out: every table of the support, with
// lchoose per table. TestFisherExactSameAsEveryTable holds FisherExact to it.
func fisherAllTables(control, experiment Counts) FisherResult {
	n1, n2 := control.Total, experiment.Total
	nAll := n1 + n2
	m := control.Bad + experiment.Bad
	lo, hi := max(0, m-n1), min(m, n2)
	logpmf := func(k int64) float64 {
		return lchoose(float64(n2), float64(k)) + lchoose(float64(n1), float64(m-k))
	}
	mode := min(max(int64(float64(m+1)*float64(n2+1)/float64(nAll+2)), lo), hi)
	lmax := logpmf(mode)
	x := experiment.Bad
	cut := logpmf(x) + math.Log1p(tieTolerance)
	var total, greater, less, two float64
	for k := lo; k <= hi; k++ {
		l := logpmf(k)
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
	return FisherResult{PTwoSided: clamp01(two / total), PGreater: clamp01(greater / total), PLess: clamp01(less / total), Method: MethodExact}
}

// TestFisherExactSameAsEveryTable: FisherExact, which sums only the tables
// whose weight does not underflow, gives what the sum over every table of
// the support gives, bit for bit: the blast radius's shapes (hundreds of
// thousands of events, thousands of errors, the observed count near and
// far from the mode), small tables, and rates near 0 and 1.
func TestFisherExactSameAsEveryTable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tables := [][4]int64{{1, 10, 0, 10}, {0, 5, 5, 5}, {3, 3, 0, 7}, {20, 1000, 40, 1000}, {15000, 1500000, 15400, 1490000},
		{2, 200000, 300, 200000}, {199990, 200000, 199000, 200000}, {7000, 700000, 9000, 700000}}
	for range 200 {
		n1, n2 := 1+r.Int64N(2_000_000), 1+r.Int64N(2_000_000)
		if r.IntN(3) == 0 {
			n1, n2 = 1+r.Int64N(200), 1+r.Int64N(200)
		}
		p := math.Pow(10, -4*r.Float64())
		b1 := min(n1, int64(float64(n1)*p*(0.5+r.Float64())))
		b2 := min(n2, int64(float64(n2)*p*(0.5+r.Float64()*2)))
		tables = append(tables, [4]int64{b1, n1, b2, n2})
	}
	exact := 0
	for _, tb := range tables {
		c, e := Counts{Bad: tb[0], Total: tb[1]}, Counts{Bad: tb[2], Total: tb[3]}
		got, err := FisherExact(c, e)
		require.NoError(t, err)
		if got.Method != MethodExact {
			continue
		}
		exact++
		want := fisherAllTables(c, e)
		require.Equal(t, math.Float64bits(want.PTwoSided), math.Float64bits(got.PTwoSided), "table %v two-sided %v vs %v", tb, got.PTwoSided, want.PTwoSided)
		require.Equal(t, math.Float64bits(want.PGreater), math.Float64bits(got.PGreater), "table %v greater", tb)
		require.Equal(t, math.Float64bits(want.PLess), math.Float64bits(got.PLess), "table %v less", tb)
	}
	require.Greater(t, exact, 100)
}
