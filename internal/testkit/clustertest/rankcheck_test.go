package clustertest_test

import (
	"math"
	"sort"
	"testing"
)

// A t-digest's error is bounded in rank, not in value: ClickHouse documents
// quantileTDigest's maximum error as 1 % (of the ranks), and its estimate
// interpolates between the means of two adjacent centroids. In the tail of
// a bucket of a few hundred values the neighbouring order statistics can be
// 15 % apart, so two digests of the same values (one built on a single
// server, one merged from two shards' states in another batching) may
// differ by that much and both be right. A quantile is therefore checked
// against the exact values it summarises: the estimate must lie among the
// order statistics whose rank is within tdigestRankSlack of p*n.

// tdigestRankSlack is the rank error allowed for a t-digest quantile of n
// values: the documented 1 % of n, plus two values for the interpolation
// between adjacent centroids and the rank convention (p*n vs p*(n-1)).
func tdigestRankSlack(n int) float64 { return 0.01*float64(n) + 2 }

// quantileRankError says how far, in ranks, v is from being the p-quantile
// of sorted (ascending): 0 when some rank that v can hold (between the
// count of values below it and the count at or below it) is p*n, else the
// distance to the nearest such rank. Values are compared to 1e-3 plus a
// float32's precision, as the queries round quantiles to 3 decimals and
// answer Float32.
func quantileRankError(sorted []float64, p, v float64) float64 {
	eps := 1e-3 + math.Abs(v)*1e-6
	below := sort.SearchFloat64s(sorted, v-eps)
	atOrBelow := sort.Search(len(sorted), func(i int) bool { return sorted[i] > v+eps })
	want := p * float64(len(sorted))
	switch {
	case want < float64(below):
		return float64(below) - want
	case want > float64(atOrBelow):
		return want - float64(atOrBelow)
	}
	return 0
}

func TestQuantileRankError(t *testing.T) {
	// 1..1000: the 0.99-quantile is about 990; 10 % apart in the tail
	// holds ranks nowhere near.
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	for _, c := range []struct {
		p, v, want float64
	}{
		{0.99, 990, 0},
		{0.99, 990.5, 0}, // between two values: rank 990
		{0.99, 985, 5},   // 985 values at or below: 5 ranks short
		{0.99, 1000, 9},  // the maximum: 999 below
		{0.5, 500, 0},
		{0.99, 891, 99},  // 10 % lower in value: 99 ranks off
		{0.99, 2000, 10}, // beyond the maximum: all 1000 below
	} {
		got := quantileRankError(xs, c.p, c.v)
		if math.Abs(got-c.want) > 1e-9 {
			t.Errorf("quantileRankError(p=%v, v=%v) = %v, want %v", c.p, c.v, got, c.want)
		}
	}
	if s := tdigestRankSlack(1000); s != 12 {
		t.Errorf("tdigestRankSlack(1000) = %v, want 12", s)
	}
	// Ties: every value equal, any p holds.
	same := []float64{5, 5, 5, 5}
	if got := quantileRankError(same, 0.99, 5); got != 0 {
		t.Errorf("ties: got %v, want 0", got)
	}
}
