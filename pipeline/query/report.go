package query

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/steadystate/steadystate/queries"
)

// SeriesPoint is one time bucket of one cohort: distinct events, errors
// and latency quantiles. Untagged traffic has cohort "none".
type SeriesPoint struct {
	Time   time.Time
	Cohort string
	Events int64
	Errors int64
	P50ms  float64
	P99ms  float64
}

// SeriesRequest selects a series: the experiment's cohorts plus untagged
// traffic, of one service and operation ("" for any), in buckets of Step
// from Since to Until.
type SeriesRequest struct {
	ExperimentID string
	Service      string
	Operation    string
	Since, Until time.Time
	// Step is the bucket width; a multiple of 10 s.
	Step time.Duration
}

// Series reads analyze/cohort_series.sql for the experiment and for
// untagged traffic, merged per bucket and cohort, sorted by time then
// cohort.
func (r *Reader) Series(ctx context.Context, req SeriesRequest) ([]SeriesPoint, error) {
	step := int64(req.Step.Seconds())
	since := req.Since.Unix() / step * step
	type key struct {
		t      int64
		cohort string
	}
	points := map[key]*SeriesPoint{}
	for _, exp := range []string{req.ExperimentID, ""} {
		err := r.each(ctx, "analyze/cohort_series.sql", queries.Params{
			"experiment_id": exp, "since_s": since, "until_s": req.Until.Unix(), "service": req.Service, "operation": req.Operation, "step_s": step,
		}, func(rows driver.Rows) error {
			var t time.Time
			var cohort string
			var n, e uint64
			var p50, p99 float32 // quantilesTDigest answers Float32
			if err := rows.Scan(&t, &cohort, &n, &e, &p50, &p99); err != nil {
				return err
			}
			k := key{t.Unix(), cohort}
			p := points[k]
			if p == nil {
				p = &SeriesPoint{Time: t.UTC(), Cohort: cohort}
				points[k] = p
			}
			// Latency of merged rows: the larger (untagged and tagged-none
			// traffic rarely share a bucket).
			p.Events += int64(n)
			p.Errors += int64(e)
			p.P50ms, p.P99ms = max(p.P50ms, float64(p50)), max(p.P99ms, float64(p99))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]SeriesPoint, 0, len(points))
	for _, p := range points {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b SeriesPoint) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Cohort, b.Cohort))
	})
	return out, nil
}

// AlertEvent is one Alertmanager notification ingest stored (kind alert).
type AlertEvent struct {
	Name        string
	Severity    string
	Status      string
	Time        time.Time
	Cohort      string
	Fingerprint string
}

// AlertEvents reads the alert notifications of an experiment received in
// [since, until] (analyze/alert_events.sql).
func (r *Reader) AlertEvents(ctx context.Context, experimentID string, since, until time.Time) ([]AlertEvent, error) {
	var out []AlertEvent
	err := r.each(ctx, "analyze/alert_events.sql", queries.Params{
		"experiment_id": experimentID, "since_s": since.Unix(), "until_s": until.Unix() + 1,
	}, func(rows driver.Rows) error {
		var a AlertEvent
		var ns uint64
		if err := rows.Scan(&a.Name, &a.Severity, &a.Status, &ns, &a.Cohort, &a.Fingerprint); err != nil {
			return err
		}
		a.Time = time.Unix(0, int64(ns)).UTC()
		out = append(out, a)
		return nil
	})
	return out, err
}

// Difference is one attribute value over-represented among the
// experiment cohort's failures (BubbleUp), with exemplar trace ids.
type Difference struct {
	Key, Value            string
	Bad, BadTotal         int64
	Control, ControlTotal int64
	Exemplars             []string
}

// DifferencesRequest bounds Differences: the top Limit candidates,
// exemplars for the first ExemplarRows of them, ExemplarsEach each.
// Attribute keys in Excluded are left out, and keys matching the RE2
// expression Noise ("" keeps all).
type DifferencesRequest struct {
	ExperimentID                       string
	Since, Until                       time.Time
	Limit, ExemplarRows, ExemplarsEach int
	Excluded                           []string
	Noise                              string
}

// Differences reads analyze/bubbleup.sql and, for the top rows,
// analyze/bubbleup_exemplars.sql.
func (r *Reader) Differences(ctx context.Context, req DifferencesRequest) ([]Difference, error) {
	excluded := req.Excluded
	if len(excluded) == 0 {
		excluded = []string{""} // has([], k) needs a typed array on 18.16
	}
	p := queries.Params{"experiment_id": req.ExperimentID, "since_s": req.Since.Unix(), "until_s": req.Until.Unix() + 1,
		"limit": req.Limit, "excluded": excluded, "noise": req.Noise}
	var out []Difference
	err := r.each(ctx, "analyze/bubbleup.sql", p, func(rows driver.Rows) error {
		var d Difference
		var bad, badTotal, control, controlTotal uint64
		if err := rows.Scan(&d.Key, &d.Value, &bad, &badTotal, &control, &controlTotal); err != nil {
			return err
		}
		d.Bad, d.BadTotal, d.Control, d.ControlTotal = int64(bad), int64(badTotal), int64(control), int64(controlTotal)
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(out) && i < req.ExemplarRows; i++ {
		if out[i].Exemplars, err = r.Exemplars(ctx, req.ExperimentID, req.Since, req.Until, out[i].Key, out[i].Value, req.ExemplarsEach); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Exemplars returns up to limit trace ids of the experiment cohort's bad
// events in [since, until] that carry key=value, earliest first
// (analyze/bubbleup_exemplars.sql).
func (r *Reader) Exemplars(ctx context.Context, experimentID string, since, until time.Time, key, value string, limit int) ([]string, error) {
	var out []string
	err := r.each(ctx, "analyze/bubbleup_exemplars.sql", queries.Params{
		"experiment_id": experimentID, "since_s": since.Unix(), "until_s": until.Unix() + 1, "key": key, "value": value, "limit": limit,
	}, func(rows driver.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		out = append(out, id)
		return nil
	})
	return out, err
}
