package query

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// unpackUnitSums takes back each cohort's events and errors from the two
// packed sums analyze/sli_unit_sums.sql returns, for every split of a
// unit's counts between the cohorts up to the bound the reader allows
// (fewer than MaxPackedRows raw rows in the window, so below 2^31 each).
func TestUnpackUnitSumsRoundTrip(t *testing.T) {
	pack := func(rows []UnitRow) (packed, weighted uint64) {
		for _, r := range rows {
			x := uint64(r.Events)<<32 + uint64(r.Errors)
			packed += x
			if r.Cohort == telemetry.CohortExperiment {
				x <<= 1
			}
			weighted += x
		}
		return packed, weighted
	}
	const most = 1<<31 - 1
	cases := [][2][2]int64{ // control {events, errors}, experiment {events, errors}
		{{1, 0}, {0, 0}}, {{0, 0}, {1, 1}}, {{5, 2}, {3, 3}}, {{most, most}, {0, 0}}, {{0, 0}, {most, most}},
		{{most / 2, 0}, {most / 2, most / 2}}, {{1, 1}, {most - 1, 0}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		cn, xn := r.Int64N(most/2+1), r.Int64N(most/2+1)
		cases = append(cases, [2][2]int64{{cn, r.Int64N(cn + 1)}, {xn, r.Int64N(xn + 1)}})
	}
	for _, c := range cases {
		var rows []UnitRow
		// Split over several view rows, as a unit's buckets are.
		for i, cnt := range c {
			cohort := []telemetry.Cohort{telemetry.CohortControl, telemetry.CohortExperiment}[i]
			if cnt[0] == 0 {
				continue
			}
			e1 := cnt[1] / 2
			rows = append(rows, UnitRow{Cohort: cohort, Events: cnt[0] - cnt[0]/3, Errors: e1}, UnitRow{Cohort: cohort, Events: cnt[0] / 3, Errors: cnt[1] - e1})
		}
		var want []UnitRow
		if c[0][0] > 0 {
			want = append(want, UnitRow{Cohort: telemetry.CohortControl, Unit: 7, Events: c[0][0], Errors: c[0][1]})
		}
		if c[1][0] > 0 {
			want = append(want, UnitRow{Cohort: telemetry.CohortExperiment, Unit: 7, Events: c[1][0], Errors: c[1][1]})
		}
		p, w := pack(rows)
		assert.Equal(t, want, unpackUnitSums(nil, 7, p, w), "%v", c)
	}
}
