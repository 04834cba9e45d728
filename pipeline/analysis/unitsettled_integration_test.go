//go:build integration

package analysis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// The unit-level tallies of a settled window are computed once and kept
// (unit_settled, 0025), and a kept entry is used only while it still
// holds: a later read answers what a database that never kept anything
// answers, after a new event in the window (in the units' hash slice or
// not), after a duplicate, read ahead of the bucket rows or not, in the
// whole hash space or a slice. An entry whose window rows or slice rows
// differ from the database's is not used (each check alone catches its
// case: the tampered entries below), one whose totals match is (the read
// after the first gives what the entry says, here a tampered count).
func TestSettledUnitsKeptWhileTheyHold(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const exp = "kept-exp"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	// The checkout spans of tallyEvents without their traces: no trace is
	// decided, so the tallies may be kept.
	var events []telemetry.Event
	for _, e := range tallyEvents(exp, start) {
		if e.ExperimentID == exp {
			e.TraceID, e.SpanID = "", ""
			events = append(events, e)
		}
	}
	c := chtest.Open(t)
	load(ctx, t, c, events)
	rd := query.New(c)
	sli := query.SLIFilter{}
	w := analysis.Window{Since: start.Add(25 * time.Second), Until: start.Add(9*time.Minute + 35*time.Second)}
	kept := func() int {
		var n uint64
		require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.unit_settled", c.DB)).Scan(&n))
		return int(n)
	}
	// fresh is the answer of a database holding the same events that has
	// kept nothing.
	fresh := func(shift uint, loaded ...[]telemetry.Event) map[telemetry.Cohort]query.UnitTally {
		ref := chtest.Open(t)
		for _, evs := range loaded {
			load(ctx, t, ref, evs)
		}
		got, err := query.New(ref).SLIUnitGroups(ctx, exp, w, sli, nil, shift)
		require.NoError(t, err)
		return got
	}
	read := func(shift uint, dirty []uint32) map[telemetry.Cohort]query.UnitTally {
		got, err := rd.SLIUnitGroups(ctx, exp, w, sli, dirty, shift)
		require.NoError(t, err)
		ahead, aheadShift, err := rd.SLIUnitGroupsAhead(ctx, exp, w, sli, func(int64) uint { return shift })
		require.NoError(t, err)
		require.Equal(t, shift, aheadShift)
		if len(dirty) == 0 {
			assert.Equal(t, got, ahead, "read ahead of the bucket rows")
		}
		return got
	}

	want := fresh(0, events)
	require.Equal(t, 0, kept())
	assert.Equal(t, want, read(0, nil), "computed")
	require.Equal(t, 1, kept(), "kept once: the read ahead used it")
	assert.Equal(t, want, read(0, nil), "from the kept entry")
	require.Equal(t, 1, kept())

	// A newer entry with the same row totals and a different count is
	// used; one whose window rows or slice rows differ is not.
	var windowRows, sliceRows uint64
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT window_rows, slice_rows FROM %s.unit_settled", c.DB)).Scan(&windowRows, &sliceRows))
	tamper := func(windowRows, sliceRows uint64) {
		require.NoError(t, c.Conn.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.unit_settled (experiment_id, since, until, unit_shift, window_rows, slice_rows,
			control_units, experiment_units, cohorts, grps, events, errors, computed_ns)
			SELECT experiment_id, since, until, unit_shift, %d, %d, control_units + 1, experiment_units, cohorts, grps, events, errors, %d
			FROM %s.unit_settled ORDER BY computed_ns LIMIT 1`, c.DB, windowRows, sliceRows, time.Now().UnixNano(), c.DB)))
	}
	tamper(windowRows, sliceRows)
	got := read(0, nil)
	assert.Equal(t, want[telemetry.CohortControl].SampledUnits+1, got[telemetry.CohortControl].SampledUnits, "the kept entry is what is read")
	tamper(windowRows+1, sliceRows)
	assert.Equal(t, want, read(0, nil), "window rows differ: not used")
	tamper(windowRows, sliceRows+1)
	assert.Equal(t, want, read(0, nil), "slice rows differ: not used")

	// New events in the window: a new unit, and an event of a unit already
	// seen (user-1, in the window); then duplicates of a few.
	more := []telemetry.Event{events[100], events[101]}
	more[0].ID, more[0].SubjectID = "new-unit-event", "user-new"
	more[1].ID = "new-event-of-user"
	load(ctx, t, c, more)
	want = fresh(0, events, more)
	assert.Equal(t, want, read(0, nil), "after new events")
	assert.Equal(t, want, read(0, nil), "after new events, kept")
	half := fresh(1, events, more)
	assert.Equal(t, half, read(1, nil), "a slice")
	assert.Equal(t, half, read(1, nil), "a slice, kept")
	// The whole space's entry again, now older than the slice's (the
	// entries of both are read, the newest's slice rows first): taken
	// from its entry, nothing computed or kept anew.
	n := kept()
	assert.Equal(t, want, read(0, nil), "the whole space after a slice, kept")
	assert.Equal(t, n, kept(), "taken from the older entry of its slice")
	assert.Equal(t, half, read(1, nil), "the slice again, kept")
	assert.Equal(t, n, kept())
	load(ctx, t, c, events[200:230])
	rows, err := (&analysis.Store{C: c}).Buckets(ctx, exp, w.Since, w.Until, false)
	require.NoError(t, err)
	dirty := analysis.DirtyBuckets(rows)
	require.NotEmpty(t, dirty)
	assert.Equal(t, want, read(0, dirty), "with duplicates")
	assert.Equal(t, half, read(1, dirty), "with duplicates, a slice")
}
