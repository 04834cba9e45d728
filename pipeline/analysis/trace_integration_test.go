//go:build integration

package analysis_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/stats"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// traceEvents are n requests of 100 users, each a tagged checkout span and
// a payment span of the same trace: the odd ones tagged by their trace at
// ingest, the even ones untagged (resolved by their trace in ClickHouse).
func traceEvents(exp string, start time.Time, n int) []telemetry.Event {
	var events []telemetry.Event
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i) * time.Second)
		trace := fmt.Sprintf("%032x", i+1)
		cohort := telemetry.CohortControl
		user := fmt.Sprintf("user-%d", i%100)
		if i%4 == 0 { // (i%100)%4 == i%4: a user's requests share a cohort
			cohort = telemetry.CohortExperiment
		}
		events = append(events, telemetry.Event{
			ID: trace + "0000000000000001", TimeNs: ts.UnixNano(), IngestNs: ts.UnixNano(), Kind: telemetry.KindSpan,
			Service: "checkout", Name: "GET /checkout", TraceID: trace, SpanID: "0000000000000001",
			ExperimentID: exp, Cohort: cohort, DurationNs: 20e6, SubjectID: user,
			AttrKeys: []string{"feature_flag.key"}, AttrValues: []string{"payment-chaos"},
		})
		pay := telemetry.Event{
			ID: trace + "0000000000000002", TimeNs: ts.Add(5 * time.Millisecond).UnixNano(), IngestNs: ts.UnixNano(), Kind: telemetry.KindSpan,
			Service: "payment", Name: "POST /pay", TraceID: trace, SpanID: "0000000000000002", ParentSpanID: "0000000000000001",
			DurationNs: 10e6, IsError: cohort == telemetry.CohortExperiment, Status: telemetry.StatusOK,
		}
		if pay.IsError {
			pay.Status, pay.DurationNs = telemetry.StatusError, 200e6
		}
		if i%2 == 1 { // tagged by its trace at ingest
			pay.ExperimentID, pay.Cohort, pay.SubjectID = exp, cohort, user
			pay.AttrKeys, pay.AttrValues = []string{telemetry.AttrCohortSource}, []string{telemetry.CohortSourceTrace}
		}
		events = append(events, pay)
	}
	return events
}

// A downstream service that carries no flag and no baggage is judged in
// the cohort of its traces: half of its spans were tagged by their trace at
// ingest, the other half arrived untagged and take their trace's cohort in
// ClickHouse; each is counted once, and compare says how they were tagged.
// The analysis is per user (the default unit, the subject): 100 users with
// four requests each; a payment span counts for the user of its trace, by
// its own subject when ingest tagged it by its trace, by its trace's
// (trace_subjects) when ClickHouse did.
func TestCompareTakesCohortFromTrace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	const exp = "trace-exp"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	const n = 400
	events := traceEvents(exp, start, n)
	load(ctx, t, c, events)
	src := &analysis.Store{C: c}
	w := analysis.Window{Since: start, Until: start.Add(n * time.Second)}
	abs := 0.01
	lat := 0.005
	e := &experiment.Experiment{
		ID: exp, Title: "payment hurt for the cohort's requests",
		Cohorts: experiment.Cohorts{ExpectedSplit: experiment.Split{Experiment: 0.25, Control: 0.75}},
		SLIs: []experiment.SLI{
			{Name: "payment_errors", Type: experiment.SLIErrorRate, Filter: experiment.Filter{Service: "payment"},
				Tolerance: experiment.Tolerance{Absolute: &abs}},
			{Name: "payment_good", Type: experiment.SLIGoodEvents, Filter: experiment.Filter{Service: "payment"},
				Good: &experiment.GoodCriteria{Status: telemetry.StatusOK}, Tolerance: experiment.Tolerance{Absolute: &abs, Direction: experiment.HigherIsBetter}},
			{Name: "payment_p95", Type: experiment.SLILatency, Quantile: 0.95, Filter: experiment.Filter{Service: "payment"},
				Tolerance: experiment.Tolerance{Absolute: &lat}},
		},
	}
	res, err := analysis.Compare(ctx, src, analysis.Request{ExperimentID: exp, Experiment: e, Window: w}, analysis.Settings{}, time.Now())
	require.NoError(t, err)
	noNaN(t, res)
	assert.Equal(t, int64(2*300), res.Cohorts.Control, "checkout and payment spans of control traces, each once")
	assert.Equal(t, int64(2*100), res.Cohorts.Experiment)
	assert.Equal(t, "subject", res.Unit)
	assert.Equal(t, "units (subject)", res.SRM.Basis)
	assert.Equal(t, int64(75), res.SRM.Control, "distinct users")
	assert.Equal(t, int64(25), res.SRM.Experiment)
	errs := res.Metrics[0]
	assert.Equal(t, analysis.TestDeltaMethod, errs.Test)
	assert.Equal(t, int64(75), errs.Control.Units, "every payment span counts for its trace's user")
	assert.Equal(t, int64(25), errs.Experiment.Units)
	assert.Equal(t, int64(300), errs.Control.N)
	assert.Equal(t, int64(100), errs.Experiment.N)
	assert.Equal(t, int64(100), *errs.Experiment.Bad)
	assert.Equal(t, int64(0), *errs.Control.Bad)
	assert.Equal(t, stats.VerdictFail, errs.Verdict)
	good := res.Metrics[1]
	assert.Equal(t, int64(100), good.Experiment.N)
	assert.Equal(t, int64(25), good.Experiment.Units)
	assert.Equal(t, stats.VerdictFail, good.Verdict)
	p95 := res.Metrics[2]
	assert.Equal(t, int64(300), p95.Control.N, "the latency sample holds both halves")
	assert.Equal(t, int64(100), p95.Experiment.N)
	assert.Equal(t, stats.VerdictFail, res.Verdict)
	require.NotNil(t, res.Tagging)
	assert.Equal(t, query.CohortCounts{Control: 300, Experiment: 100}, res.Tagging.Direct)
	assert.Equal(t, query.CohortCounts{Control: 200}, res.Tagging.TraceIngest, "odd traces, all control")
	assert.Equal(t, query.CohortCounts{Control: 100, Experiment: 100}, res.Tagging.TraceClickHouse)
	require.NotNil(t, res.BlastRadius)
	assert.Equal(t, int64(600), res.BlastRadius.During.Events, "control only: spans resolved by their trace are not untagged traffic too")
	var tbl strings.Builder
	require.NoError(t, analysis.WriteTable(&tbl, res))
	assert.Contains(t, tbl.String(), "tagged   directly 400, by trace at ingest 200, by trace in ClickHouse 200 events")
}

// tallyEvents are 600 requests of 90 users (every fifth without a
// subject: a unit of its own), each a tagged checkout span and an untagged
// payment span of the same trace (resolved by its trace in ClickHouse).
func tallyEvents(exp string, start time.Time) []telemetry.Event {
	var events []telemetry.Event
	for i := 0; i < 600; i++ {
		ts := start.Add(time.Duration(i) * time.Second)
		trace := fmt.Sprintf("%032x", i+1)
		cohort := telemetry.CohortControl
		if i%3 == 0 {
			cohort = telemetry.CohortExperiment
		}
		user := ""
		if i%5 != 0 { // every fifth request has no subject: a unit of its own
			user = fmt.Sprintf("user-%d", i%90)
			if (i%90)%3 == 0 {
				cohort = telemetry.CohortExperiment
			} else {
				cohort = telemetry.CohortControl
			}
		}
		events = append(events, telemetry.Event{
			ID: trace + "01", TimeNs: ts.UnixNano(), IngestNs: ts.UnixNano(), Kind: telemetry.KindSpan,
			Service: "checkout", Name: "GET /checkout", TraceID: trace, SpanID: "01",
			ExperimentID: exp, Cohort: cohort, SubjectID: user, IsError: i%7 == 0,
		}, telemetry.Event{
			ID: trace + "02", TimeNs: ts.Add(time.Millisecond).UnixNano(), IngestNs: ts.UnixNano(), Kind: telemetry.KindSpan,
			Service: "payment", Name: "POST /pay", TraceID: trace, SpanID: "02", IsError: i%11 == 0,
		})
	}
	return events
}

// The unit_tally view gives the same per-unit sums as grouping the raw
// events by unit, duplicates and spans resolved by their trace included:
// buckets holding a duplicate are counted on the raw table.
func TestUnitTallyMatchesRawUnitCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	const exp = "tally-exp"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	events := tallyEvents(exp, start)
	load(ctx, t, c, events)
	load(ctx, t, c, events[200:260]) // duplicates in a few buckets
	src := &analysis.Store{C: c}
	w := analysis.Window{Since: start, Until: start.Add(10 * time.Minute)}
	rows, err := src.Buckets(ctx, exp, w.Since, w.Until, false)
	require.NoError(t, err)
	dirty := analysis.DirtyBuckets(rows)
	require.NotEmpty(t, dirty, "the duplicates show as raw rows above distinct events")
	rd := query.New(c)
	for _, f := range []experiment.Filter{{}, {Service: "payment"}, {Service: "checkout", Operation: "GET /checkout"}} {
		// Good = not an error, the only good-event definition the view serves.
		sli := query.SLIFilter{Filter: f, Good: &experiment.GoodCriteria{Status: telemetry.StatusOK}}
		raw, err := rd.SLIUnitCounts(ctx, exp, w, sli, "")
		require.NoError(t, err)
		view, err := rd.SLIUnitTally(ctx, exp, w, sli, dirty)
		require.NoError(t, err)
		require.NotEmpty(t, raw[telemetry.CohortExperiment].Units, "%+v", f)
		assert.Equal(t, raw, view, "filter %+v", f)
		if f.Service != "payment" {
			blind, err := rd.SLIUnitTally(ctx, exp, w, sli, nil)
			require.NoError(t, err)
			assert.NotEqual(t, raw, blind, "without the dirty buckets the duplicates would count: the check above can fail")
		}
	}
}

// A live look keeps per-unit counts of the buckets that settled and reads
// only the open tail, and still gives the same unit tallies as reading the
// whole window; a second monitor of the same experiment takes the settled
// buckets from the process-wide cache.
func TestLiveUnitCountsMatchWholeWindow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	const exp = "live-units"
	start := time.Now().Add(-30 * time.Minute).Truncate(time.Minute)
	var events []telemetry.Event
	for i := 0; i < 1200; i++ {
		ts := start.Add(time.Duration(i) * 500 * time.Millisecond)
		u := i % 150
		cohort := telemetry.CohortControl
		if u%5 == 0 {
			cohort = telemetry.CohortExperiment
		}
		user := fmt.Sprintf("user-%d", u)
		if i%13 == 0 {
			user = ""
		}
		events = append(events, telemetry.Event{
			ID: fmt.Sprintf("ev-%d", i), TimeNs: ts.UnixNano() + int64(i%7)*1_000_003, IngestNs: ts.UnixNano(), Kind: telemetry.KindSpan,
			Service: "checkout", Name: "GET /checkout", ExperimentID: exp, Cohort: cohort, SubjectID: user, IsError: i%9 == 0,
			DurationNs: uint64(10e6 + (i*7919)%50_000_000),
		})
	}
	load(ctx, t, c, events)
	src := &analysis.Store{C: c}
	e := &experiment.Experiment{ID: exp,
		Cohorts: experiment.Cohorts{ExpectedSplit: experiment.Split{Experiment: 0.2, Control: 0.8}},
		SLIs: []experiment.SLI{
			{Name: "errors", Type: experiment.SLIErrorRate, Tolerance: experiment.Tolerance{Direction: experiment.LowerIsBetter}},
			{Name: "p95", Type: experiment.SLILatency, Quantile: 0.95, Tolerance: experiment.Tolerance{Direction: experiment.LowerIsBetter}},
		}}
	req := analysis.Request{ExperimentID: exp, Experiment: e, Window: analysis.Window{Since: start.Add(3 * time.Second)}}
	// A small latency sample, so its rate falls as the cohorts grow and the
	// kept sample of settled seconds is thinned look by look.
	set := analysis.Settings{SamplePerCohort: 80}
	first, err := analysis.NewMonitor(src, req, set)
	require.NoError(t, err)
	second, err := analysis.NewMonitor(src, req, set)
	require.NoError(t, err)
	rd := query.New(c)
	for _, at := range []time.Duration{2 * time.Minute, 4*time.Minute + 3*time.Second, 7 * time.Minute, 11 * time.Minute} {
		now := start.Add(at)
		for _, m := range []*analysis.Monitor{first, second} {
			res, err := m.Look(ctx, now)
			require.NoError(t, err)
			assert.Equal(t, "subject", res.Unit)
			whole, err := rd.SLIUnitTally(ctx, exp, analysis.Window{Since: req.Window.Since, Until: now}, query.SLIFilter{}, nil)
			require.NoError(t, err)
			got := res.Metrics[0]
			require.Positive(t, whole[telemetry.CohortExperiment].Units)
			assert.Equal(t, whole[telemetry.CohortControl].Units, got.Control.Units, "at %s", at)
			assert.Equal(t, whole[telemetry.CohortExperiment].Units, got.Experiment.Units, "at %s", at)
			assert.Equal(t, whole[telemetry.CohortControl].Events, got.Control.N, "at %s", at)
			assert.Equal(t, whole[telemetry.CohortExperiment].Errors, *got.Experiment.Bad, "at %s", at)
			assert.Equal(t, whole[telemetry.CohortControl].Units, res.SRM.Control, "SRM on units at %s", at)
			// The latency sample equals a fresh monitor's, which reads the
			// whole window at this look's rate.
			fresh, err := analysis.NewMonitor(src, req, set)
			require.NoError(t, err)
			once, err := fresh.Look(ctx, now)
			require.NoError(t, err)
			// A first look over more than 10 min reads the units summed
			// over the range, not per bucket: the same counts.
			assert.Equal(t, whole[telemetry.CohortControl].Units, once.Metrics[0].Control.Units, "first look at %s", at)
			assert.Equal(t, whole[telemetry.CohortExperiment].Errors, *once.Metrics[0].Experiment.Bad, "first look at %s", at)
			lat, want := res.Metrics[1], once.Metrics[1]
			require.Less(t, want.Control.N, want.Control.Events, "sampled at %s", at)
			assert.Equal(t, want.Control.N, lat.Control.N, "latency sample at %s", at)
			assert.Equal(t, want.Experiment.N, lat.Experiment.N, "latency sample at %s", at)
			assert.InDelta(t, want.Control.Value, lat.Control.Value, 1e-12, "at %s", at)
			assert.InDelta(t, want.Experiment.Value, lat.Experiment.Value, 1e-12, "at %s", at)
		}
	}
}

// The unit_groups read (compare over many units) gives exactly the group
// sums of the distinct events: a database holding duplicates in a few
// buckets answers like one without them, spans resolved by their trace
// included, and its totals and distinct units equal the per-unit raw read.
// Without the dirty buckets the duplicates would count (the check can
// fail). A hash slice of the units (sampleShift) counts a subset.
func TestUnitGroupsExactWithDuplicates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const exp = "groups-exp"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	events := tallyEvents(exp, start)
	// Whole minutes (read from unit_groups_minute but for the minutes
	// holding a duplicate) and a window with ragged edges.
	checkUnitGroups(ctx, t, exp, events, events[200:260], []analysis.Window{
		{Since: start, Until: start.Add(10 * time.Minute)},
		{Since: start.Add(25 * time.Second), Until: start.Add(9*time.Minute + 35*time.Second)},
	})
}

// checkUnitGroups loads events into two databases, dups again into one of
// them, and checks that over each window the group read of the one with
// duplicates (told its dirty buckets) equals the clean one's and the
// per-unit counts.
func checkUnitGroups(ctx context.Context, t *testing.T, exp string, events, dups []telemetry.Event, windows []analysis.Window) {
	t.Helper()
	dup, clean := chtest.Open(t), chtest.Open(t)
	load(ctx, t, dup, events)
	load(ctx, t, dup, dups) // duplicates in a few buckets
	load(ctx, t, clean, events)
	for _, w := range windows {
		rows, err := (&analysis.Store{C: dup}).Buckets(ctx, exp, w.Since, w.Until, false)
		require.NoError(t, err)
		dirty := analysis.DirtyBuckets(rows)
		require.NotEmpty(t, dirty)
		rd, rc := query.New(dup), query.New(clean)
		for _, f := range []experiment.Filter{{}, {Service: "payment"}, {Service: "checkout", Operation: "GET /checkout"}} {
			sli := query.SLIFilter{Filter: f, Good: &experiment.GoodCriteria{Status: telemetry.StatusOK}}
			want, err := rc.SLIUnitGroups(ctx, exp, w, sli, nil, 0)
			require.NoError(t, err)
			// Read ahead of the bucket rows: the guess of the window's
			// events is its raw rows, duplicates included, and the tallies
			// are SLIUnitGroups' without dirty buckets in the slice given.
			for db, loaded := range map[*store.Client][][]telemetry.Event{clean: {events}, dup: {events, dups}} {
				var guessed int64
				ahead, shift, err := query.New(db).SLIUnitGroupsAhead(ctx, exp, w, sli, func(n int64) uint { guessed = n; return 1 })
				require.NoError(t, err)
				assert.Equal(t, uint(1), shift)
				blind, err := query.New(db).SLIUnitGroups(ctx, exp, w, sli, nil, 1)
				require.NoError(t, err)
				assert.Equal(t, blind, ahead, "filter %+v", f)
				assert.Equal(t, windowRows(exp, w, loaded...), guessed)
			}
			got, err := rd.SLIUnitGroups(ctx, exp, w, sli, dirty, 0)
			require.NoError(t, err)
			assert.Equal(t, want, got, "filter %+v", f)
			raw, err := rd.SLIUnitCounts(ctx, exp, w, sli, "")
			if w.Since.Second()%10 != 0 {
				// The raw read cuts the ragged edges at the second, the
				// views at the 10-second bucket (bucket >= since): compare
				// with the per-unit view read (unit_tally), whose buckets
				// are the groups'.
				raw, err = rd.SLIUnitTally(ctx, exp, w, sli, dirty)
			}
			require.NoError(t, err)
			for _, c := range []telemetry.Cohort{telemetry.CohortControl, telemetry.CohortExperiment} {
				g, u := got[c], raw[c]
				require.Positive(t, u.Units, "%+v %s", f, c)
				assert.Equal(t, []int64{u.Units, u.Events, u.Errors, u.Good}, []int64{g.Units, g.Events, g.Errors, g.Good}, "%+v %s", f, c)
				assert.Positive(t, g.Groups)
				assert.LessOrEqual(t, g.Groups, int64(min(query.UnitGroups, u.Units)))
				// A group's total is a sum of units': its square is at least
				// the sum of theirs.
				assert.GreaterOrEqual(t, g.SumN2, u.SumN2)
				if g.Groups == u.Units {
					assert.InDelta(t, u.SumN2, g.SumN2, 1e-9, "one unit per group: the unit sums")
				}
			}
			if f.Service != "payment" {
				blind, err := rd.SLIUnitGroups(ctx, exp, w, sli, nil, 0)
				require.NoError(t, err)
				assert.NotEqual(t, want, blind, "without the dirty buckets the duplicates would count: the check above can fail")
			}
			half, err := rd.SLIUnitGroups(ctx, exp, w, sli, dirty, 1)
			require.NoError(t, err)
			for _, c := range []telemetry.Cohort{telemetry.CohortControl, telemetry.CohortExperiment} {
				h := half[c]
				assert.Equal(t, uint(1), h.SampleShift)
				assert.Less(t, h.SampledUnits, got[c].Units, "the slice holds some of the units")
				assert.Equal(t, min(h.SampledUnits*2, h.Events), h.Units)
				assert.InDelta(t, got[c].SumN2, h.SumN2, 1e-9, "the sums do not depend on the slice")
			}
		}
	}
}

// Tagging reads the cohort views (trace_tagged_tally for the events ingest
// tagged by their trace) and gives the counts of the raw scan
// (TaggingRaw), duplicates included: buckets holding one are counted on
// the raw table.
func TestTaggingFromViewsMatchesRaw(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	const exp = "tagging-exp"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	events := traceEvents(exp, start, 400)
	load(ctx, t, c, events)
	load(ctx, t, c, events[100:180]) // duplicates in a few buckets
	w := analysis.Window{Since: start, Until: start.Add(400 * time.Second)}
	rd := query.New(c)
	raw, err := rd.TaggingRaw(ctx, exp, w)
	require.NoError(t, err)
	require.Equal(t, query.CohortCounts{Control: 200}, raw.TraceIngest)
	got, err := rd.Tagging(ctx, exp, w)
	require.NoError(t, err)
	assert.Equal(t, raw, got)
}

// The latency sample read with the kept seconds listed
// (sli_latency_sample_seconds.sql) gives exactly the events of the query
// that hashes every event's second (sli_latency_sample.sql), duplicates
// dropped alike.
func TestLatencySampleListedSecondsSameEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	const exp = "sample-exp"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	events := tallyEvents(exp, start)
	load(ctx, t, c, events)
	load(ctx, t, c, events[200:260])
	w := analysis.Window{Since: start, Until: start.Add(10 * time.Minute)}
	rate := query.SampleRate{SecondPPM: 300_000, ControlPPM: 600_000, ExperimentPPM: 1_000_000}
	// The tagged checkout spans (the untagged payment spans come from the
	// by-trace query, the same either way).
	for _, f := range []experiment.Filter{{Service: "checkout"}, {Operation: "GET /checkout"}} {
		got, err := query.New(c).LatencySampleEvents(ctx, exp, w, query.SLIFilter{Filter: f}, rate)
		require.NoError(t, err)
		rows, err := c.Query(ctx, "analyze/sli_latency_sample.sql", queries.Params{
			"experiment_id": exp, "since_s": w.Since.Unix(), "until_s": w.Until.Unix(), "service": f.Service, "operation": f.Operation,
			"second_ppm": rate.SecondPPM, "control_ppm": rate.ControlPPM, "experiment_ppm": rate.ExperimentPPM,
		})
		require.NoError(t, err)
		var want []query.SampleEvent
		for rows.Next() {
			var (
				cohort   string
				dur, tns uint64
			)
			require.NoError(t, rows.Scan(&cohort, &dur, &tns))
			co, err := telemetry.ParseCohort(cohort)
			require.NoError(t, err)
			want = append(want, query.SampleEvent{Cohort: co, TimeNs: tns, DurationNs: dur})
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.NotEmpty(t, want)
		assert.Less(t, len(want), 600, "a sample, not everything")
		assert.Equal(t, want, got, "filter %+v", f)
	}
}

// windowRows is the loaded events of both cohorts of exp in w's buckets
// (10-second bucket start in [w.Since, w.Until)).
func windowRows(exp string, w analysis.Window, loaded ...[]telemetry.Event) int64 {
	var n int64
	for _, evs := range loaded {
		for _, e := range evs {
			b := e.TimeNs / 1e10 * 10
			if e.ExperimentID == exp && e.Cohort != telemetry.CohortNone && b >= w.Since.Unix() && b < w.Until.Unix() {
				n++
			}
		}
	}
	return n
}

// A live monitor's first look reads its baseline and its window as one
// range (BucketsAround): the same rows, bucket for bucket, as the two
// reads it replaces, with a split that is not on a bucket edge (the
// bucket it falls in belongs to the baseline, as when read alone) and
// spans resolved by their trace on both sides. A monitor whose first look
// makes the two reads gives the same first look.
func TestBucketsAroundIsTheTwoReads(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, cold := chtest.Open(t), chtest.Open(t)
	const exp = "around-exp"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	events := traceEvents(exp, start, 300)
	load(ctx, t, c, events)
	load(ctx, t, cold, events)
	from, at, until := start.Add(-30*time.Second), start.Add(95*time.Second+500*time.Millisecond), start.Add(300*time.Second)
	before, after, err := (&analysis.Store{C: cold}).BucketsAround(ctx, exp, from, at, until, true)
	require.NoError(t, err)
	src := &analysis.Store{C: c}
	wantBefore, err := src.Buckets(ctx, exp, from, at, true)
	require.NoError(t, err)
	wantAfter, err := src.Buckets(ctx, exp, at, until, true)
	require.NoError(t, err)
	byTrace := 0
	for _, r := range append(append([]analysis.BucketRow(nil), wantBefore...), wantAfter...) {
		byTrace += int(r.ByTrace)
	}
	require.Positive(t, byTrace, "spans resolved by their trace on both sides")
	require.NotEmpty(t, wantBefore)
	assert.ElementsMatch(t, wantBefore, before)
	assert.ElementsMatch(t, wantAfter, after)

	// The first look of a monitor reading around, and of one that cannot.
	req := analysis.Request{ExperimentID: exp, Window: analysis.Window{Since: at}}
	now := until.Add(time.Minute)
	around, err := analysis.NewMonitor(&analysis.Store{C: cold}, req, analysis.Settings{})
	require.NoError(t, err)
	two, err := analysis.NewMonitor(twoReads{Store: src}, req, analysis.Settings{})
	require.NoError(t, err)
	got, err := around.Look(ctx, now)
	require.NoError(t, err)
	want, err := two.Look(ctx, now)
	require.NoError(t, err)
	require.Positive(t, want.BlastRadius.Before.Events, "a baseline to compare")
	assert.Equal(t, want.BlastRadius, got.BlastRadius)
	assert.Equal(t, want.Cohorts, got.Cohorts)
	assert.Equal(t, want.Metrics, got.Metrics)
}

// twoReads is a Store whose BucketsAround is the two reads it replaces.
type twoReads struct{ *analysis.Store }

func (s twoReads) BucketsAround(ctx context.Context, experimentID string, from, at, until time.Time, untagged bool) (before, after []analysis.BucketRow, err error) {
	if before, err = s.Buckets(ctx, experimentID, from, at, untagged); err != nil {
		return nil, nil, err
	}
	after, err = s.Buckets(ctx, experimentID, at, until, untagged)
	return before, after, err
}

// A first live look over a long window reads the per-unit sums packed
// (query.Reader.SLIUnitSums, analyze/sli_unit_sums.sql: grouped by the
// unit alone, both cohorts' events and errors in two sums): the rows sum
// to exactly the (cohort, unit) counts of sli_unit_rows.sql, for a unit seen in
// both cohorts, unit 0 (events without a subject, in both cohorts), the
// buckets holding a duplicate and the spans resolved by their trace, with
// each SLI filter; and with the window's rows unknown or too many for the
// packing, the unpacked read is taken.
func TestUnitSumsPackedEqualUnitRows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	const exp = "sums-exp"
	start := time.Now().Add(-20 * time.Minute).Truncate(time.Minute)
	events := tallyEvents(exp, start)
	for i := 0; i < 40; i++ {
		// One user in both cohorts, with errors in each.
		cohort := telemetry.CohortControl
		if i%4 == 0 {
			cohort = telemetry.CohortExperiment
		}
		ts := start.Add(time.Duration(i)*7*time.Second + 300*time.Millisecond)
		events = append(events, telemetry.Event{
			ID: fmt.Sprintf("both-%d", i), TimeNs: ts.UnixNano(), IngestNs: ts.UnixNano(), Kind: telemetry.KindSpan,
			Service: "checkout", Name: "GET /checkout", ExperimentID: exp, Cohort: cohort, SubjectID: "user-both", IsError: i%3 == 0,
		})
	}
	load(ctx, t, c, events)
	load(ctx, t, c, events[200:260]) // duplicates in a few buckets
	w := analysis.Window{Since: start, Until: start.Add(10 * time.Minute)}
	rows, err := (&analysis.Store{C: c}).Buckets(ctx, exp, w.Since, w.Until, false)
	require.NoError(t, err)
	dirty := analysis.DirtyBuckets(rows)
	require.NotEmpty(t, dirty)
	rd := query.New(c)
	var userBoth uint64
	require.NoError(t, c.Conn.QueryRow(ctx, "SELECT cityHash64('user-both')").Scan(&userBoth))
	type key struct {
		cohort telemetry.Cohort
		unit   uint64
	}
	byKey := func(rows []query.UnitRow) map[key][2]int64 {
		out := map[key][2]int64{}
		for _, r := range rows {
			// The view's part, the dirty buckets' and the spans resolved
			// by their trace come as rows of their own: summed, as the
			// live accumulator sums them.
			k := key{r.Cohort, r.Unit}
			v := out[k]
			out[k] = [2]int64{v[0] + r.Events, v[1] + r.Errors}
		}
		return out
	}
	for _, f := range []experiment.Filter{{}, {Service: "payment"}, {Service: "checkout", Operation: "GET /checkout"}} {
		for _, good := range []*experiment.GoodCriteria{nil, {Status: telemetry.StatusOK}} {
			sli := query.SLIFilter{Filter: f, Good: good}
			for _, d := range [][]uint32{dirty, nil} {
				want, err := rd.SLIUnitRows(ctx, exp, w, sli, d, false)
				require.NoError(t, err)
				got, err := rd.SLIUnitSums(ctx, exp, w, sli, d, int64(len(events)+60))
				require.NoError(t, err)
				assert.Equal(t, byKey(want), byKey(got), "filter %+v good %v dirty %v", f, good != nil, d)
				for _, bound := range []int64{-1, query.MaxPackedRows} {
					plain, err := rd.SLIUnitSums(ctx, exp, w, sli, d, bound)
					require.NoError(t, err)
					assert.Equal(t, want, plain, "rows bound %d: the unpacked read", bound)
				}
				if f.Service == "checkout" && good == nil && d != nil {
					both := byKey(got)
					for _, u := range []uint64{0, userBoth} {
						cn, xn := both[key{telemetry.CohortControl, u}], both[key{telemetry.CohortExperiment, u}]
						require.Positive(t, cn[0], "unit %d in the control cohort", u)
						require.Positive(t, xn[0], "unit %d in the experiment cohort", u)
						require.Positive(t, cn[1]+xn[1], "unit %d with errors", u)
					}
				}
			}
		}
	}
}
