package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecideMetric(t *testing.T) {
	lower := Tolerance{Direction: LowerIsBetter}
	higher := Tolerance{Direction: HigherIsBetter}
	tests := []struct {
		name string
		e    Evidence
		tol  Tolerance
		want Verdict
	}{
		{"insufficient wins over everything", Evidence{Effect: 1, Lower: 0.5, Upper: 2, PHarm: 0, Insufficient: true}, lower, VerdictInsufficientData},
		{"significant and bound above zero", Evidence{Effect: 0.01, Lower: 0.002, Upper: 0.02, PHarm: 0.01}, lower, VerdictFail},
		{"p exactly alpha fails", Evidence{Effect: 0.01, Lower: 0.002, Upper: 0.02, PHarm: 0.05}, lower, VerdictFail},
		{"bound above zero but p too large", Evidence{Effect: 0.01, Lower: 0.002, Upper: 0.02, PHarm: 0.051}, lower, VerdictInconclusive},
		{"p small but bound touches zero", Evidence{Effect: 0.01, Lower: 0, Upper: 0.02, PHarm: 0.001}, lower, VerdictInconclusive},
		{"upper bound below zero passes", Evidence{Effect: -0.01, Lower: -0.02, Upper: -0.001, PHarm: 1}, lower, VerdictPass},
		{"upper bound exactly at allowance passes", Evidence{Effect: 0, Lower: -0.01, Upper: 0.01, PHarm: 0.5}, Tolerance{Direction: LowerIsBetter, Absolute: 0.01}, VerdictPass},
		{"interval straddles zero", Evidence{Effect: 0, Lower: -0.01, Upper: 0.01, PHarm: 0.5}, lower, VerdictInconclusive},
		{"harm within absolute allowance", Evidence{Effect: 0.004, Lower: 0.002, Upper: 0.006, PHarm: 0.001}, Tolerance{Direction: LowerIsBetter, Absolute: 0.01}, VerdictPass},
		{"harm beyond absolute allowance", Evidence{Effect: 0.03, Lower: 0.02, Upper: 0.04, PHarm: 0.001}, Tolerance{Direction: LowerIsBetter, Absolute: 0.01}, VerdictFail},
		{"relative allowance of baseline", Evidence{Baseline: 0.01, Effect: 0.004, Lower: 0.003, Upper: 0.0045, PHarm: 0.001}, Tolerance{Direction: LowerIsBetter, Relative: 0.5}, VerdictPass},
		{"relative allowance exceeded", Evidence{Baseline: 0.01, Effect: 0.01, Lower: 0.006, Upper: 0.014, PHarm: 0.001}, Tolerance{Direction: LowerIsBetter, Relative: 0.5}, VerdictFail},
		{"larger of both allowances applies", Evidence{Baseline: 0.01, Effect: 0.01, Lower: 0.006, Upper: 0.014, PHarm: 0.001}, Tolerance{Direction: LowerIsBetter, Relative: 0.5, Absolute: 0.02}, VerdictPass},
		{"higher is better drop fails", Evidence{Effect: -0.05, Lower: -0.08, Upper: -0.02, PHarm: 0.001}, higher, VerdictFail},
		{"higher is better rise passes", Evidence{Effect: 0.05, Lower: 0.02, Upper: 0.08, PHarm: 1}, higher, VerdictPass},
		{"higher is better harm bound is the upper end", Evidence{Effect: -0.05, Lower: -0.08, Upper: 0.01, PHarm: 0.001}, higher, VerdictInconclusive},
		{"no lower bound never fails", Evidence{Effect: 0.05, Lower: 0.02, Upper: 0.08, NoLowerBound: true, PHarm: 0}, lower, VerdictInconclusive},
		{"no upper bound never passes", Evidence{Effect: -0.05, Lower: -0.08, Upper: -0.02, NoUpperBound: true, PHarm: 1}, lower, VerdictInconclusive},
		{"higher is better without lower bound never passes", Evidence{Effect: 0.05, Lower: 0.02, Upper: 0.08, NoLowerBound: true, PHarm: 1}, higher, VerdictInconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecideMetric(tt.e, tt.tol, 0.05)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecideMetricErrors(t *testing.T) {
	ok := Evidence{Lower: -1, Upper: 1, PHarm: 0.5}
	tests := []struct {
		name    string
		e       Evidence
		tol     Tolerance
		alpha   float64
		wantErr string
	}{
		{"nan effect", Evidence{Effect: math.NaN(), PHarm: 1}, Tolerance{Direction: LowerIsBetter}, 0.05, "not finite"},
		{"inf bound", Evidence{Upper: math.Inf(1), PHarm: 1}, Tolerance{Direction: LowerIsBetter}, 0.05, "not finite"},
		{"inverted interval", Evidence{Lower: 1, Upper: 0}, Tolerance{Direction: LowerIsBetter}, 0.05, "above upper"},
		{"unknown direction", ok, Tolerance{Direction: "sideways"}, 0.05, "unknown direction"},
		{"negative tolerance", ok, Tolerance{Direction: LowerIsBetter, Absolute: -1}, 0.05, "non-negative"},
		{"alpha zero", ok, Tolerance{Direction: LowerIsBetter}, 0, "alpha 0 outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecideMetric(tt.e, tt.tol, tt.alpha)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestOverall(t *testing.T) {
	tests := []struct {
		name string
		srm  bool
		in   []Verdict
		want Verdict
	}{
		{"srm overrides fail", true, []Verdict{VerdictFail}, VerdictUntrusted},
		{"srm overrides pass", true, []Verdict{VerdictPass}, VerdictUntrusted},
		{"no metrics", false, nil, VerdictInsufficientData},
		{"all pass", false, []Verdict{VerdictPass, VerdictPass}, VerdictPass},
		{"any fail", false, []Verdict{VerdictPass, VerdictInsufficientData, VerdictFail, VerdictInconclusive}, VerdictFail},
		{"insufficient before inconclusive", false, []Verdict{VerdictInconclusive, VerdictInsufficientData, VerdictPass}, VerdictInsufficientData},
		{"inconclusive", false, []Verdict{VerdictPass, VerdictInconclusive}, VerdictInconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Overall(tt.srm, tt.in))
		})
	}
}

func TestDecideAdjustsForMultipleMetrics(t *testing.T) {
	harm := func(p float64) Evidence { return Evidence{Effect: 0.01, Lower: 0.001, Upper: 0.02, PHarm: p} }
	lower := Tolerance{Direction: LowerIsBetter}
	metrics := []MetricInput{
		{Name: "errors", Evidence: harm(0.03), Tolerance: lower},
		{Name: "timeouts", Evidence: harm(0.04), Tolerance: lower},
		{Name: "not yet", Evidence: Evidence{PHarm: 0, Insufficient: true}, Tolerance: lower},
	}
	tests := []struct {
		adj      Adjustment
		want     Verdict
		wantAdjP []float64
	}{
		{AdjustNone, VerdictFail, []float64{0.03, 0.04, 1}},
		{AdjustHolm, VerdictInsufficientData, []float64{0.06, 0.06, 1}},
		{AdjustBH, VerdictFail, []float64{0.04, 0.04, 1}},
	}
	for _, tt := range tests {
		t.Run(string(tt.adj), func(t *testing.T) {
			d, err := Decide(metrics, 0.05, tt.adj, false)
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.Overall)
			require.Len(t, d.Metrics, 3)
			for i, m := range d.Metrics {
				assert.Equal(t, metrics[i].Name, m.Name)
				assert.InDelta(t, tt.wantAdjP[i], m.AdjustedP, 1e-12)
			}
			assert.Equal(t, VerdictInsufficientData, d.Metrics[2].Verdict)
		})
	}
	d, err := Decide(metrics, 0.05, AdjustNone, true)
	require.NoError(t, err)
	assert.Equal(t, VerdictUntrusted, d.Overall)
	_, err = Decide(metrics, 0.05, "bonferroni-ish", false)
	require.ErrorContains(t, err, "unknown method")
}

func TestAdjustEdgeCases(t *testing.T) {
	for _, m := range []Adjustment{AdjustNone, AdjustHolm, AdjustBH} {
		got, err := Adjust(nil, m)
		require.NoError(t, err)
		assert.Empty(t, got)
		_, err = Adjust([]float64{0.1, math.NaN()}, m)
		require.ErrorContains(t, err, "outside [0, 1]")
		_, err = Adjust([]float64{1.5}, m)
		require.Error(t, err)
	}
	h, err := Holm([]float64{0.01, 0.01, 0.01})
	require.NoError(t, err)
	assert.Equal(t, []float64{0.03, 0.03, 0.03}, h)
}

func TestSLO(t *testing.T) {
	tests := []struct {
		name              string
		good, bad         int64
		objective         float64
		wantGood, wantBad float64
		wantBudget        float64
		noData            bool
	}{
		{"no events", 0, 0, 0.999, 1, 0, 0, true},
		{"on budget", 999, 1, 0.999, 0.999, 0.001, 1, false},
		{"burning 10x", 990, 10, 0.999, 0.99, 0.01, 10, false},
		{"all bad", 0, 50, 0.99, 0, 1, 100, false},
		{"all good", 1000, 0, 0.9, 1, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := SLO(tt.good, tt.bad, tt.objective)
			require.NoError(t, err)
			assert.Equal(t, tt.noData, st.NoData)
			assert.InDelta(t, tt.wantGood, st.GoodRatio, 1e-12)
			assert.InDelta(t, tt.wantBad, st.BadRatio, 1e-12)
			assert.InDelta(t, tt.wantBudget, st.BudgetConsumed, 1e-9)
			assert.InDelta(t, tt.wantBudget, st.BurnRate, 1e-9)
			b, ok, err := ErrorBudgetConsumed(tt.bad, tt.good+tt.bad, tt.objective)
			require.NoError(t, err)
			assert.Equal(t, !tt.noData, ok)
			assert.InDelta(t, tt.wantBudget, b, 1e-9)
			br, ok, err := BurnRate(tt.bad, tt.good+tt.bad, tt.objective)
			require.NoError(t, err)
			assert.Equal(t, !tt.noData, ok)
			assert.InDelta(t, tt.wantBudget, br, 1e-9)
		})
	}
	_, err := SLO(1, 1, 1)
	require.ErrorContains(t, err, "objective 1 outside (0, 1)")
	_, err = SLO(-1, 1, 0.99)
	require.ErrorContains(t, err, "negative count")
	_, _, err = BurnRate(5, 4, 0.99)
	require.ErrorContains(t, err, "exceeds total")
}

func TestBurnRateStop(t *testing.T) {
	s := BurnRateStop{Objective: 0.999, MaxBurnRate: 14.4}
	tests := []struct {
		name        string
		long, short Counts
		want        bool
	}{
		{"both burning", Counts{200, 10000}, Counts{30, 1000}, true},
		{"short spike only", Counts{5, 10000}, Counts{30, 1000}, false},
		{"recovered", Counts{200, 10000}, Counts{0, 1000}, false},
		{"no data", Counts{0, 0}, Counts{0, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Tripped(tt.long, tt.short)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := BurnRateStop{Objective: 0.999}.Tripped(Counts{}, Counts{})
	require.ErrorContains(t, err, "max burn rate")
}
