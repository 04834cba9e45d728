package clustertest_test

import (
	"math"
	"sort"
	"testing"
)

// A t-digest's error is bounded in rank, not in value. In the tail of a
// bucket of a few hundred values the neighbouring order statistics can be
// 15 % apart, so two digests of the same values (one built on a single
// server, one merged from two shards' states in another batching) may
// differ by that much and both be right. A quantile is therefore checked
// against the exact values it summarises: the estimate must lie among the
// order statistics whose rank is within tdigestRankSlack of p*n.

// tdigestEpsilon is ClickHouse's t-digest parameter (QuantileTDigest.h:
// Params.epsilon, "error in the range quantile 0.5, 1 %"), the same in
// 18.16 and current releases.
const tdigestEpsilon = 0.01

// tdigestRankSlack is the rank error allowed for a t-digest p-quantile of n
// values. ClickHouse compresses a digest so that no centroid near quantile
// p outweighs W = 4 n p (1-p) epsilon (at least one value), and answers a
// quantile by interpolating between the means of the two centroids around
// p*n: with centroids of contiguous values that is at most 1.5 W ranks
// off. Centroids merged from different states' digests need not hold
// contiguous values, which can move a mean by up to another 1.5 W; two
// values more cover the rank convention (p*n vs p*(n-1)) and Float32.
// For 875 values: 28 ranks at p50 (3.2 %), 5 at p99.
func tdigestRankSlack(n int, p float64) float64 {
	w := max(1, 4*float64(n)*p*(1-p)*tdigestEpsilon)
	return 3*w + 2
}

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
	for _, c := range []struct {
		n       int
		p, want float64
	}{
		{1000, 0.5, 32}, // W = 10
		{1000, 0.99, 5}, // W = 0.396: one value
		{100, 0.5, 5},   // W = 1
	} {
		if s := tdigestRankSlack(c.n, c.p); math.Abs(s-c.want) > 1e-9 {
			t.Errorf("tdigestRankSlack(%d, %v) = %v, want %v", c.n, c.p, s, c.want)
		}
	}
	// Ties: every value equal, any p holds.
	same := []float64{5, 5, 5, 5}
	if got := quantileRankError(same, 0.99, 5); got != 0 {
		t.Errorf("ties: got %v, want 0", got)
	}
}
