package query

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// TraceSlack is how far from a window a trace's deciding event may be for
// the window's untagged spans of that trace to take its cohort in
// ClickHouse (the by-trace queries).
const TraceSlack = time.Hour

// bucketWidth is the cohort views' bucket (0006_cohort_tally: the 10
// seconds of event_time).
const bucketWidth = 10 * time.Second

// addByTrace adds to rows the untagged events whose trace was decided for
// the experiment in trace_cohorts_v2 (trace_buckets.sql), and, when the
// untagged traffic is part of rows, takes them out of it: each event is
// counted once, in its trace's cohort.
func (r *Reader) addByTrace(ctx context.Context, rows []BucketRow, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, error) {
	type key struct {
		bucket             int64
		cohort             telemetry.Cohort
		service, operation string
	}
	if untagged && len(rows) == 0 && since.Equal(since.Truncate(bucketWidth)) {
		// The untagged traffic's tally of [since, until) holds no row
		// (rows are every key of it; a bucket-aligned since, so the tally's
		// buckets cover the events trace_buckets.sql reads): no untagged
		// event there to take a trace's cohort, whether or not a trace was
		// decided. A live look at an experiment whose traffic has stopped
		// asks nothing more.
		return rows, nil
	}
	if decided, err := r.tracesDecided(ctx, experimentID, since, until); err != nil || !decided {
		return rows, err
	}
	// Built once a trace was found decided: a compare's rows are ~15,000
	// keys, and without a decided trace there is nothing to add to them.
	at := make(map[key]int, len(rows))
	for i, r := range rows {
		at[key{r.Bucket.Unix(), r.Cohort, r.Service, r.Operation}] = i
	}
	p := queries.Params{"experiment_id": experimentID, "since_s": since.Unix(), "until_s": ceilUnix(until), "slack_s": int64(TraceSlack / time.Second)}
	var errs []error
	err := r.scan(ctx, "analyze/trace_buckets.sql", p, func(k bucketKey, v []uint64) {
		c, err := telemetry.ParseCohort(k.cohort)
		if err != nil {
			errs = append(errs, fmt.Errorf("trace buckets: %w", err))
			return
		}
		b := int64(k.bucket)
		if i, ok := at[key{b, c, k.service, k.operation}]; ok {
			rows[i].Events += int64(v[0])
			rows[i].Errors += int64(v[1])
			rows[i].Rows += int64(v[0])
			rows[i].ByTrace += int64(v[0])
		} else {
			at[key{b, c, k.service, k.operation}] = len(rows)
			rows = append(rows, BucketRow{Bucket: time.Unix(b, 0).UTC(), Cohort: c, Service: k.service, Operation: k.operation,
				Events: int64(v[0]), Errors: int64(v[1]), Rows: int64(v[0]), ByTrace: int64(v[0])})
		}
		if untagged {
			if i, ok := at[key{b, telemetry.CohortNone, k.service, k.operation}]; ok {
				rows[i].Events = max(0, rows[i].Events-int64(v[0]))
				rows[i].Errors = max(0, rows[i].Errors-int64(v[1]))
				rows[i].Rows = max(0, rows[i].Rows-int64(v[0]))
			}
		}
	}, 2)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return rows, nil
}

// tracesDecided reports whether any trace was decided for the experiment
// within TraceSlack of [since, until) (analyze/trace_decided.sql). The
// by-trace queries scan the window's untagged events and find nothing
// without a decided trace, so callers skip them then: the answer is the
// same, and an experiment whose spans are all tagged at ingest (or that
// has no traces) never reads its untagged traffic.
func (r *Reader) tracesDecided(ctx context.Context, experimentID string, since, until time.Time) (bool, error) {
	memo, _ := ctx.Value(traceMemoKey{}).(*traceMemo)
	if memo == nil {
		return r.queryTracesDecided(ctx, experimentID, since, until)
	}
	hi := ceilUnix(until)
	// The lock is held over the query: reads of one evaluation that run
	// at once (compare reads the unit tallies beside the bucket rows) wait
	// for the one answer instead of each asking.
	memo.mu.Lock()
	defer memo.mu.Unlock()
	m, ok := memo.m[experimentID]
	// A decided trace only makes the by-trace queries run, which is
	// always right; "none before hi" holds for any window ending by hi.
	if ok && (m.decided || hi <= m.hi) {
		return m.decided, nil
	}
	if memo.kept != nil && memo.kept.has(experimentID) {
		return true, nil
	}
	// Under a memo, ask about any time before the window's end, so one
	// answer serves every read of the evaluation (the run window, its
	// baseline before it, the open tail).
	decided, err := r.queryTracesDecided(ctx, experimentID, time.Unix(TraceSlack.Milliseconds()/1000, 0), until)
	if err != nil {
		return false, err
	}
	memo.m[experimentID] = traceSpan{hi: hi, decided: decided}
	if decided && memo.kept != nil {
		memo.kept.add(experimentID)
	}
	return decided, nil
}

// TracesDecidedKnown is what the evaluation under ctx (WithTraceMemo,
// WithTraceMemoKept) already found out about whether a trace was decided
// for the experiment, for windows ending by until: decided, and whether it
// asked at all (known false: nothing is known). The reads of the same
// evaluation see the same answer, so with decided false none of them
// reads the untagged traffic by trace.
func TracesDecidedKnown(ctx context.Context, experimentID string, until time.Time) (decided, known bool) {
	memo, _ := ctx.Value(traceMemoKey{}).(*traceMemo)
	if memo == nil {
		return false, false
	}
	memo.mu.Lock()
	defer memo.mu.Unlock()
	if m, ok := memo.m[experimentID]; ok && (m.decided || ceilUnix(until) <= m.hi) {
		return m.decided, true
	}
	if memo.kept != nil && memo.kept.has(experimentID) {
		return true, true
	}
	return false, false
}

type traceMemoKey struct{}

type traceSpan struct {
	hi      int64
	decided bool
}

type traceMemo struct {
	mu   sync.Mutex
	m    map[string]traceSpan
	kept *DecidedTraces // nil: this evaluation's answers only
}

// DecidedTraces holds, across the evaluations of one reader (the looks of
// a live monitor, see WithTraceMemoKept), the experiments a trace was
// found decided for. Safe for concurrent use.
type DecidedTraces struct {
	mu   sync.Mutex
	exps map[string]bool
}

func (d *DecidedTraces) has(exp string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.exps[exp]
}

func (d *DecidedTraces) add(exp string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.exps == nil {
		d.exps = map[string]bool{}
	}
	d.exps[exp] = true
}

// WithTraceMemoKept is WithTraceMemo whose "a trace was decided" answers
// are also kept in kept for the evaluations that follow: a live monitor's
// looks ask ClickHouse (analyze/trace_decided.sql) until a trace is found
// decided, and then no more. A decided trace stays one (its row in
// trace_cohorts_v2 only ever gains duplicates; and were it dropped, a
// decided answer only makes the by-trace queries run, which find nothing
// and so answer as the skip would). "None decided" is asked again by every
// evaluation: a decision can arrive for any time.
func WithTraceMemoKept(ctx context.Context, kept *DecidedTraces) context.Context {
	return context.WithValue(ctx, traceMemoKey{}, &traceMemo{m: map[string]traceSpan{}, kept: kept})
}

// WithTraceMemo returns a context under which the reads of one evaluation
// (a compare, a live look) ask ClickHouse once whether a trace was decided
// for an experiment (analyze/trace_decided.sql) instead of before each
// by-trace query: every such query of the evaluation sees the same answer,
// as if they had run at the same instant. Under the memo the question is
// whether a trace was decided any time before the window's end (plus
// TraceSlack), so the answer serves every window of the evaluation ending
// by then; a trace decided earlier only makes the by-trace queries run,
// which is always right.
func WithTraceMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, traceMemoKey{}, &traceMemo{m: map[string]traceSpan{}})
}

func (r *Reader) queryTracesDecided(ctx context.Context, experimentID string, since, until time.Time) (bool, error) {
	var decided uint8
	err := r.each(ctx, "analyze/trace_decided.sql", queries.Params{
		"experiment_id": experimentID, "since_s": since.Unix(), "until_s": ceilUnix(until), "slack_s": int64(TraceSlack / time.Second),
	}, func(rows driver.Rows) error { return rows.Scan(&decided) })
	if err != nil {
		return false, err
	}
	return decided == 1, nil
}

// byTraceParams adds what the by-trace queries need to an SLI's params.
func byTraceParams(p queries.Params, sli SLIFilter) queries.Params {
	q := make(queries.Params, len(p)+2)
	for k, v := range p {
		q[k] = v
	}
	q["slack_s"] = int64(TraceSlack / time.Second)
	if _, ok := q["attr_pairs"]; !ok {
		q["attr_pairs"] = AttrPairs(sli.Filter.Attributes)
	}
	if ps, _ := q["attr_pairs"].([]string); ps == nil {
		q["attr_pairs"] = []string{}
	}
	return q
}

// CohortCounts are distinct events per cohort.
type CohortCounts struct {
	Control    int64 `json:"control"`
	Experiment int64 `json:"experiment"`
}

// TaggingCounts says how the experiment's events in a window got their
// cohort: directly (their own attributes, resource, the cohort rules or a
// flag evaluation), by their trace at ingest, or by their trace in
// ClickHouse (trace_cohorts_v2), per cohort.
type TaggingCounts struct {
	Direct          CohortCounts `json:"direct"`
	TraceIngest     CohortCounts `json:"trace_ingest"`
	TraceClickHouse CohortCounts `json:"trace_clickhouse"`
}

// Tagging counts how the experiment's events in w got their cohort, in
// the 10-second buckets of the cohort views: the cohort's distinct events
// (viewBuckets) of which trace_tagged_tally holds those ingest tagged by
// their trace (analyze/trace_tagged_counts.sql; buckets holding a duplicate
// counted on the raw table), the rest tagged directly, and the untagged
// events resolved by their trace in ClickHouse (BucketRow.ByTrace). Exact, like TaggingRaw (which scans
// every event of the window and gives the same counts for a window of
// whole buckets), without reading the raw events.
func (r *Reader) Tagging(ctx context.Context, experimentID string, w Window) (*TaggingCounts, error) {
	rows, err := r.Buckets(ctx, experimentID, w.Since, w.Until, false)
	if err != nil {
		return nil, err
	}
	return r.TaggingOf(ctx, experimentID, w, rows)
}

// TaggingOf is Tagging given the experiment's Buckets rows of w (a caller
// that read them already, as compare does, saves reading them again; rows
// before w.Since are ignored).
func (r *Reader) TaggingOf(ctx context.Context, experimentID string, w Window, rows []BucketRow) (*TaggingCounts, error) {
	var total, byTrace CohortCounts
	var dirty []uint32
	seen := map[uint32]bool{}
	for _, b := range rows {
		if b.Bucket.Before(w.Since) || b.Cohort == telemetry.CohortNone {
			continue
		}
		total.add(b.Cohort, b.Events-b.ByTrace)
		byTrace.add(b.Cohort, b.ByTrace)
		if bs := uint32(b.Bucket.Unix()); b.Rows > b.Events && !seen[bs] {
			seen[bs] = true
			dirty = append(dirty, bs)
		}
	}
	p := queries.Params{"experiment_id": experimentID, "since_s": w.Since.Unix(), "until_s": ceilUnix(w.Until)}
	var lo, hi int64
	for i, b := range dirty {
		if i == 0 || int64(b) < lo {
			lo = int64(b)
		}
		hi = max(hi, int64(b)+10)
	}
	if dirty == nil {
		dirty = []uint32{}
	}
	p["dirty"], p["dirty_since_s"], p["dirty_until_s"] = dirty, lo, hi
	out := &TaggingCounts{TraceClickHouse: byTrace}
	add := func(rows driver.Rows) error {
		var (
			cohort string
			n      uint64
		)
		if err := rows.Scan(&cohort, &n); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		c, err := telemetry.ParseCohort(cohort)
		if err != nil {
			return err
		}
		out.TraceIngest.add(c, int64(n))
		return nil
	}
	if err := r.each(ctx, "analyze/trace_tagged_counts.sql", pick(p, "experiment_id", "since_s", "until_s", "dirty"), add); err != nil {
		return nil, err
	}
	if len(dirty) > 0 {
		if err := r.each(ctx, "analyze/trace_tagged_counts_dirty.sql", pick(p, "experiment_id", "dirty", "dirty_since_s", "dirty_until_s"), add); err != nil {
			return nil, err
		}
	}
	out.Direct = CohortCounts{Control: total.Control - out.TraceIngest.Control, Experiment: total.Experiment - out.TraceIngest.Experiment}
	return out, nil
}

func (c *CohortCounts) add(cohort telemetry.Cohort, n int64) {
	switch cohort {
	case telemetry.CohortControl:
		c.Control += n
	case telemetry.CohortExperiment:
		c.Experiment += n
	}
}

// TaggingRaw counts how the experiment's events in w got their cohort on
// the raw table (analyze/cohort_sources.sql): the ground truth Tagging is
// checked against.
func (r *Reader) TaggingRaw(ctx context.Context, experimentID string, w Window) (*TaggingCounts, error) {
	p := queries.Params{"experiment_id": experimentID, "since_s": w.Since.Unix(), "until_s": ceilUnix(w.Until), "slack_s": int64(TraceSlack / time.Second)}
	rows, err := r.C.Query(ctx, "analyze/cohort_sources.sql", p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &TaggingCounts{}
	for rows.Next() {
		var (
			cohort, source string
			n              uint64
		)
		if err := rows.Scan(&cohort, &source, &n); err != nil {
			return nil, fmt.Errorf("scan cohort_sources: %w", err)
		}
		var dst *CohortCounts
		switch source {
		case "direct":
			dst = &out.Direct
		case "trace_ingest":
			dst = &out.TraceIngest
		case "trace_clickhouse":
			dst = &out.TraceClickHouse
		default:
			continue
		}
		switch cohort {
		case "control":
			dst.Control += int64(n)
		case "experiment":
			dst.Experiment += int64(n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cohort_sources: %w", err)
	}
	return out, nil
}
