package analysis

import (
	"context"
	"fmt"
	"time"

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

// SampleRate is the share of 100 ms time slices kept per cohort, in parts
// per million (1,000,000 keeps everything).
type SampleRate struct {
	ControlPPM, ExperimentPPM int64
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

// Buckets implements Source with analyze/cohort_buckets.sql.
func (s *Store) Buckets(ctx context.Context, experimentID string, since, until time.Time, untagged bool) ([]BucketRow, error) {
	other := experimentID
	if untagged {
		other = ""
	}
	rows, err := s.C.Query(ctx, "analyze/cohort_buckets.sql", queries.Params{
		"experiment_id": experimentID, "untagged_id": other,
		"since_s": since.Unix(), "until_s": ceilUnix(until),
	})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BucketRow
	for rows.Next() {
		var (
			b                uint32
			cohort, svc, op  string
			events, errCount uint64
		)
		if err := rows.Scan(&b, &cohort, &svc, &op, &events, &errCount); err != nil {
			return nil, fmt.Errorf("scan cohort_buckets: %w", err)
		}
		c, err := telemetry.ParseCohort(cohort)
		if err != nil {
			return nil, fmt.Errorf("cohort_buckets: %w", err)
		}
		out = append(out, BucketRow{Bucket: time.Unix(int64(b), 0).UTC(), Cohort: c, Service: svc, Operation: op, Events: int64(events), Errors: int64(errCount)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cohort_buckets: %w", err)
	}
	return out, nil
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
	rows, err := s.C.Query(ctx, "analyze/sli_counts.sql", p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[telemetry.Cohort]RawCounts{}
	for rows.Next() {
		var (
			cohort             string
			events, errs, good uint64
		)
		if err := rows.Scan(&cohort, &events, &errs, &good); err != nil {
			return nil, fmt.Errorf("scan sli_counts: %w", err)
		}
		c, err := telemetry.ParseCohort(cohort)
		if err != nil {
			return nil, fmt.Errorf("sli_counts: %w", err)
		}
		out[c] = RawCounts{Events: int64(events), Errors: int64(errs), Good: int64(good)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read sli_counts: %w", err)
	}
	return out, nil
}

// LatencySample implements Source with analyze/sli_latency_sample.sql.
func (s *Store) LatencySample(ctx context.Context, experimentID string, w Window, sli *SLI, rate SampleRate) (Sample, error) {
	p := filterParams(experimentID, w, sli)
	p["control_ppm"], p["experiment_ppm"] = rate.ControlPPM, rate.ExperimentPPM
	rows, err := s.C.Query(ctx, "analyze/sli_latency_sample.sql", p)
	if err != nil {
		return Sample{}, err
	}
	defer rows.Close()
	var out Sample
	for rows.Next() {
		var (
			cohort, id string
			ns         uint64
		)
		if err := rows.Scan(&cohort, &id, &ns); err != nil {
			return Sample{}, fmt.Errorf("scan sli_latency_sample: %w", err)
		}
		switch cohort {
		case "control":
			out.Control = append(out.Control, float64(ns)/1e9)
		case "experiment":
			out.Experiment = append(out.Experiment, float64(ns)/1e9)
		}
	}
	if err := rows.Err(); err != nil {
		return Sample{}, fmt.Errorf("read sli_latency_sample: %w", err)
	}
	return out, nil
}

// filterMatches reports whether a view row passes an SLI's service and
// operation filter (attributes are never served from the view).
func filterMatches(f *experiment.Filter, service, operation string) bool {
	return (f.Service == "" || f.Service == service) && (f.Operation == "" || f.Operation == operation)
}
