//go:build integration

package analysis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/internal/testkit/fixture"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/stats"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

func load(ctx context.Context, t *testing.T, c *store.Client, events []telemetry.Event) {
	t.Helper()
	batch, err := c.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.events (%s)", c.DB, strings.Join(telemetry.Columns, ", ")))
	require.NoError(t, err)
	var row []any
	for i := range events {
		row = events[i].Values(row, 0, int64(i))
		require.NoError(t, batch.Append(row...))
	}
	require.NoError(t, batch.Send())
}

// distinct asks ClickHouse itself: distinct events and errors per cohort.
func distinct(ctx context.Context, t *testing.T, c *store.Client, exp string, w analysis.Window, where string) map[string][2]int64 {
	t.Helper()
	rows, err := c.Conn.Query(ctx, fmt.Sprintf(`SELECT toString(cohort), uniqExact(event_id), uniqExactIf(event_id, is_error = 1)
		FROM %s.events WHERE experiment_id = '%s' AND synthetic = 0 AND cohort != 'none'
		AND event_time >= toDateTime(%d) AND event_time < toDateTime(%d) AND (%s) GROUP BY cohort`, c.DB, exp, w.Since.Unix(), w.Until.Unix(), where))
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][2]int64{}
	for rows.Next() {
		var co string
		var n, e uint64
		require.NoError(t, rows.Scan(&co, &n, &e))
		out[co] = [2]int64{int64(n), int64(e)}
	}
	require.NoError(t, rows.Err())
	return out
}

func noNaN(t *testing.T, r *analysis.Result) {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "NaN")
	assert.NotContains(t, string(b), "Inf")
}

func TestCompareOnClickHouseMatchesDistinctCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	fx := fixture.DefaultOptions()
	load(ctx, t, c, fixture.Generate(fx).Events)
	w := analysis.Window{Since: fx.Start, Until: fx.Start.Add(fx.Run)}
	src := &analysis.Store{C: c}

	res, err := analysis.Compare(ctx, src, analysis.Request{ExperimentID: fx.ExperimentID, Window: w}, analysis.Settings{}, time.Now())
	require.NoError(t, err)
	noNaN(t, res)
	truth := distinct(ctx, t, c, fx.ExperimentID, w, "1")
	require.Positive(t, truth["control"][0])
	assert.Equal(t, truth["control"][0], res.Cohorts.Control, "control size is ClickHouse's distinct count (duplicates and synthetic excluded)")
	assert.Equal(t, truth["experiment"][0], res.Cohorts.Experiment)
	er := res.Metrics[0]
	require.Equal(t, "error_rate", er.Name)
	assert.Equal(t, truth["control"][0], er.Control.N)
	assert.Equal(t, truth["control"][1], *er.Control.Bad)
	assert.Equal(t, truth["experiment"][1], *er.Experiment.Bad)
	assert.Positive(t, er.Effect.Absolute, "20% vs 1% errors")
	assert.Equal(t, stats.VerdictFail, er.Verdict)
	// Latency: the whole (small) population is the sample; spans and
	// events only, as in the sample query.
	spans := distinct(ctx, t, c, fx.ExperimentID, w, "kind IN ('span', 'event')")
	p95 := res.Metrics[2]
	assert.Equal(t, spans["control"][0], p95.Control.N)
	assert.Equal(t, spans["experiment"][0], p95.Experiment.N)
	assert.Positive(t, p95.Effect.Absolute, "90 ms vs 40 ms")
	assert.Equal(t, stats.VerdictFail, res.Verdict)
	require.NotNil(t, res.BlastRadius)
	assert.Positive(t, res.BlastRadius.Before.Events, "untagged traffic before the run is the baseline")
	assert.False(t, res.BlastRadius.Degraded, "control and untagged traffic keep their 1%% error rate")

	// A good-event SLI with an attribute filter, served by SQL on the raw
	// table, and a throughput SLI.
	abs := 0.01
	e := &experiment.Experiment{
		ID: fx.ExperimentID, Title: "fixture",
		Cohorts: experiment.Cohorts{ExpectedSplit: experiment.Split{Experiment: 0.5, Control: 0.5}},
		SLIs: []experiment.SLI{
			{Name: "good_eu", Type: experiment.SLIGoodEvents, Filter: experiment.Filter{Service: "checkout", Attributes: map[string]string{"region": "eu"}},
				Good:      &experiment.GoodCriteria{Status: telemetry.StatusOK, MaxDuration: 60 * time.Millisecond, HTTPStatus: experiment.HTTPStatusSet{{Min: 200, Max: 299}}},
				Tolerance: experiment.Tolerance{Absolute: &abs, Direction: experiment.HigherIsBetter}},
			{Name: "checkout_rate", Type: experiment.SLIThroughput, Filter: experiment.Filter{Service: "checkout"},
				Tolerance: experiment.Tolerance{Relative: &abs, Direction: experiment.HigherIsBetter}},
		},
	}
	res, err = analysis.Compare(ctx, src, analysis.Request{ExperimentID: fx.ExperimentID, Experiment: e, Window: w}, analysis.Settings{}, time.Now())
	require.NoError(t, err)
	noNaN(t, res)
	euWhere := "service = 'checkout' AND kind IN ('span','event') AND attr_values[indexOf(attr_keys, 'region')] = 'eu'"
	eu := distinct(ctx, t, c, fx.ExperimentID, w, euWhere)
	good := distinct(ctx, t, c, fx.ExperimentID, w, euWhere+" AND is_error = 0 AND duration_ns <= 60000000 AND http_status >= 200 AND http_status <= 299")
	g := res.Metrics[0]
	assert.Equal(t, eu["control"][0], g.Control.N)
	assert.Equal(t, eu["experiment"][0], g.Experiment.N)
	assert.Equal(t, eu["control"][0]-good["control"][0], *g.Control.Bad, "bad = events that are not good")
	assert.Equal(t, eu["experiment"][0]-good["experiment"][0], *g.Experiment.Bad)
	assert.Less(t, g.Experiment.Value, g.Control.Value, "the experiment cohort is slower and fails more")
	assert.Equal(t, stats.VerdictFail, g.Verdict)
	thr := res.Metrics[1]
	assert.Equal(t, analysis.TestBinomial, thr.Test)
	assert.NotEqual(t, stats.VerdictFail, thr.Verdict, "both cohorts get 60 spans a minute")
	assert.False(t, res.SRM.Mismatch, "the fixture splits 50/50 as planned")
	assert.Equal(t, "chi_square", res.SRM.Test)

	// The same traffic judged against a planned 20/80 split: untrusted.
	e.Cohorts.ExpectedSplit = experiment.Split{Experiment: 0.2, Control: 0.8}
	res, err = analysis.Compare(ctx, src, analysis.Request{ExperimentID: fx.ExperimentID, Experiment: e, Window: w}, analysis.Settings{}, time.Now())
	require.NoError(t, err)
	assert.Equal(t, stats.VerdictUntrusted, res.Verdict)
	assert.Contains(t, res.Reason, "sample-ratio mismatch")
}

func TestCompareOnClickHouseEdgeCases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	src := &analysis.Store{C: c}

	// Identical cohorts: no fail.
	same := fixture.DefaultOptions()
	same.ExperimentID, same.ExperimentErrorRate, same.ExperimentLatency = "exp-same", same.ControlErrorRate, same.ControlLatency
	same.FlowItems = 0
	load(ctx, t, c, fixture.Generate(same).Events)
	w := analysis.Window{Since: same.Start, Until: same.Start.Add(same.Run)}
	res, err := analysis.Compare(ctx, src, analysis.Request{ExperimentID: same.ExperimentID, Window: w}, analysis.Settings{}, time.Now())
	require.NoError(t, err)
	noNaN(t, res)
	assert.NotEqual(t, stats.VerdictFail, res.Verdict)
	for _, m := range res.Metrics {
		assert.NotEqual(t, stats.VerdictFail, m.Verdict, m.Name)
	}

	// Zero errors in control, a few in the experiment: the unit-level test
	// (the fixture's events carry subjects) with the null-constrained
	// variance, no NaN, no relative change against zero.
	zero := same
	zero.ExperimentID, zero.Seed, zero.ControlErrorRate, zero.ExperimentErrorRate = "exp-zero", 11, 0, 0.03
	load(ctx, t, c, fixture.Generate(zero).Events)
	res, err = analysis.Compare(ctx, src, analysis.Request{ExperimentID: zero.ExperimentID, Window: w}, analysis.Settings{}, time.Now())
	require.NoError(t, err)
	noNaN(t, res)
	er := res.Metrics[0]
	assert.Equal(t, int64(0), *er.Control.Bad)
	assert.Positive(t, *er.Experiment.Bad)
	assert.Equal(t, analysis.TestDeltaMethod, er.Test)
	assert.Nil(t, er.Effect.Relative)
	assert.Contains(t, []stats.Verdict{stats.VerdictFail, stats.VerdictInconclusive}, er.Verdict)

	// An experiment nobody tagged: insufficient data, never an error.
	res, err = analysis.Compare(ctx, src, analysis.Request{ExperimentID: "exp-nobody", Window: w}, analysis.Settings{}, time.Now())
	require.NoError(t, err)
	noNaN(t, res)
	assert.Equal(t, stats.VerdictInsufficientData, res.Verdict)
}

func TestRunsStartStopLatest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := &analysis.Store{C: chtest.Open(t)}
	_, err := st.LatestRun(ctx, "exp-r")
	require.ErrorIs(t, err, analysis.ErrNoRun)
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	r, err := st.StartRun(ctx, "exp-r", "alice", "game day", start)
	require.NoError(t, err)
	_, err = st.StartRun(ctx, "exp-r", "bob", "", start.Add(time.Minute))
	require.ErrorIs(t, err, analysis.ErrRunOpen)
	latest, err := st.LatestRun(ctx, "exp-r")
	require.NoError(t, err)
	assert.Equal(t, r.ID, latest.ID)
	assert.Nil(t, latest.End)
	stopped, err := st.StopRun(ctx, "exp-r", start.Add(30*time.Minute))
	require.NoError(t, err)
	latest, err = st.LatestRun(ctx, "exp-r")
	require.NoError(t, err)
	require.NotNil(t, latest.End)
	assert.Equal(t, start.Add(30*time.Minute), *latest.End)
	assert.Equal(t, stopped.ID, latest.ID)
	assert.Equal(t, "alice", latest.Operator)
	assert.Equal(t, analysis.Window{Since: start, Until: start.Add(30 * time.Minute)}, analysis.RunWindow(latest, time.Now()))
	_, err = st.StopRun(ctx, "exp-r", start.Add(time.Hour))
	require.Error(t, err, "already stopped")
	r2, err := st.StartRun(ctx, "exp-r", "bob", "", start.Add(time.Hour))
	require.NoError(t, err)
	latest, err = st.LatestRun(ctx, "exp-r")
	require.NoError(t, err)
	assert.Equal(t, r2.ID, latest.ID)
}

// The cached distinct counts (cohort_settled) stay exact: a late event and
// a duplicate row in an already cached bucket change the answer by exactly
// one event.
func TestBucketsCacheStaysExact(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := chtest.Open(t)
	fx := fixture.DefaultOptions()
	fx.FlowItems = 0
	gen := fixture.Generate(fx)
	load(ctx, t, c, gen.Events)
	src := &analysis.Store{C: c}
	w := analysis.Window{Since: fx.Start, Until: fx.Start.Add(fx.Run)}
	sum := func() (n int64) {
		rows, err := src.Buckets(ctx, fx.ExperimentID, w.Since, w.Until, false)
		require.NoError(t, err)
		for _, r := range rows {
			n += r.Events
		}
		return n
	}
	truth := distinct(ctx, t, c, fx.ExperimentID, w, "1")
	first := sum()
	assert.Equal(t, truth["control"][0]+truth["experiment"][0], first)
	var cached uint64
	require.NoError(t, c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.cohort_settled", c.DB)).Scan(&cached))
	assert.Positive(t, cached, "old buckets are cached")
	assert.Equal(t, first, sum(), "served from the cache")

	var ev telemetry.Event
	for _, e := range gen.Events {
		if e.Cohort == telemetry.CohortControl && !e.Synthetic {
			ev = e
			break
		}
	}
	late := ev
	late.ID = "late-event"
	load(ctx, t, c, []telemetry.Event{ev, late}) // a duplicate and a new event in a cached bucket
	assert.Equal(t, first+1, sum(), "the duplicate does not count, the late event does")
	truth = distinct(ctx, t, c, fx.ExperimentID, w, "1")
	assert.Equal(t, truth["control"][0]+truth["experiment"][0], sum())
}

// loadDuplicateAndLate loads again the first event of events (synthetic
// ones aside) that match takes, and a copy of it under the new id: a
// duplicate and a late event in the same bucket.
func loadDuplicateAndLate(ctx context.Context, t *testing.T, c *store.Client, events []telemetry.Event, id string, match func(telemetry.Event) bool) {
	t.Helper()
	for _, e := range events {
		if !e.Synthetic && match(e) {
			late := e
			late.ID = id
			load(ctx, t, c, []telemetry.Event{e, late})
			return
		}
	}
	t.Fatalf("no event for %s", id)
}

// viewKey is a bucket row's key: bucket start, cohort, service, operation.
type viewKey struct {
	bucket             int64
	cohort             string
	service, operation string
}

// viewCounts is the cohort view's exact distinct events and errors per key
// of the experiment (and the untagged traffic with untagged) for the
// buckets in [since, until).
func viewCounts(ctx context.Context, t *testing.T, c *store.Client, exp string, untagged bool, since, until int64) map[viewKey][2]int64 {
	t.Helper()
	other := exp
	if untagged {
		other = ""
	}
	rows, err := c.Conn.Query(ctx, fmt.Sprintf(`SELECT toInt64(toUInt32(bucket)), toString(cohort), service, name,
		uniqExactMerge(events), uniqExactIfMerge(errors) FROM %s.cohort_stats
		WHERE experiment_id IN ('%s', '%s') AND synthetic = 0 AND bucket >= toDateTime(%d) AND bucket < toDateTime(%d)
		GROUP BY bucket, cohort, service, name`, c.DB, exp, other, since, until))
	require.NoError(t, err)
	defer rows.Close()
	out := map[viewKey][2]int64{}
	for rows.Next() {
		var k viewKey
		var n, e uint64
		require.NoError(t, rows.Scan(&k.bucket, &k.cohort, &k.service, &k.operation, &n, &e))
		out[k] = [2]int64{int64(n), int64(e)}
	}
	require.NoError(t, rows.Err())
	return out
}

// bucketKeyCounts is Store.Buckets' rows by key.
func bucketKeyCounts(ctx context.Context, t *testing.T, src *analysis.Store, exp string, untagged bool, since, until time.Time) map[viewKey][2]int64 {
	t.Helper()
	rows, err := src.Buckets(ctx, exp, since, until, untagged)
	require.NoError(t, err)
	out := map[viewKey][2]int64{}
	for _, r := range rows {
		out[viewKey{r.Bucket.Unix(), r.Cohort.String(), r.Service, r.Operation}] = [2]int64{r.Events, r.Errors}
	}
	return out
}

// The bucket rows are the cohort views' exact distinct counts, bucket by
// bucket, though Buckets counts the events table's ids
// (analyze/cohort_buckets.sql) rather than merging cohort_stats' states:
// over a window whose ends are not bucket starts (a bucket belongs to the
// window when its start does), with the fixture's duplicates, and again
// after a duplicate and a late event land in a cached bucket.
func TestBucketRowsAreTheViewsDistinctCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := chtest.Open(t)
	fx := fixture.DefaultOptions()
	fx.FlowItems = 0
	gen := fixture.Generate(fx)
	load(ctx, t, c, gen.Events)
	src := &analysis.Store{C: c}
	since, until := fx.Start.Add(-fx.Before).Add(3*time.Second), fx.Start.Add(fx.Run).Add(-3*time.Second)
	view := func() map[viewKey][2]int64 {
		return viewCounts(ctx, t, c, fx.ExperimentID, false, since.Unix(), until.Unix())
	}
	buckets := func() map[viewKey][2]int64 { return bucketKeyCounts(ctx, t, src, fx.ExperimentID, false, since, until) }
	want := view()
	require.NotEmpty(t, want)
	assert.Equal(t, want, buckets(), "counted on the events table")
	assert.Equal(t, want, buckets(), "served from the cache")

	loadDuplicateAndLate(ctx, t, c, gen.Events, "late-event", func(e telemetry.Event) bool {
		return e.Cohort == telemetry.CohortControl && time.Unix(0, e.TimeNs).After(since.Add(time.Minute))
	})
	after := view()
	assert.NotEqual(t, want, after, "the late event counts")
	assert.Equal(t, after, buckets(), "a cached bucket that got rows is counted again")
}

// claimUntaggedHour records another reader's claim, a second old, on the
// untagged traffic's buckets [since, until), which lie in one hour.
func claimUntaggedHour(ctx context.Context, t *testing.T, c *store.Client, since, until time.Time) {
	t.Helper()
	hour := since.Truncate(time.Hour)
	require.Equal(t, hour, until.Add(-time.Second).Truncate(time.Hour), "the window lies in one hour")
	claim, err := c.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.settle_claims (experiment_id, hour, from_bucket, until_bucket, claimant, claimed_ns)", c.DB))
	require.NoError(t, err)
	require.NoError(t, claim.Append("", hour, since, until, "other", uint64(time.Now().Add(-time.Second).UnixNano())))
	require.NoError(t, claim.Send())
}

// The untagged traffic's settled counts, which every experiment's blast
// radius reads, are computed once whoever asks: a reader that finds the
// hour claimed by another (settle_claims; here the other's claim is
// inserted first) does not read the untagged states itself but waits for
// cohort_settled to hold the claimed buckets (here cached by a reader of
// the untagged traffic alone) and answers with the same exact counts as a
// reader on a cold copy of the data.
func TestUntaggedSettledOnceWhoeverAsks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fx := fixture.DefaultOptions()
	fx.FlowItems = 0
	gen := fixture.Generate(fx)
	c, cold := chtest.Open(t), chtest.Open(t)
	load(ctx, t, c, gen.Events)
	load(ctx, t, cold, gen.Events)
	since, until := fx.Start, fx.Start.Add(fx.Run)
	want, err := (&analysis.Store{C: cold}).Buckets(ctx, fx.ExperimentID, since, until, true)
	require.NoError(t, err)
	untagged := 0
	for _, r := range want {
		if r.Cohort == telemetry.CohortNone {
			untagged++
		}
	}
	require.Positive(t, untagged, "the fixture has untagged traffic")

	claimUntaggedHour(ctx, t, c, since, until)
	type answer struct {
		rows []analysis.BucketRow
		err  error
	}
	done := make(chan answer, 1)
	start := time.Now()
	src := &analysis.Store{C: c}
	go func() {
		rows, err := src.Buckets(ctx, fx.ExperimentID, since, until, true)
		done <- answer{rows, err}
	}()
	select {
	case a := <-done:
		t.Fatalf("answered (%v) before the claimant cached the untagged hour", a.err)
	case <-time.After(2 * time.Second):
	}
	// The claimant caches the hour's untagged counts.
	_, err = src.Buckets(ctx, "", since, until, false)
	require.NoError(t, err)
	a := <-done
	require.NoError(t, a.err)
	assert.Less(t, time.Since(start), 10*time.Second, "read from the cache, not computed after the wait ran out")
	assert.ElementsMatch(t, want, a.rows)
}

// A reader that finds the untagged hour claimed by a reader that has
// already cached it, but a bucket of it got rows since (a late event and a
// duplicate), counts that bucket itself at once rather than waiting the
// claim wait for a claimant that will not count it again; its answer is a
// cold reader's of the same rows.
func TestClaimedBucketWithLateRowsCountedAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fx := fixture.DefaultOptions()
	fx.FlowItems = 0
	gen := fixture.Generate(fx)
	c, cold := chtest.Open(t), chtest.Open(t)
	load(ctx, t, c, gen.Events)
	since, until := fx.Start, fx.Start.Add(fx.Run)
	src := &analysis.Store{C: c}
	// The other reader claims the untagged hour and caches it.
	claimUntaggedHour(ctx, t, c, since, until)
	_, err := src.Buckets(ctx, "", since, until, false)
	require.NoError(t, err)
	// Then a late untagged event and a duplicate land in a cached bucket.
	late := func(cl *store.Client) {
		loadDuplicateAndLate(ctx, t, cl, gen.Events, "late-untagged-event", func(e telemetry.Event) bool {
			return e.Cohort == telemetry.CohortNone && time.Unix(0, e.TimeNs).After(since.Add(time.Minute))
		})
	}
	late(c)
	load(ctx, t, cold, gen.Events)
	late(cold)
	want, err := (&analysis.Store{C: cold}).Buckets(ctx, fx.ExperimentID, since, until, true)
	require.NoError(t, err)

	start := time.Now()
	got, err := src.Buckets(ctx, fx.ExperimentID, since, until, true)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 5*time.Second, "counted at once, not after the claim wait (15 s) ran out")
	assert.ElementsMatch(t, want, got)
}

// TestCompareAtTheSubjectUnit: the fixture's events carry subjects (500
// users), so compare analyses the ratio SLIs per user: the unit, the
// distinct users per cohort and the SRM on users come from ClickHouse
// (analyze/sli_unit_counts.sql), and the events behind them are the same
// distinct events the per-event analysis counts. With cohorts.unit: event
// the same data are analysed per event and say so.
func TestCompareAtTheSubjectUnit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	fx := fixture.DefaultOptions()
	load(ctx, t, c, fixture.Generate(fx).Events)
	w := analysis.Window{Since: fx.Start, Until: fx.Start.Add(fx.Run)}
	src := &analysis.Store{C: c}
	e := &experiment.Experiment{ID: fx.ExperimentID,
		Cohorts: experiment.Cohorts{ExpectedSplit: experiment.Split{Experiment: 0.5, Control: 0.5}},
		SLIs:    []experiment.SLI{{Name: "errors", Type: experiment.SLIErrorRate, Tolerance: experiment.Tolerance{Direction: experiment.LowerIsBetter}}}}

	res, err := analysis.Compare(ctx, src, analysis.Request{ExperimentID: fx.ExperimentID, Experiment: e, Window: w}, analysis.Settings{}, time.Now())
	require.NoError(t, err)
	noNaN(t, res)
	assert.Equal(t, "subject", res.Unit)
	users := func(cohort string) int64 {
		// An event without a subject is a unit of its own.
		rows, err := c.Conn.Query(ctx, fmt.Sprintf(`SELECT uniqExact(if(subject_id = '', concat('e:', event_id), subject_id)) FROM %s.events WHERE experiment_id = '%s' AND synthetic = 0
			AND cohort = '%s' AND kind IN ('span', 'event', 'log') AND event_time >= toDateTime(%d) AND event_time < toDateTime(%d)`,
			c.DB, fx.ExperimentID, cohort, w.Since.Unix(), w.Until.Unix()))
		require.NoError(t, err)
		defer rows.Close()
		require.True(t, rows.Next())
		var n uint64
		require.NoError(t, rows.Scan(&n))
		return int64(n)
	}
	m := res.Metrics[0]
	assert.Equal(t, users("control"), m.Control.Units)
	assert.Equal(t, users("experiment"), m.Experiment.Units)
	assert.Greater(t, m.Control.N, m.Control.Units, "several events per user")
	assert.Equal(t, analysis.TestDeltaMethod, m.Test)
	assert.Equal(t, "units (subject)", res.SRM.Basis)
	assert.Equal(t, m.Control.Units, res.SRM.Control)

	e.Cohorts.Unit = experiment.UnitEvent
	ev, err := analysis.Compare(ctx, src, analysis.Request{ExperimentID: fx.ExperimentID, Experiment: e, Window: w}, analysis.Settings{}, time.Now())
	require.NoError(t, err)
	assert.Equal(t, "event", ev.Unit)
	assert.Zero(t, ev.Metrics[0].Control.Units)
	assert.Equal(t, m.Control.N, ev.Metrics[0].Control.N, "the same distinct events")
	assert.Equal(t, m.Experiment.N, ev.Metrics[0].Experiment.N)
	var out strings.Builder
	require.NoError(t, analysis.WriteTable(&out, res))
	assert.Contains(t, out.String(), "unit     subject")
}

// A live look's open tail, buckets too young to cache, of the experiment
// and of the untagged traffic (counted in one statement, see
// query.Reader.readStale): the same exact counts, duplicates and all, as
// the cohort view's for both, and a duplicate and a new event that land
// in the tail afterwards are counted as the view counts them.
func TestOpenTailBucketsMatchTheView(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := chtest.Open(t)
	fx := fixture.DefaultOptions()
	fx.FlowItems = 0
	fx.Run, fx.Before, fx.PerMinute = time.Minute, time.Minute, 600
	fx.Start = time.Now().Add(-fx.Run).Truncate(time.Second)
	gen := fixture.Generate(fx)
	load(ctx, t, c, gen.Events)
	src := &analysis.Store{C: c}
	since, until := fx.Start.Add(-fx.Before), time.Now().Add(time.Minute)
	view := func() map[viewKey][2]int64 {
		return viewCounts(ctx, t, c, fx.ExperimentID, true, (since.Unix()+9)/10*10, until.Unix())
	}
	buckets := func() map[viewKey][2]int64 { return bucketKeyCounts(ctx, t, src, fx.ExperimentID, true, since, until) }
	want := view()
	untagged := 0
	for k := range want {
		if k.cohort == "none" {
			untagged++
		}
	}
	require.Positive(t, untagged, "the tail holds untagged traffic")
	assert.Equal(t, want, buckets(), "experiment and untagged tail counted on the events table")

	loadDuplicateAndLate(ctx, t, c, gen.Events, "late-untagged-event", func(e telemetry.Event) bool {
		return e.Cohort == telemetry.CohortNone && time.Unix(0, e.TimeNs).After(fx.Start)
	})
	after := view()
	assert.NotEqual(t, want, after, "the new untagged event counts")
	assert.Equal(t, after, buckets(), "the duplicate does not count, the new event does")
}
