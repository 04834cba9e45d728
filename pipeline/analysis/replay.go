package analysis

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/stats"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// ReplayEvent is one stored control event an A/A replay splits.
type ReplayEvent struct {
	Time       time.Time
	Unit       string // the randomization unit's value ("" = none: the event is its own unit)
	EventID    string
	Service    string
	Operation  string
	Error      bool
	DurationNs uint64
	HTTPStatus uint16
}

// ReplaySummary is what an A/A replay saw over its runs.
type ReplaySummary struct {
	// Runs is the number of salts replayed.
	Runs int
	// Units and Events are the replayed traffic.
	Units, Events int
	// CompareFail, CompareSRM and ComparePass count fixed-horizon
	// comparisons with an overall fail, a sample-ratio mismatch, a pass.
	CompareFail, CompareSRM, ComparePass int
	// LiveFail and LiveSRM count live runs (a look every Tick) that ever
	// declared fail or flagged the split; LivePass those that ended pass.
	LiveFail, LiveSRM, LivePass int
	// Looks is the number of live looks per run.
	Looks int
	// MetricFails counts, per metric name, the runs where that metric
	// failed in compare or at any live look.
	MetricFails map[string]int
}

// Replay runs the A/A replay: for each of runs salts it splits the control
// traffic events into two pseudo-cohorts by a salted hash of the unit
// (experiment share as planned by req.Experiment, 50% without one), runs
// the unchanged Compare over the whole window and a Monitor with a Look
// every tick, and counts fails, passes and sample-ratio mismatches. Both
// pseudo-cohorts are the same traffic, so every fail is a false fail and
// every SRM a false alarm. SLIs filtering on attributes are not supported
// (the replayed events carry none).
func Replay(ctx context.Context, events []ReplayEvent, req Request, set Settings, runs int, tick time.Duration) (ReplaySummary, error) {
	if runs <= 0 {
		return ReplaySummary{}, fmt.Errorf("replay: runs %d must be positive", runs)
	}
	if tick <= 0 {
		tick = 5 * time.Second
	}
	for _, s := range SLIsOf(req.Experiment) {
		if len(s.Filter.Attributes) > 0 {
			return ReplaySummary{}, fmt.Errorf("replay: sli %q filters on attributes, which replayed events do not carry", s.Name)
		}
	}
	share := 0.5
	if e := req.Experiment; e != nil && e.Cohorts.ExpectedSplit.Experiment > 0 {
		share = e.Cohorts.ExpectedSplit.Experiment
	}
	units := map[string]bool{}
	for _, e := range events {
		units[e.Unit] = true
	}
	out := ReplaySummary{Runs: runs, Units: len(units), Events: len(events), MetricFails: map[string]int{}}
	w := req.Window
	for run := range runs {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("replay: %w", err)
		}
		src := &replaySource{events: events, salt: fmt.Sprintf("aa-%d", run), share: share}
		res, err := Compare(ctx, src, req, set, w.Until)
		if err != nil {
			return out, fmt.Errorf("replay run %d: compare: %w", run, err)
		}
		out.CompareFail += b2i(res.Verdict == stats.VerdictFail || anyFail(res))
		failedMetrics := map[string]bool{}
		for _, m := range res.Metrics {
			failedMetrics[m.Name] = failedMetrics[m.Name] || m.Verdict == stats.VerdictFail
		}
		out.CompareSRM += b2i(res.SRM.Mismatch)
		out.ComparePass += b2i(res.Verdict == stats.VerdictPass)
		lreq := req
		lreq.Window = Window{Since: w.Since}
		mon, err := NewMonitor(src, lreq, set)
		if err != nil {
			return out, fmt.Errorf("replay run %d: live: %w", run, err)
		}
		mon.SettleAfter = 0
		var failed, srm bool
		var last *Result
		looks := 0
		for now := w.Since.Add(tick); !now.After(w.Until); now = now.Add(tick) {
			r, err := mon.Look(ctx, now)
			if err != nil {
				return out, fmt.Errorf("replay run %d: live look: %w", run, err)
			}
			looks++
			failed = failed || anyFail(r)
			for _, m := range r.Metrics {
				failedMetrics[m.Name] = failedMetrics[m.Name] || m.Verdict == stats.VerdictFail
			}
			srm = srm || r.SRM.Mismatch
			last = r
		}
		out.Looks = looks
		for name, f := range failedMetrics {
			out.MetricFails[name] += b2i(f)
		}
		out.LiveFail += b2i(failed)
		out.LiveSRM += b2i(srm)
		out.LivePass += b2i(last != nil && last.Verdict == stats.VerdictPass)
	}
	return out, nil
}

func anyFail(r *Result) bool {
	for _, m := range r.Metrics {
		if m.Verdict == stats.VerdictFail {
			return true
		}
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// replaySource serves replayed control events as two pseudo-cohorts.
type replaySource struct {
	events []ReplayEvent
	salt   string
	share  float64
}

func (s *replaySource) cohort(e *ReplayEvent) telemetry.Cohort {
	u := e.Unit
	if u == "" {
		u = "\x1fevent\x1f" + e.EventID
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(s.salt))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(u))
	// FNV's high bits mix poorly for short, similar keys: finish with the
	// splitmix64 finalizer before taking the top 53 bits.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	if float64(x>>11)/float64(1<<53) < s.share {
		return telemetry.CohortExperiment
	}
	return telemetry.CohortControl
}

func (s *replaySource) each(since, until time.Time, f func(e *ReplayEvent, c telemetry.Cohort)) {
	for i := range s.events {
		e := &s.events[i]
		if e.Time.Before(since) || !e.Time.Before(until) {
			continue
		}
		f(e, s.cohort(e))
	}
}

func (s *replaySource) Buckets(_ context.Context, _ string, since, until time.Time, _ bool) ([]BucketRow, error) {
	type key struct {
		b       int64
		c       telemetry.Cohort
		svc, op string
	}
	agg := map[key]*BucketRow{}
	var order []key
	s.each(since, until, func(e *ReplayEvent, c telemetry.Cohort) {
		b := e.Time.Truncate(bucketWidth)
		k := key{b.Unix(), c, e.Service, e.Operation}
		r, ok := agg[k]
		if !ok {
			r = &BucketRow{Bucket: b, Cohort: c, Service: e.Service, Operation: e.Operation}
			agg[k] = r
			order = append(order, k)
		}
		r.Events++
		if e.Error {
			r.Errors++
		}
	})
	out := make([]BucketRow, 0, len(order))
	for _, k := range order {
		out = append(out, *agg[k])
	}
	return out, nil
}

func good(g *experiment.GoodCriteria, e *ReplayEvent) bool {
	if g == nil {
		return !e.Error
	}
	if g.Status == telemetry.StatusOK && e.Error {
		return false
	}
	if g.MaxDuration > 0 && e.DurationNs > uint64(g.MaxDuration) {
		return false
	}
	return len(g.HTTPStatus) == 0 || g.HTTPStatus.Contains(int(e.HTTPStatus))
}

func (s *replaySource) SLICounts(_ context.Context, _ string, w Window, sli *SLI) (map[telemetry.Cohort]RawCounts, error) {
	out := map[telemetry.Cohort]RawCounts{}
	s.each(w.Since, w.Until, func(e *ReplayEvent, c telemetry.Cohort) {
		if !filterMatches(&sli.Filter, e.Service, e.Operation) {
			return
		}
		r := out[c]
		r.Events++
		if e.Error {
			r.Errors++
		}
		if good(sli.Good, e) {
			r.Good++
		}
		out[c] = r
	})
	return out, nil
}

func (s *replaySource) SLIUnitCounts(_ context.Context, _ string, w Window, sli *SLI, _ string) (map[telemetry.Cohort]query.UnitTally, error) {
	type tally struct{ n, e, g float64 }
	per := map[telemetry.Cohort]map[string]*tally{}
	s.each(w.Since, w.Until, func(e *ReplayEvent, c telemetry.Cohort) {
		if !filterMatches(&sli.Filter, e.Service, e.Operation) {
			return
		}
		u := e.Unit
		if u == "" {
			u = "\x1fevent\x1f" + e.EventID
		}
		if per[c] == nil {
			per[c] = map[string]*tally{}
		}
		t := per[c][u]
		if t == nil {
			t = &tally{}
			per[c][u] = t
		}
		t.n++
		if e.Error {
			t.e++
		}
		if good(sli.Good, e) {
			t.g++
		}
	})
	out := map[telemetry.Cohort]query.UnitTally{}
	for c, us := range per {
		var r query.UnitTally
		for _, t := range us {
			r.Units++
			r.Events += int64(t.n)
			r.Errors += int64(t.e)
			r.Good += int64(t.g)
			r.AddSquares(t.n, t.e, t.g, 1)
		}
		out[c] = r
	}
	return out, nil
}

func (s *replaySource) LatencySample(_ context.Context, _ string, w Window, sli *SLI, _ SampleRate) (Sample, error) {
	var out Sample
	s.each(w.Since, w.Until, func(e *ReplayEvent, c telemetry.Cohort) {
		if !filterMatches(&sli.Filter, e.Service, e.Operation) {
			return
		}
		v := float64(e.DurationNs) / 1e9
		if c == telemetry.CohortExperiment {
			out.Experiment = append(out.Experiment, v)
		} else {
			out.Control = append(out.Control, v)
		}
	})
	return out, nil
}
