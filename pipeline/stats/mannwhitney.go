package stats

import (
	"fmt"
	"math"
	"sort"
)

// MaxExactMannWhitney is the largest cohort size for which MannWhitneyU
// uses the exact null distribution of U (both cohorts must be at most this
// size and the pooled sample must have no ties).
const MaxExactMannWhitney = 20

// MannWhitneyMethod selects how the Mann-Whitney p-values are computed.
type MannWhitneyMethod string

const (
	// MannWhitneyAuto uses the exact distribution when both cohorts have at
	// most MaxExactMannWhitney values and there are no ties, otherwise the
	// normal approximation.
	MannWhitneyAuto MannWhitneyMethod = "auto"
	// MannWhitneyAsymptotic always uses the normal approximation with tie
	// correction and continuity correction.
	MannWhitneyAsymptotic MannWhitneyMethod = "asymptotic"
	// MannWhitneyExact always uses the exact distribution; it is an error
	// with ties or cohorts above MaxExactMannWhitney.
	MannWhitneyExact MannWhitneyMethod = "exact"
)

// MannWhitneyResult is the Mann-Whitney U (Wilcoxon rank-sum) test of
// experiment vs control.
type MannWhitneyResult struct {
	// U is the experiment's U statistic: the number of (experiment,
	// control) pairs where the experiment value is larger, ties counting
	// one half. Its null mean is NExperiment*NControl/2.
	U float64
	// Z is the standardised statistic (U - mean)/sd with tie correction and
	// without continuity correction; positive means the experiment tends
	// to be larger. 0 when the variance is zero.
	Z float64
	// PTwoSided is the two-sided p-value.
	PTwoSided float64
	// PGreater is the one-sided p-value for "experiment values are larger"
	// (slower, for latency).
	PGreater float64
	// PLess is the one-sided p-value for "experiment values are smaller".
	PLess float64
	// Method is MethodExact, MethodAsymptotic, or MethodNone when a cohort
	// is empty or all values are tied (then all p-values are 1).
	Method TestMethod
	// NControl is the control sample size.
	NControl int
	// NExperiment is the experiment sample size.
	NExperiment int
	// Ties is true when the pooled sample has tied values.
	Ties bool
	// Insufficient is true when a cohort is empty.
	Insufficient bool
}

// MannWhitneyU runs the Mann-Whitney U test. The asymptotic method uses
// the normal approximation with the tie-corrected variance
// n1 n2/12 ((n+1) - Σ(t³-t)/(n(n-1))) and a continuity correction of 1/2,
// matching scipy.stats.mannwhitneyu(method="asymptotic",
// use_continuity=True); the exact method matches method="exact". Values
// must be finite.
func MannWhitneyU(control, experiment []float64, method MannWhitneyMethod) (MannWhitneyResult, error) {
	for i, v := range control {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return MannWhitneyResult{}, fmt.Errorf("mann-whitney control value %d: %w", i, errNonFinite)
		}
	}
	for i, v := range experiment {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return MannWhitneyResult{}, fmt.Errorf("mann-whitney experiment value %d: %w", i, errNonFinite)
		}
	}
	switch method {
	case MannWhitneyAuto, MannWhitneyAsymptotic, MannWhitneyExact:
	case "":
		method = MannWhitneyAuto
	default:
		return MannWhitneyResult{}, fmt.Errorf("mann-whitney: unknown method %q", method)
	}
	nc, ne := len(control), len(experiment)
	res := MannWhitneyResult{NControl: nc, NExperiment: ne, PTwoSided: 1, PGreater: 1, PLess: 1, Method: MethodNone}
	if nc == 0 || ne == 0 {
		res.Insufficient = true
		res.U = float64(nc*ne) / 2
		return res, nil
	}

	// Rank the pooled sample with midranks for ties.
	type obs struct {
		v   float64
		exp bool
	}
	pooled := make([]obs, 0, nc+ne)
	for _, v := range control {
		pooled = append(pooled, obs{v: v})
	}
	for _, v := range experiment {
		pooled = append(pooled, obs{v: v, exp: true})
	}
	sort.Slice(pooled, func(a, b int) bool { return pooled[a].v < pooled[b].v })
	n := nc + ne
	var rankSumExp, tieTerm float64
	for i := 0; i < n; {
		j := i + 1
		for j < n && pooled[j].v == pooled[i].v {
			j++
		}
		t := float64(j - i)
		mid := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if pooled[k].exp {
				rankSumExp += mid
			}
		}
		if t > 1 {
			res.Ties = true
			tieTerm += t*t*t - t
		}
		i = j
	}
	fe, fc, fn := float64(ne), float64(nc), float64(n)
	u1 := rankSumExp - fe*(fe+1)/2
	u2 := fe*fc - u1
	res.U = u1
	mean := fe * fc / 2
	variance := fe * fc / 12 * ((fn + 1) - tieTerm/(fn*(fn-1)))
	if variance <= 0 {
		// All values tied: no information.
		return res, nil
	}
	sd := math.Sqrt(variance)
	res.Z = (u1 - mean) / sd

	exactOK := !res.Ties && nc <= MaxExactMannWhitney && ne <= MaxExactMannWhitney
	if method == MannWhitneyExact && !exactOK {
		return MannWhitneyResult{}, fmt.Errorf("mann-whitney exact: needs no ties and at most %d values per cohort", MaxExactMannWhitney)
	}
	if method == MannWhitneyExact || (method == MannWhitneyAuto && exactOK) {
		dist := mwuDistribution(ne, nc)
		res.PGreater = dist.sf(int(math.Round(u1)))
		res.PLess = dist.sf(int(math.Round(u2)))
		res.PTwoSided = clamp01(2 * dist.sf(int(math.Round(math.Max(u1, u2)))))
		res.Method = MethodExact
		return res, nil
	}
	res.PGreater = NormalSF((u1 - mean - 0.5) / sd)
	res.PLess = NormalSF((u2 - mean - 0.5) / sd)
	res.PTwoSided = clamp01(2 * NormalSF((math.Max(u1, u2)-mean-0.5)/sd))
	res.Method = MethodAsymptotic
	return res, nil
}

// mwuDist is the exact null distribution of U for sample sizes m and n.
type mwuDist struct {
	pmf []float64
}

// sf returns P(U >= u).
func (d mwuDist) sf(u int) float64 {
	if u <= 0 {
		return 1
	}
	var s float64
	for k := u; k < len(d.pmf); k++ {
		s += d.pmf[k]
	}
	return clamp01(s)
}

// mwuDistribution computes the null distribution of U by the recursion
// f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u) over counts (exact in float64
// for m, n <= 20 since C(40, 20) < 2^53).
func mwuDistribution(m, n int) mwuDist {
	maxU := m * n
	// prev[j][u] holds counts for (i-1, j); cur for (i, j).
	prev := make([][]float64, n+1)
	for j := range prev {
		prev[j] = make([]float64, maxU+1)
		prev[j][0] = 1 // i = 0: U = 0 with one arrangement
	}
	for i := 1; i <= m; i++ {
		cur := make([][]float64, n+1)
		for j := range cur {
			cur[j] = make([]float64, maxU+1)
		}
		cur[0][0] = 1
		for j := 1; j <= n; j++ {
			for u := 0; u <= i*j; u++ {
				v := cur[j-1][u]
				if u >= j {
					v += prev[j][u-j]
				}
				cur[j][u] = v
			}
		}
		prev = cur
	}
	counts := prev[n]
	var total float64
	for _, c := range counts {
		total += c
	}
	pmf := make([]float64, maxU+1)
	for u, c := range counts {
		pmf[u] = c / total
	}
	return mwuDist{pmf: pmf}
}
