package analysis

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// BucketRow is one row of the cohort_stats view: distinct events and
// errors of one cohort, service and operation in a 10-second bucket.
// Untagged traffic has cohort none.
type BucketRow struct {
	Bucket    time.Time
	Cohort    telemetry.Cohort
	Service   string
	Operation string
	Events    int64
	Errors    int64
}

// RawCounts are distinct events, errors and good events of one cohort for
// one SLI, counted on the raw events table.
type RawCounts struct {
	Events int64
	Errors int64
	Good   int64
}

// Sample is a latency sample of both cohorts, in seconds.
type Sample struct {
	Control, Experiment []float64
}

// SampleRate is the two-stage latency sample, in parts per million
// (1,000,000 keeps everything): the share of seconds kept, and within
// them the share of each cohort's events.
type SampleRate struct {
	SecondPPM, ControlPPM, ExperimentPPM int64
}

// Source is where the analysis reads its numbers. *Store reads ClickHouse;
// tests use fakes.
type Source interface {
	// Buckets returns the view's rows of the experiment in [since, until)
	// (10-second buckets), plus untagged traffic when untagged is true.
	Buckets(ctx context.Context, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, error)
	// SLICounts counts one SLI's events per cohort on the raw table.
	SLICounts(ctx context.Context, experimentID string, w Window, sli *SLI) (map[telemetry.Cohort]RawCounts, error)
	// LatencySample returns durations of one SLI's events on the
	// deterministic slice sample.
	LatencySample(ctx context.Context, experimentID string, w Window, sli *SLI, rate SampleRate) (Sample, error)
}

// Store reads ClickHouse through the queries in queries/analyze.
type Store struct {
	C *store.Client
}

var _ Source = (*Store)(nil)

// SettledAge is how old a bucket must be before Store.Buckets caches its
// distinct counts in cohort_settled.
const SettledAge = 2 * time.Minute

// bucketKey identifies one row of the cohort views.
type bucketKey struct {
	exp       string
	bucket    uint32
	cohort    string
	service   string
	operation string
}

type settledRow struct {
	events, errors, rowsAt uint64
}

// Buckets implements Source. Exact distinct counts come from the
// uniqExact states of cohort_stats, but reading those costs a hash per
// event; so Buckets first reads the row counts of cohort_tally and the
// cached counts of cohort_settled, and reads cohort_stats only for the
// buckets whose row count changed since they were cached (new, late or
// duplicate rows). It caches the buckets it read once they are older than
// SettledAge. The answer is always the exact distinct count.
func (s *Store) Buckets(ctx context.Context, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, error) {
	other := experimentID
	if untagged {
		other = ""
	}
	p := queries.Params{"experiment_id": experimentID, "untagged_id": other, "since_s": since.Unix(), "until_s": ceilUnix(until)}
	// The tally is read before the states (see 0006_cohort_tally.up.sql).
	tally := map[bucketKey]uint64{}
	err := s.scan(ctx, "analyze/cohort_tally.sql", p, func(k bucketKey, vals []uint64) { tally[k] = vals[0] }, 1)
	if err != nil {
		return nil, err
	}
	settled := map[bucketKey]settledRow{}
	err = s.scan(ctx, "analyze/cohort_settled.sql", p, func(k bucketKey, v []uint64) {
		settled[k] = settledRow{events: v[0], errors: v[1], rowsAt: v[2]}
	}, 3)
	if err != nil {
		return nil, err
	}
	var out []BucketRow
	var lo, hi uint32
	dirty := map[uint32]bool{}
	for k, rows := range tally {
		if st, ok := settled[k]; ok && st.rowsAt == rows {
			continue
		}
		dirty[k.bucket] = true
		if lo == 0 || k.bucket < lo {
			lo = k.bucket
		}
		hi = max(hi, k.bucket)
	}
	fresh := map[bucketKey]settledRow{}
	if len(dirty) > 0 {
		q := queries.Params{"experiment_id": experimentID, "untagged_id": other, "since_s": int64(lo), "until_s": int64(hi) + 10}
		err = s.scan(ctx, "analyze/cohort_buckets.sql", q, func(k bucketKey, v []uint64) {
			if dirty[k.bucket] {
				fresh[k] = settledRow{events: v[0], errors: v[1], rowsAt: tally[k]}
			}
		}, 2)
		if err != nil {
			return nil, err
		}
	}
	for k := range tally {
		v, ok := fresh[k]
		if !ok {
			if dirty[k.bucket] {
				continue // no events after all (e.g. synthetic only)
			}
			v = settled[k]
		}
		c, err := telemetry.ParseCohort(k.cohort)
		if err != nil {
			return nil, fmt.Errorf("cohort buckets: %w", err)
		}
		out = append(out, BucketRow{Bucket: time.Unix(int64(k.bucket), 0).UTC(), Cohort: c, Service: k.service, Operation: k.operation,
			Events: int64(v.events), Errors: int64(v.errors)})
	}
	if experimentID != "" {
		if out, err = s.addByTrace(ctx, out, experimentID, since, until, untagged); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket.Before(out[j].Bucket) })
	if err := s.settle(ctx, fresh); err != nil {
		return nil, err
	}
	return out, nil
}

// settle writes the fresh counts of buckets older than SettledAge to
// cohort_settled.
func (s *Store) settle(ctx context.Context, fresh map[bucketKey]settledRow) error {
	now := time.Now()
	cutoff := uint32(now.Add(-SettledAge).Unix())
	var batch driver.Batch
	for k, v := range fresh {
		if k.bucket+10 > cutoff {
			continue
		}
		if batch == nil {
			var err error
			batch, err = s.C.Conn.PrepareBatch(ctx, fmt.Sprintf(
				"INSERT INTO %s.cohort_settled (experiment_id, bucket, cohort, service, name, events, errors, rows_at, computed_ns)", s.C.DB))
			if err != nil {
				return fmt.Errorf("prepare cohort_settled insert: %w", err)
			}
			defer func() { _ = batch.Close() }()
		}
		if err := batch.Append(k.exp, time.Unix(int64(k.bucket), 0), k.cohort, k.service, k.operation, v.events, v.errors, v.rowsAt, uint64(now.UnixNano())); err != nil {
			return fmt.Errorf("append cohort_settled: %w", err)
		}
	}
	if batch == nil {
		return nil
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert cohort_settled: %w", err)
	}
	return nil
}

// scan runs a query whose rows are experiment_id, bucket_s, cohort,
// service, name and then n UInt64 columns.
func (s *Store) scan(ctx context.Context, name string, p queries.Params, fn func(bucketKey, []uint64), n int) error {
	rows, err := s.C.Query(ctx, name, p)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]uint64, n)
	dest := make([]any, 0, 5+n)
	var k bucketKey
	dest = append(dest, &k.exp, &k.bucket, &k.cohort, &k.service, &k.operation)
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
		fn(k, vals)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// ceilUnix rounds t up to whole seconds, so [since, until) keeps events of
// the current second.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func filterParams(experimentID string, w Window, sli *SLI) queries.Params {
	pairs := attrPairs(sli.Filter.Attributes)
	return queries.Params{
		"experiment_id": experimentID, "since_s": w.Since.Unix(), "until_s": ceilUnix(w.Until),
		"service": sli.Filter.Service, "operation": sli.Filter.Operation, "attr_pairs": pairs,
	}
}

// SLICounts implements Source with analyze/sli_counts.sql.
func (s *Store) SLICounts(ctx context.Context, experimentID string, w Window, sli *SLI) (map[telemetry.Cohort]RawCounts, error) {
	p := filterParams(experimentID, w, sli)
	p["kinds"] = []string{"span", "event", "log"}
	p["good_not_error"], p["good_max_ns"], p["good_http"], p["good_codes"] = 0, int64(0), 0, []string{""}
	if g := sli.Good; g != nil {
		p["kinds"] = []string{"span", "event"}
		if g.Status == telemetry.StatusOK {
			p["good_not_error"] = 1
		}
		p["good_max_ns"] = maxDurationNs(g)
		if codes := goodCodes(g.HTTPStatus); len(codes) > 0 {
			p["good_http"], p["good_codes"] = 1, codes
		}
	}
	out := map[telemetry.Cohort]RawCounts{}
	if err := s.sliCounts(ctx, "analyze/sli_counts.sql", p, out); err != nil {
		return nil, err
	}
	if err := s.sliCounts(ctx, "analyze/sli_counts_by_trace.sql", byTraceParams(p, sli), out); err != nil {
		return nil, err
	}
	return out, nil
}

// sliCounts adds the per-cohort counts of one of the sli_counts queries to
// out.
func (s *Store) sliCounts(ctx context.Context, name string, p queries.Params, out map[telemetry.Cohort]RawCounts) error {
	rows, err := s.C.Query(ctx, name, p)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			cohort             string
			events, errs, good uint64
		)
		if err := rows.Scan(&cohort, &events, &errs, &good); err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
		c, err := telemetry.ParseCohort(cohort)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r := out[c]
		r.Events += int64(events)
		r.Errors += int64(errs)
		r.Good += int64(good)
		out[c] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// LatencySample implements Source with analyze/sli_latency_sample.sql
// (sli_latency_sample_attrs.sql with an attribute filter).
func (s *Store) LatencySample(ctx context.Context, experimentID string, w Window, sli *SLI, rate SampleRate) (Sample, error) {
	p := filterParams(experimentID, w, sli)
	name := "analyze/sli_latency_sample_attrs.sql"
	if len(sli.Filter.Attributes) == 0 {
		name = "analyze/sli_latency_sample.sql"
		delete(p, "attr_pairs")
	}
	p["second_ppm"], p["control_ppm"], p["experiment_ppm"] = rate.SecondPPM, rate.ControlPPM, rate.ExperimentPPM
	var out Sample
	if err := s.latencySample(ctx, name, p, &out); err != nil {
		return Sample{}, err
	}
	if err := s.latencySample(ctx, "analyze/sli_latency_sample_by_trace.sql", byTraceParams(p, sli), &out); err != nil {
		return Sample{}, err
	}
	return out, nil
}

// latencySample appends the durations one of the latency sample queries
// returns to out.
func (s *Store) latencySample(ctx context.Context, name string, p queries.Params, out *Sample) error {
	rows, err := s.C.Query(ctx, name, p)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			cohort string
			ns     uint64
		)
		if err := rows.Scan(&cohort, &ns); err != nil {
			return fmt.Errorf("scan %s: %w", name, err)
		}
		switch cohort {
		case "control":
			out.Control = append(out.Control, float64(ns)/1e9)
		case "experiment":
			out.Experiment = append(out.Experiment, float64(ns)/1e9)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// filterMatches reports whether a view row passes an SLI's service and
// operation filter (attributes are never served from the view).
func filterMatches(f *experiment.Filter, service, operation string) bool {
	return (f.Service == "" || f.Service == service) && (f.Operation == "" || f.Operation == operation)
}

// TraceSlack is how far from a window a trace's deciding event may be for
// the window's untagged spans of that trace to take its cohort in
// ClickHouse (the by-trace queries).
const TraceSlack = time.Hour

// addByTrace adds to rows the untagged events whose trace was decided for
// the experiment in trace_cohorts (trace_buckets.sql), and, when the
// untagged traffic is part of rows, takes them out of it: each event is
// counted once, in its trace's cohort.
func (s *Store) addByTrace(ctx context.Context, rows []BucketRow, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, error) {
	type key struct {
		bucket             int64
		cohort             telemetry.Cohort
		service, operation string
	}
	at := make(map[key]int, len(rows))
	for i, r := range rows {
		at[key{r.Bucket.Unix(), r.Cohort, r.Service, r.Operation}] = i
	}
	p := queries.Params{"experiment_id": experimentID, "since_s": since.Unix(), "until_s": ceilUnix(until), "slack_s": int64(TraceSlack / time.Second)}
	var errs []error
	err := s.scan(ctx, "analyze/trace_buckets.sql", p, func(k bucketKey, v []uint64) {
		c, err := telemetry.ParseCohort(k.cohort)
		if err != nil {
			errs = append(errs, fmt.Errorf("trace buckets: %w", err))
			return
		}
		b := int64(k.bucket)
		if i, ok := at[key{b, c, k.service, k.operation}]; ok {
			rows[i].Events += int64(v[0])
			rows[i].Errors += int64(v[1])
		} else {
			at[key{b, c, k.service, k.operation}] = len(rows)
			rows = append(rows, BucketRow{Bucket: time.Unix(b, 0).UTC(), Cohort: c, Service: k.service, Operation: k.operation,
				Events: int64(v[0]), Errors: int64(v[1])})
		}
		if untagged {
			if i, ok := at[key{b, telemetry.CohortNone, k.service, k.operation}]; ok {
				rows[i].Events = max(0, rows[i].Events-int64(v[0]))
				rows[i].Errors = max(0, rows[i].Errors-int64(v[1]))
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

// byTraceParams adds what the by-trace queries need to an SLI's params.
func byTraceParams(p queries.Params, sli *SLI) queries.Params {
	q := make(queries.Params, len(p)+2)
	for k, v := range p {
		q[k] = v
	}
	q["slack_s"] = int64(TraceSlack / time.Second)
	if _, ok := q["attr_pairs"]; !ok {
		q["attr_pairs"] = attrPairs(sli.Filter.Attributes)
	}
	if ps, _ := q["attr_pairs"].([]string); ps == nil {
		q["attr_pairs"] = []string{}
	}
	return q
}

// TaggingCounts says how the experiment's events in a window got their
// cohort: directly (their own attributes, resource, the cohort rules or a
// flag evaluation), by their trace at ingest, or by their trace in
// ClickHouse (trace_cohorts), per cohort.
type TaggingCounts struct {
	Direct          CohortSizes `json:"direct"`
	TraceIngest     CohortSizes `json:"trace_ingest"`
	TraceClickHouse CohortSizes `json:"trace_clickhouse"`
}

// TaggingSource is implemented by sources that can tell how events got
// their cohort (*Store); Compare reports it when the source can.
type TaggingSource interface {
	Tagging(ctx context.Context, experimentID string, w Window) (*TaggingCounts, error)
}

// Tagging implements TaggingSource with analyze/cohort_sources.sql.
func (s *Store) Tagging(ctx context.Context, experimentID string, w Window) (*TaggingCounts, error) {
	p := queries.Params{"experiment_id": experimentID, "since_s": w.Since.Unix(), "until_s": ceilUnix(w.Until), "slack_s": int64(TraceSlack / time.Second)}
	rows, err := s.C.Query(ctx, "analyze/cohort_sources.sql", p)
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
		var dst *CohortSizes
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
