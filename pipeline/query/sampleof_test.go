package query

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// TestSampleOfSortsEachCohort: SampleOf hands each cohort's durations
// sorted ascending (the quantile SLIs then sort them in a pass), and
// every event of a cohort is there once, in seconds; other cohorts drop.
func TestSampleOfSortsEachCohort(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	var evs []SampleEvent
	want := map[telemetry.Cohort][]float64{}
	for i := range 3000 {
		c := telemetry.Cohort(r.Intn(3)) // none, control, experiment
		d := uint64(r.ExpFloat64() * 1e8)
		evs = append(evs, SampleEvent{Cohort: c, TimeNs: uint64(i), DurationNs: d})
		want[c] = append(want[c], float64(d)/1e9)
	}
	got := SampleOf(evs)
	for _, tc := range []struct {
		name string
		got  []float64
		want []float64
	}{
		{"control", got.Control, want[telemetry.CohortControl]},
		{"experiment", got.Experiment, want[telemetry.CohortExperiment]},
	} {
		if !slices.IsSorted(tc.got) {
			t.Errorf("%s: not sorted", tc.name)
		}
		w := slices.Clone(tc.want)
		slices.Sort(w)
		if !slices.Equal(tc.got, w) {
			t.Errorf("%s: %d durations, want the %d given", tc.name, len(tc.got), len(w))
		}
	}
	if empty := SampleOf(nil); empty.Control != nil || empty.Experiment != nil {
		t.Errorf("empty sample: %+v, want no durations", empty)
	}
}
