package stats

import (
	"fmt"
	"math"
)

// DefaultSRMThreshold is the p-value below which a sample-ratio mismatch is
// declared by the one-look chi-square test. 0.001 is the common industry
// choice. Re-running a fixed-horizon test on every refresh inflates its
// false-alarm rate (each look spends up to 0.001; looks are strongly
// correlated, so the total stays far below looks*0.001, but it is not
// bounded by 0.001). For live monitoring use SequentialSRM, whose
// always-valid p-value bounds the false-alarm rate over all refreshes;
// the simulation harness reports both rates.
const DefaultSRMThreshold = 0.001

// SRMResult is a chi-square goodness-of-fit test of observed cohort sizes
// against the expected traffic split.
type SRMResult struct {
	// ChiSquare is Σ (observed - expected)² / expected.
	ChiSquare float64
	// DF is the degrees of freedom (cohorts - 1).
	DF int
	// PValue is the chi-square survival probability of ChiSquare.
	PValue float64
	// ObservedShares are the observed fractions of the total per cohort
	// (0 when the total is 0).
	ObservedShares []float64
	// ExpectedShares are the normalised expected fractions.
	ExpectedShares []float64
	// Ratios are ObservedShares/ExpectedShares per cohort (1 when the total
	// is 0): 1.1 means the cohort got 10% more traffic than planned.
	Ratios []float64
	// Mismatch is true when PValue < Threshold.
	Mismatch bool
	// Threshold is the p-value threshold used.
	Threshold float64
	// NoData is true when the total count is zero; PValue is then 1.
	NoData bool
}

// normaliseShares checks and normalises an expected split.
func normaliseShares(expected []float64, cohorts int) ([]float64, error) {
	if len(expected) != cohorts {
		return nil, fmt.Errorf("%d expected shares for %d cohorts", len(expected), cohorts)
	}
	if cohorts < 2 {
		return nil, fmt.Errorf("need at least two cohorts, got %d", cohorts)
	}
	var sum float64
	for i, s := range expected {
		if !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("expected share %d is %v, must be positive and finite", i, s)
		}
		sum += s
	}
	out := make([]float64, cohorts)
	for i, s := range expected {
		out[i] = s / sum
	}
	return out, nil
}

// SRMCheck runs the chi-square goodness-of-fit test of observed cohort
// counts against expected shares (normalised to sum to 1, e.g. {0.95,
// 0.05}). threshold <= 0 selects DefaultSRMThreshold. The p-value uses the
// regularized upper incomplete gamma function: p = Q(df/2, χ²/2).
func SRMCheck(observed []int64, expectedShares []float64, threshold float64) (SRMResult, error) {
	shares, err := normaliseShares(expectedShares, len(observed))
	if err != nil {
		return SRMResult{}, fmt.Errorf("srm check: %w", err)
	}
	if threshold <= 0 {
		threshold = DefaultSRMThreshold
	}
	if threshold >= 1 {
		return SRMResult{}, fmt.Errorf("srm check: threshold %v must be below 1", threshold)
	}
	var total int64
	for i, o := range observed {
		if o < 0 {
			return SRMResult{}, fmt.Errorf("srm check: negative count %d for cohort %d", o, i)
		}
		total += o
	}
	k := len(observed)
	res := SRMResult{
		DF:             k - 1,
		PValue:         1,
		ObservedShares: make([]float64, k),
		ExpectedShares: shares,
		Ratios:         make([]float64, k),
		Threshold:      threshold,
	}
	if total == 0 {
		res.NoData = true
		for i := range res.Ratios {
			res.Ratios[i] = 1
		}
		return res, nil
	}
	ft := float64(total)
	for i, o := range observed {
		e := ft * shares[i]
		d := float64(o) - e
		res.ChiSquare += d * d / e
		res.ObservedShares[i] = float64(o) / ft
		res.Ratios[i] = res.ObservedShares[i] / shares[i]
	}
	p, err := ChiSquareSF(res.ChiSquare, res.DF)
	if err != nil {
		return SRMResult{}, fmt.Errorf("srm check: %w", err)
	}
	res.PValue = p
	res.Mismatch = p < threshold
	return res, nil
}

// DefaultSRMConcentration is the Dirichlet prior concentration used by
// SequentialSRM when none is given. Larger values concentrate the
// alternative closer to the expected split (more power for small
// deviations after many events, less for gross ones early).
const DefaultSRMConcentration = 100

// SequentialSRM is an anytime-valid sample-ratio-mismatch test: the
// Dirichlet-multinomial mixture Bayes factor of Lindon & Malek (2020,
// "Anytime-valid inference for multinomial count data"). Under the
// expected split the Bayes factor is a non-negative martingale in the
// event stream, so the running p-value min(1/BF) may be checked after
// every refresh while the false-alarm probability over the whole
// experiment stays below Alpha. Use one value per experiment, fed with
// cumulative counts; it is not safe for concurrent use.
type SequentialSRM struct {
	shares []float64
	prior  []float64
	conc   float64
	alpha  float64
	last   []int64
	p      float64
}

// SequentialSRMResult is the state after one update.
type SequentialSRMResult struct {
	// LogBayesFactor is the log mixture Bayes factor against the expected
	// split (0 with no data).
	LogBayesFactor float64
	// PValue is the always-valid p-value, non-increasing across updates.
	PValue float64
	// Mismatch is true once PValue <= Alpha; it stays true.
	Mismatch bool
	// Ratios are observed/expected shares per cohort (1 with no data).
	Ratios []float64
}

// NewSequentialSRM returns a sequential SRM test for the expected shares.
// alpha <= 0 selects DefaultSRMThreshold; concentration <= 0 selects
// DefaultSRMConcentration (the prior is Dirichlet(concentration*shares)).
func NewSequentialSRM(expectedShares []float64, alpha, concentration float64) (*SequentialSRM, error) {
	shares, err := normaliseShares(expectedShares, len(expectedShares))
	if err != nil {
		return nil, fmt.Errorf("sequential srm: %w", err)
	}
	if alpha <= 0 {
		alpha = DefaultSRMThreshold
	}
	if alpha >= 1 {
		return nil, fmt.Errorf("sequential srm: alpha %v must be below 1", alpha)
	}
	if concentration <= 0 {
		concentration = DefaultSRMConcentration
	}
	if math.IsInf(concentration, 0) || math.IsNaN(concentration) {
		return nil, fmt.Errorf("sequential srm: concentration %v must be finite", concentration)
	}
	prior := make([]float64, len(shares))
	for i, s := range shares {
		prior[i] = concentration * s
	}
	return &SequentialSRM{shares: shares, prior: prior, conc: concentration, alpha: alpha, p: 1}, nil
}

// Update takes the cumulative counts per cohort (same order as the shares;
// counts must never decrease) and returns the current result.
func (s *SequentialSRM) Update(counts []int64) (SequentialSRMResult, error) {
	if len(counts) != len(s.shares) {
		return SequentialSRMResult{}, fmt.Errorf("sequential srm update: %d counts for %d cohorts", len(counts), len(s.shares))
	}
	for i, c := range counts {
		if c < 0 {
			return SequentialSRMResult{}, fmt.Errorf("sequential srm update: negative count %d for cohort %d", c, i)
		}
		if s.last != nil && c < s.last[i] {
			return SequentialSRMResult{}, fmt.Errorf("sequential srm update: count for cohort %d fell from %d to %d", i, s.last[i], c)
		}
	}
	s.last = append(s.last[:0], counts...)
	var n int64
	for _, c := range counts {
		n += c
	}
	res := SequentialSRMResult{Ratios: make([]float64, len(counts))}
	if n == 0 {
		for i := range res.Ratios {
			res.Ratios[i] = 1
		}
		res.PValue = s.p
		res.Mismatch = s.p <= s.alpha
		return res, nil
	}
	// log BF = log Γ(A) - log Γ(A+n) + Σ [log Γ(α_i + x_i) - log Γ(α_i) - x_i log p_i]
	lbf := lgamma(s.conc) - lgamma(s.conc+float64(n))
	for i, c := range counts {
		x := float64(c)
		lbf += lgamma(s.prior[i]+x) - lgamma(s.prior[i]) - x*math.Log(s.shares[i])
		res.Ratios[i] = x / float64(n) / s.shares[i]
	}
	res.LogBayesFactor = finiteOr(lbf, 0)
	if p := math.Exp(-res.LogBayesFactor); p < s.p {
		s.p = p
	}
	res.PValue = clamp01(s.p)
	res.Mismatch = s.p <= s.alpha
	return res, nil
}
