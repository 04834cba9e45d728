package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// reportSource gathers what a report needs from ClickHouse and the
// definitions, apart from the cohort comparison.
type reportSource struct {
	c    *store.Client
	spec *experiment.Spec
	exp  *experiment.Experiment
	// adhoc is true when exp has no definition (only its id).
	adhoc bool
	// allAttributes keeps per-process and per-request attributes in
	// "what is different".
	allAttributes bool
	win           postRunWindow
	now           time.Time
}

// gather fills everything but the comparison (SLIs, verdict, SRM, stop
// conditions, blast radius), which comes from the compare step.
func (s *reportSource) gather(ctx context.Context) (findings.Input, error) {
	e := s.exp
	in := findings.Input{
		Experiment: findings.Experiment{
			ID: e.ID, Title: e.Title, Hypothesis: e.Hypothesis, Owner: e.Owner,
			ExpectedExperimentShare: e.Cohorts.ExpectedSplit.Experiment,
		},
		Run:         findings.Run{ID: s.win.RunID, Start: s.win.Start, End: s.win.End, Operator: s.win.Operator, Note: s.win.Note, Open: s.win.Open},
		GeneratedAt: s.now.UTC(),
	}
	for _, sli := range e.SLIs {
		if sli.Type.IsRatio() && sli.Objective > 0 {
			in.Experiment.Objective = sli.Objective
			break
		}
	}
	for _, x := range e.Expectations {
		in.Expectations = append(in.Expectations, findings.Expectation{Who: x.Who, SLI: x.SLI, Flow: x.Flow, Outcome: string(x.Outcome), Note: x.Note})
	}
	var longest time.Duration
	for _, a := range e.ExpectedAlerts {
		in.ExpectedAlerts = append(in.ExpectedAlerts, findings.ExpectedAlert{Name: a.Name, Within: a.Within, Severity: a.Severity})
		longest = max(longest, a.Within)
	}
	var err error
	if in.Series, err = s.series(ctx); err != nil {
		return in, err
	}
	if in.Alerts, err = s.alerts(ctx, s.win.End.Add(longest)); err != nil {
		return in, err
	}
	for _, name := range e.Flows {
		fl, ok := s.spec.Flow(name)
		if !ok {
			return in, fmt.Errorf("experiment %s names flow %q, which is not defined", e.ID, name)
		}
		r, err := s.flow(ctx, fl)
		if err != nil {
			return in, err
		}
		in.Flows = append(in.Flows, r)
	}
	if in.Differences, err = s.differences(ctx); err != nil {
		return in, err
	}
	if in.VerdictHistory, err = s.verdictHistory(ctx); err != nil {
		return in, err
	}
	return in, nil
}

// verdictHistory is every look `analyze live` wrote during the window (a
// second of slack at the end: the last look is stamped after it).
func (s *reportSource) verdictHistory(ctx context.Context) ([]findings.VerdictPoint, error) {
	rows, err := (&analysis.Store{C: s.c}).VerdictHistory(ctx, s.exp.ID, analysis.HistoryLive, s.win.Start, s.win.End.Add(time.Second))
	if err != nil {
		return nil, err
	}
	out := make([]findings.VerdictPoint, 0, len(rows))
	for _, r := range rows {
		if s.win.RunID != "" && r.RunID != "" && r.RunID != s.win.RunID {
			continue
		}
		out = append(out, findings.VerdictPoint{Time: r.Time, SLI: r.SLI, Verdict: r.Verdict, Provisional: r.Provisional,
			PValue: r.AdjustedPValue, Effect: r.Effect, CILower: r.CILower, CIUpper: r.CIUpper,
			StopCondition: r.StopCondition, StopHolds: r.StopHolds, StopValue: r.StopValue})
	}
	return out, nil
}

// each runs a query and calls scan for every row.
func (s *reportSource) each(ctx context.Context, name string, params map[string]any, scan func(driver.Rows) error) error {
	rows, err := s.c.Query(ctx, name, params)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// seriesStep picks a bucket (a multiple of 10 s) giving at most about 120
// points over the run and the same length before it.
func seriesStep(run time.Duration) int64 {
	step := int64((2 * run).Seconds()) / 120
	step = (step + 9) / 10 * 10
	return max(step, 10)
}

// series is the experiment's cohorts over the run and the same length of
// time before it, plus untagged traffic as cohort "none", filtered like
// the first SLI (the page the experiment is about).
func (s *reportSource) series(ctx context.Context) ([]findings.SeriesPoint, error) {
	service, operation := "", ""
	if len(s.exp.SLIs) > 0 {
		service, operation = s.exp.SLIs[0].Filter.Service, s.exp.SLIs[0].Filter.Operation
	}
	run := s.win.End.Sub(s.win.Start)
	step := seriesStep(run)
	since := s.win.Start.Add(-run).Unix() / step * step
	type key struct {
		t      int64
		cohort string
	}
	points := map[key]*findings.SeriesPoint{}
	for _, exp := range []string{s.exp.ID, ""} {
		err := s.each(ctx, "analyze/cohort_series.sql", map[string]any{
			"experiment_id": exp, "since_s": since, "until_s": s.win.End.Unix(), "service": service, "operation": operation, "step_s": step,
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
				p = &findings.SeriesPoint{Time: t.UTC(), Cohort: cohort}
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
	out := make([]findings.SeriesPoint, 0, len(points))
	for _, p := range points {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b findings.SeriesPoint) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Cohort, b.Cohort))
	})
	return out, nil
}

func (s *reportSource) alerts(ctx context.Context, until time.Time) ([]findings.AlertEvent, error) {
	rows, err := s.c.Query(ctx, "analyze/alert_events.sql", map[string]any{
		"experiment_id": s.exp.ID, "since_s": s.win.Start.Unix(), "until_s": until.Unix() + 1,
	})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []findings.AlertEvent
	for rows.Next() {
		var a findings.AlertEvent
		var ns uint64
		if err := rows.Scan(&a.Name, &a.Severity, &a.Status, &ns, &a.Cohort, &a.Fingerprint); err != nil {
			return nil, fmt.Errorf("read alert events: %w", err)
		}
		a.Time = time.Unix(0, int64(ns)).UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read alert events: %w", err)
	}
	return out, nil
}

// flow judges the flow's items that started during the run the way
// `analyze flows check` does (pipeline/flows: each stage's deadline, the
// time the data were read as the watermark), once per cohort, so the
// report has each cohort's funnel and where its stuck items stopped.
func (s *reportSource) flow(ctx context.Context, fl *experiment.Flow) (findings.FlowResult, error) {
	stages := make([]string, len(fl.Stages))
	for i, st := range fl.Stages {
		stages[i] = st.Name
	}
	res := findings.FlowResult{Name: fl.Name, Owner: fl.Owner, Severity: string(fl.Severity), RunbookURL: fl.RunbookURL,
		Stages: stages, WithinSeconds: fl.Within.Seconds()}
	chk, err := flows.NewChecker(flows.NewDefaultConfig(), s.c, []experiment.Flow{*fl})
	if err != nil {
		return res, err
	}
	rows, err := chk.Items(ctx, fl, s.win.Start, s.win.Start, s.win.End)
	if err != nil {
		return res, err
	}
	byCohort := map[telemetry.Cohort][]flows.ItemRow{}
	for _, r := range rows {
		if !r.Synthetic {
			byCohort[r.Cohort] = append(byCohort[r.Cohort], r)
		}
	}
	wm := s.now
	var stuck []flows.StuckItem
	for _, cohort := range []telemetry.Cohort{telemetry.CohortExperiment, telemetry.CohortControl, telemetry.CohortNone} {
		if len(byCohort[cohort]) == 0 {
			continue
		}
		rep := flows.Evaluate(fl, byCohort[cohort], flows.EvalSettings{Now: s.now, Watermark: &wm})
		c := findings.FlowCohort{Cohort: cohort.String(), Items: int64(rep.Counts.Items), Complete: int64(rep.Counts.Complete),
			InFlight: int64(rep.Counts.InFlight), Stuck: int64(rep.Counts.Stuck),
			Reached: make([]int64, len(stages)), StuckAfter: make([]int64, len(stages))}
		for i, st := range rep.Funnel {
			c.Reached[i], c.StuckAfter[i] = int64(st.Reached), int64(st.StuckHere)
		}
		res.Cohorts = append(res.Cohorts, c)
		stuck = append(stuck, rep.Stuck...)
	}
	slices.SortFunc(stuck, func(a, b flows.StuckItem) int {
		return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), cmp.Compare(a.Key, b.Key))
	})
	for i := 0; i < len(stuck) && i < 5; i++ {
		res.StuckExamples = append(res.StuckExamples, stuck[i].Key)
	}
	return res, nil
}

// differences is the "what is different" table: candidates from
// analyze/bubbleup.sql without the cohort tags, the attributes a column
// came from and (unless allAttributes) per-process or per-request noise,
// ranked by a significance-aware score, each with exemplar traces.
func (s *reportSource) differences(ctx context.Context) ([]findings.Difference, error) {
	base := map[string]any{"experiment_id": s.exp.ID, "since_s": s.win.Start.Unix(), "until_s": s.win.End.Unix() + 1}
	noise := findings.DifferenceNoiseKeys
	if s.allAttributes {
		noise = ""
	}
	params := map[string]any{"limit": 500, "excluded": findings.DifferenceExcludedKeys, "noise": noise}
	for k, v := range base {
		params[k] = v
	}
	var out []findings.Difference
	err := s.each(ctx, "analyze/bubbleup.sql", params, func(rows driver.Rows) error {
		var d findings.Difference
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
	out = findings.RankDifferences(out, 10)
	for i := range out {
		p := map[string]any{"key": out[i].Key, "value": out[i].Value, "limit": 3}
		for k, v := range base {
			p[k] = v
		}
		err := s.each(ctx, "analyze/bubbleup_exemplars.sql", p, func(rows driver.Rows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out[i].Exemplars = append(out[i].Exemplars, id)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
