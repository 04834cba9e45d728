package stats

import (
	"fmt"
	"math"
	"sort"
)

// Adjustment names a multiple-comparison adjustment of p-values.
type Adjustment string

const (
	// AdjustNone leaves p-values unchanged.
	AdjustNone Adjustment = "none"
	// AdjustHolm is Holm's step-down procedure (controls the family-wise
	// error rate under any dependence).
	AdjustHolm Adjustment = "holm"
	// AdjustBH is the Benjamini-Hochberg step-up procedure (controls the
	// false discovery rate under independence or positive dependence).
	AdjustBH Adjustment = "bh"
)

// Adjust applies the named adjustment. The result is in input order.
func Adjust(p []float64, method Adjustment) ([]float64, error) {
	switch method {
	case AdjustNone, "":
		if err := checkPValues(p); err != nil {
			return nil, fmt.Errorf("adjust p-values: %w", err)
		}
		return append([]float64(nil), p...), nil
	case AdjustHolm:
		return Holm(p)
	case AdjustBH:
		return BenjaminiHochberg(p)
	}
	return nil, fmt.Errorf("adjust p-values: unknown method %q", method)
}

func checkPValues(p []float64) error {
	for i, v := range p {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("p-value %d is %v, outside [0, 1]", i, v)
		}
	}
	return nil
}

// sortedOrder returns the indices of p in ascending order of p (stable).
func sortedOrder(p []float64) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	return idx
}

// Holm returns Holm step-down adjusted p-values:
// adj_(i) = max_{j<=i} min(1, (m-j+1) p_(j)) for ascending p_(j).
func Holm(p []float64) ([]float64, error) {
	if err := checkPValues(p); err != nil {
		return nil, fmt.Errorf("holm adjustment: %w", err)
	}
	m := len(p)
	out := make([]float64, m)
	running := 0.0
	for rank, i := range sortedOrder(p) {
		v := math.Min(1, float64(m-rank)*p[i])
		running = math.Max(running, v)
		out[i] = running
	}
	return out, nil
}

// BenjaminiHochberg returns Benjamini-Hochberg adjusted p-values (q-values):
// adj_(i) = min_{j>=i} min(1, m/j p_(j)) for ascending p_(j).
func BenjaminiHochberg(p []float64) ([]float64, error) {
	if err := checkPValues(p); err != nil {
		return nil, fmt.Errorf("benjamini-hochberg adjustment: %w", err)
	}
	m := len(p)
	out := make([]float64, m)
	order := sortedOrder(p)
	running := 1.0
	for rank := m - 1; rank >= 0; rank-- {
		i := order[rank]
		v := math.Min(1, float64(m)/float64(rank+1)*p[i])
		running = math.Min(running, v)
		out[i] = running
	}
	return out, nil
}
