package analysis

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// The per-unit sums a monitor keeps look by look (settled buckets folded
// in, the open tail added on top) equal the sums computed once from each
// unit's totals over the whole window: units that come back in later
// buckets, events without a unit (each a unit of its own) and both
// cohorts.
func TestUnitAccEqualsWholeWindowSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var rows []query.UnitRow
	for b := uint32(0); b < 40; b++ {
		for i := 0; i < 30; i++ {
			c := telemetry.CohortControl
			u := uint64(rng.IntN(60))
			if u%4 == 0 {
				c = telemetry.CohortExperiment
			}
			n := int64(1 + rng.IntN(4))
			rows = append(rows, query.UnitRow{Bucket: 1000 + 10*b, Cohort: c, Unit: u, Events: n, Errors: int64(rng.IntN(int(n) + 1))})
		}
	}
	// The whole window at once: each unit's totals, then its terms.
	type key struct {
		c telemetry.Cohort
		u uint64
	}
	totals := map[key][2]int64{}
	want := map[telemetry.Cohort]query.UnitTally{}
	for _, r := range rows {
		if r.Unit == 0 {
			w := want[r.Cohort]
			for i := int64(0); i < r.Events; i++ {
				e := int64(0)
				if i < r.Errors {
					e = 1
				}
				w.Units++
				w.AddSquares(1, float64(e), float64(1-e), 1)
			}
			w.Events += r.Events
			w.Errors += r.Errors
			w.Good += r.Events - r.Errors
			want[r.Cohort] = w
			continue
		}
		k := key{r.Cohort, r.Unit}
		v := totals[k]
		totals[k] = [2]int64{v[0] + r.Events, v[1] + r.Errors}
	}
	for k, v := range totals {
		w := want[k.c]
		w.Units++
		w.Events += v[0]
		w.Errors += v[1]
		w.Good += v[0] - v[1]
		w.AddSquares(float64(v[0]), float64(v[1]), float64(v[0]-v[1]), 1)
		want[k.c] = w
	}
	// Look by look: buckets settle in steps, the rest is the open tail.
	acc := newUnitAcc(1000)
	var got map[telemetry.Cohort]query.UnitTally
	for _, until := range []uint32{1000, 1050, 1060, 1200, 1390} {
		var done, tail []query.UnitRow
		for _, r := range rows {
			switch {
			case r.Bucket < acc.until:
			case r.Bucket < until:
				done = append(done, r)
			default:
				tail = append(tail, r)
			}
		}
		acc.settle(done, until)
		got = acc.with(tail)
	}
	for _, c := range []telemetry.Cohort{telemetry.CohortControl, telemetry.CohortExperiment} {
		assert.Equal(t, want[c].Units, got[c].Units, "%s", c)
		assert.Equal(t, want[c].Events, got[c].Events, "%s", c)
		assert.Equal(t, want[c].Errors, got[c].Errors, "%s", c)
		assert.Equal(t, want[c].Good, got[c].Good, "%s", c)
		for _, p := range [][2]float64{{want[c].SumN2, got[c].SumN2}, {want[c].SumE2, got[c].SumE2}, {want[c].SumEN, got[c].SumEN}, {want[c].SumG2, got[c].SumG2}, {want[c].SumGN, got[c].SumGN}} {
			assert.InDelta(t, p[0], p[1], 1e-9, "%s", c)
		}
	}
}
