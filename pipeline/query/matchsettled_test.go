package query

import (
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each tally row gets the cached counts of its own key and no other, the
// keys in the reads' order or not: random sets of keys (experiment and
// untagged, buckets, cohorts, services and operations with shared
// prefixes), the cache holding some of the tally's keys and keys the tally
// does not have, checked against a map.
func TestMatchSettledPairsEveryKey(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	key := func() bucketKey {
		return bucketKey{exp: pick("", "exp", "exp-2"), bucket: uint32(1_700_000_000 + 10*r.IntN(40)),
			cohort: pick("control", "experiment", "none"), service: pick("a", "ab", "b", "checkout"), operation: pick("GET /", "GET /a", "POST /pay", "")}
	}
	for round := 0; round < 300; round++ {
		keys := map[bucketKey]bool{}
		for i := r.IntN(200); i > 0; i-- {
			keys[key()] = true
		}
		var tally []keyedTally
		var settled []keyedSettled
		want := map[bucketKey]settledRow{}
		for k := range keys {
			if r.IntN(4) > 0 {
				tally = append(tally, keyedTally{k, uint64(r.IntN(9))})
			}
			if r.IntN(3) > 0 {
				v := settledRow{events: uint64(r.IntN(1000)), errors: uint64(r.IntN(9)), rowsAt: uint64(r.IntN(9))}
				settled = append(settled, keyedSettled{k, v})
				want[k] = v
			}
		}
		ordered := round%3 != 0
		if ordered {
			sort.Slice(tally, func(i, j int) bool { return compareKeys(&tally[i].k, &tally[j].k) < 0 })
			sort.Slice(settled, func(i, j int) bool { return compareKeys(&settled[i].k, &settled[j].k) < 0 })
		}
		got := matchSettled(tally, settled)
		require.Len(t, got, len(tally))
		for i, tr := range tally {
			v, ok := want[tr.k]
			if !ok {
				assert.Nil(t, got[i], "round %d (ordered %v): %v has no cached counts", round, ordered, tr.k)
				continue
			}
			if assert.NotNil(t, got[i], "round %d (ordered %v): %v", round, ordered, tr.k) {
				assert.Equal(t, v, *got[i], "round %d (ordered %v): %v", round, ordered, tr.k)
			}
		}
	}
}

// The key order is the reads' ORDER BY: bytewise strings, so a prefix
// sorts first, and the bucket before cohort, service and operation.
func TestCompareKeysIsTheReadsOrder(t *testing.T) {
	a := bucketKey{exp: "exp", bucket: 10, cohort: "control", service: "a", operation: "x"}
	for _, b := range []bucketKey{
		{exp: "exp-2", bucket: 0},
		{exp: "exp", bucket: 20, cohort: "a"},
		{exp: "exp", bucket: 10, cohort: "experiment"},
		{exp: "exp", bucket: 10, cohort: "control", service: "ab"},
		{exp: "exp", bucket: 10, cohort: "control", service: "a", operation: "xy"},
	} {
		assert.Negative(t, compareKeys(&a, &b), "%v before %v", a, b)
		assert.Positive(t, compareKeys(&b, &a), "%v after %v", b, a)
	}
	assert.Zero(t, compareKeys(&a, &a))
	assert.Negative(t, compareKeys(&bucketKey{exp: ""}, &bucketKey{exp: "exp"}), "the untagged traffic first")
}
