// Package gather assembles what a post-run report is computed from: it
// runs the fixed-horizon comparison (pipeline/analysis), reads the series,
// the alert notifications, the flows and the differences through the read
// side (pipeline/query), and turns all of it into a findings.Input.
// `analyze report` and `analyze backlog` call Input and nothing else.
package gather

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Request names the run to gather.
type Request struct {
	Spec       *experiment.Spec
	Experiment *experiment.Experiment
	// Window is the resolved window (query.Reader.ResolveWindow with
	// LabelRun).
	Window query.Resolved
	// Now is when the data are read; it is also the flows' watermark.
	Now time.Time
	// AdHoc is true when Experiment has no definition (only its id): the
	// comparison uses the default SLIs, as compare does.
	AdHoc bool
	// AllAttributes keeps per-process and per-request attributes (ports,
	// ids, timestamps) in "what is different".
	AllAttributes bool
}

// adHocHypothesis stands in for the hypothesis of an experiment known
// only from telemetry.
const adHocHypothesis = "No definition: an ad-hoc experiment known only from its telemetry, compared on the default SLIs (error rate and latency p50/p95/p99 of all its events)."

// Input reads everything a report and its backlog are computed from.
func Input(ctx context.Context, r *query.Reader, req Request) (findings.Input, error) {
	in, err := gatherRest(ctx, r, req)
	if err != nil {
		return findings.Input{}, err
	}
	res, err := analysis.Compare(ctx, &analysis.Store{C: r.C}, CompareRequest(req), analysis.Settings{}, req.Now)
	if err != nil {
		return findings.Input{}, err
	}
	FromComparison(&in, req.Experiment, res)
	return in, nil
}

// CompareRequest is the comparison a report shows: the run's window, with
// the run (or the --run label of a --since/--until window) named.
func CompareRequest(req Request) analysis.Request {
	e, w := req.Experiment, req.Window
	out := analysis.Request{ExperimentID: e.ID, Experiment: e, Window: w.Window}
	if req.AdHoc {
		out.Experiment = nil // the default SLIs
	}
	switch {
	case w.Run != nil:
		out.Run = w.Run
	case w.Label != "":
		end := w.Window.Until
		out.Run = &analysis.Run{ID: w.Label, ExperimentID: e.ID, Start: w.Window.Since, End: &end}
	}
	return out
}

// runOf describes the window for the report.
func runOf(w query.Resolved) findings.Run {
	r := findings.Run{ID: w.Label, Start: w.Window.Since, End: w.Window.Until, Open: w.Open()}
	if w.Run != nil {
		r.Operator, r.Note = w.Run.Operator, w.Run.Note
	}
	return r
}

// gatherRest fills everything but the comparison (SLIs, verdict, SRM, stop
// conditions, blast radius), which FromComparison adds.
func gatherRest(ctx context.Context, r *query.Reader, req Request) (findings.Input, error) {
	e := req.Experiment
	win := req.Window.Window
	in := findings.Input{
		Experiment: findings.Experiment{
			ID: e.ID, Title: e.Title, Hypothesis: e.Hypothesis, Owner: e.Owner,
			ExpectedExperimentShare: e.Cohorts.ExpectedSplit.Experiment,
		},
		Run:         runOf(req.Window),
		GeneratedAt: req.Now.UTC(),
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
	if in.Series, err = series(ctx, r, e, win); err != nil {
		return in, err
	}
	if in.Alerts, err = alerts(ctx, r, e.ID, win.Since, win.Until.Add(longest)); err != nil {
		return in, err
	}
	for _, name := range e.Flows {
		fl, ok := req.Spec.Flow(name)
		if !ok {
			return in, fmt.Errorf("experiment %s names flow %q, which is not defined", e.ID, name)
		}
		res, err := flow(ctx, r, fl, win, req.Now)
		if err != nil {
			return in, err
		}
		in.Flows = append(in.Flows, res)
	}
	if in.Differences, err = differences(ctx, r, e.ID, win, req.AllAttributes); err != nil {
		return in, err
	}
	if in.VerdictHistory, err = verdictHistory(ctx, r, e.ID, req.Window); err != nil {
		return in, err
	}
	if req.AdHoc {
		in.Experiment.Hypothesis = adHocHypothesis
	}
	return in, nil
}

// verdictHistory is every look `analyze live` wrote during the window (a
// second of slack at the end: the last look is stamped after it), of the
// run when the window is a run's.
func verdictHistory(ctx context.Context, r *query.Reader, experimentID string, w query.Resolved) ([]findings.VerdictPoint, error) {
	rows, err := r.VerdictHistory(ctx, experimentID, query.HistoryLive, w.Window.Since, w.Window.Until.Add(time.Second))
	if err != nil {
		return nil, err
	}
	changes, err := r.VerdictChanges(ctx, experimentID, query.HistoryLive, w.Window.Since, w.Window.Until.Add(time.Second))
	if err != nil {
		return nil, err
	}
	type at struct {
		ns  int64
		sli string
	}
	why := make(map[at]string, len(changes))
	for _, c := range changes {
		why[at{c.Time.UnixNano(), c.SLI}] = c.Reason
	}
	out := make([]findings.VerdictPoint, 0, len(rows))
	for _, v := range rows {
		if w.Run != nil && v.RunID != "" && v.RunID != w.Run.ID {
			continue
		}
		out = append(out, findings.VerdictPoint{Time: v.Time, SLI: v.SLI, Verdict: v.Verdict, Provisional: v.Provisional,
			PValue: v.AdjustedPValue, Effect: v.Effect, CILower: v.CILower, CIUpper: v.CIUpper,
			StopCondition: v.StopCondition, StopHolds: v.StopHolds, StopValue: v.StopValue, ChangeReason: why[at{v.Time.UnixNano(), v.SLI}]})
	}
	return out, nil
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
func series(ctx context.Context, r *query.Reader, e *experiment.Experiment, w query.Window) ([]findings.SeriesPoint, error) {
	req := query.SeriesRequest{ExperimentID: e.ID, Since: w.Since.Add(-w.Duration()), Until: w.Until,
		Step: time.Duration(seriesStep(w.Duration())) * time.Second}
	if len(e.SLIs) > 0 {
		req.Service, req.Operation = e.SLIs[0].Filter.Service, e.SLIs[0].Filter.Operation
	}
	rows, err := r.Series(ctx, req)
	if err != nil {
		return nil, err
	}
	out := make([]findings.SeriesPoint, len(rows))
	for i, p := range rows {
		out[i] = findings.SeriesPoint{Time: p.Time, Cohort: p.Cohort, Events: p.Events, Errors: p.Errors, P50ms: p.P50ms, P99ms: p.P99ms}
	}
	return out, nil
}

func alerts(ctx context.Context, r *query.Reader, experimentID string, since, until time.Time) ([]findings.AlertEvent, error) {
	rows, err := r.AlertEvents(ctx, experimentID, since, until)
	if err != nil {
		return nil, err
	}
	var out []findings.AlertEvent
	for _, a := range rows {
		out = append(out, findings.AlertEvent{Name: a.Name, Severity: a.Severity, Status: a.Status, Time: a.Time, Cohort: a.Cohort, Fingerprint: a.Fingerprint})
	}
	return out, nil
}

// flow judges the flow's items that started during the run the way
// `analyze flows check` does (pipeline/flows: each stage's deadline, the
// time the data were read as the watermark), once per cohort, so the
// report has each cohort's funnel and where its stuck items stopped.
func flow(ctx context.Context, r *query.Reader, fl *experiment.Flow, w query.Window, now time.Time) (findings.FlowResult, error) {
	stages := make([]string, len(fl.Stages))
	for i, st := range fl.Stages {
		stages[i] = st.Name
	}
	res := findings.FlowResult{Name: fl.Name, Owner: fl.Owner, Severity: string(fl.Severity), RunbookURL: fl.RunbookURL,
		Stages: stages, WithinSeconds: fl.Within.Seconds()}
	if n := len(stages); n == 0 || n > flows.MaxStages {
		return res, fmt.Errorf("flow %q (%s): %d stages; the check handles 1 to %d", fl.Name, fl.Pos, n, flows.MaxStages)
	}
	rows, err := r.FlowItems(ctx, query.FlowItemsRequest{Flow: fl.Name, Stages: stages, Since: w.Since, ReportSince: w.Since, Until: w.Until})
	if err != nil {
		return res, err
	}
	byCohort := map[telemetry.Cohort][]flows.ItemRow{}
	for _, row := range rows {
		if !row.Synthetic {
			byCohort[row.Cohort] = append(byCohort[row.Cohort], row)
		}
	}
	wm := now
	var stuck []flows.StuckItem
	for _, cohort := range []telemetry.Cohort{telemetry.CohortExperiment, telemetry.CohortControl, telemetry.CohortNone} {
		if len(byCohort[cohort]) == 0 {
			continue
		}
		rep := flows.Evaluate(fl, byCohort[cohort], flows.EvalSettings{Now: now, Watermark: &wm})
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
// came from and (unless all) per-process or per-request noise, ranked by
// a significance-aware score (findings.RankDifferences), the top 10 each
// with three exemplar traces.
func differences(ctx context.Context, r *query.Reader, experimentID string, w query.Window, all bool) ([]findings.Difference, error) {
	req := query.DifferencesRequest{ExperimentID: experimentID, Since: w.Since, Until: w.Until, Limit: 500,
		Excluded: findings.DifferenceExcludedKeys, Noise: findings.DifferenceNoiseKeys}
	if all {
		req.Noise = ""
	}
	rows, err := r.Differences(ctx, req)
	if err != nil {
		return nil, err
	}
	var out []findings.Difference
	for _, d := range rows {
		out = append(out, findings.Difference{Key: d.Key, Value: d.Value, Bad: d.Bad, BadTotal: d.BadTotal, Control: d.Control, ControlTotal: d.ControlTotal})
	}
	out = findings.RankDifferences(out, 10)
	for i := range out {
		if out[i].Exemplars, err = r.Exemplars(ctx, experimentID, w.Since, w.Until, out[i].Key, out[i].Value, 3); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// History analyses up to n runs of the experiment that started before the
// run of cur (which is the newest) and sets them side by side with it,
// oldest first; nil when there is no earlier finished run.
func History(ctx context.Context, r *query.Reader, req Request, cur findings.Input, n int) (*findings.History, error) {
	runs, err := r.Runs(ctx, req.Experiment.ID, 1000)
	if err != nil {
		return nil, err
	}
	var earlier []query.Run
	for _, run := range runs { // newest first
		if run.ID != cur.Run.ID && run.Start.Before(cur.Run.Start) && run.End != nil && len(earlier) < n-1 {
			earlier = append(earlier, run)
		}
	}
	if len(earlier) == 0 {
		return nil, nil
	}
	list := make([]findings.RunAnalysis, 0, len(earlier)+1)
	for i := len(earlier) - 1; i >= 0; i-- {
		run := earlier[i]
		rr := req
		rr.Window = query.Resolved{Window: query.Window{Since: run.Start, Until: *run.End}, Run: &run, Label: run.ID}
		in, err := Input(ctx, r, rr)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", run.ID, err)
		}
		list = append(list, findings.RunAnalysis{Input: in, Result: findings.Derive(in)})
	}
	list = append(list, findings.RunAnalysis{Input: cur, Result: findings.Derive(cur)})
	return findings.BuildHistory(list), nil
}

// FromComparison copies a comparison result into a report input: verdict,
// cohort sizes and how their events were tagged, SLIs (with the definition's objectives), SRM, stop
// conditions and blast radius.
func FromComparison(in *findings.Input, e *experiment.Experiment, res *analysis.Result) {
	in.Verdict, in.VerdictReason = string(res.Verdict), res.Reason
	in.AnalysisUnit = res.Unit
	in.Cohorts = findings.CohortSizes{Control: res.Cohorts.Control, Experiment: res.Cohorts.Experiment}
	if t := res.Tagging; t != nil {
		in.Tagging = &findings.Tagging{
			Direct:          findings.CohortSizes{Control: t.Direct.Control, Experiment: t.Direct.Experiment},
			TraceIngest:     findings.CohortSizes{Control: t.TraceIngest.Control, Experiment: t.TraceIngest.Experiment},
			TraceClickHouse: findings.CohortSizes{Control: t.TraceClickHouse.Control, Experiment: t.TraceClickHouse.Experiment},
		}
	}
	in.SRM = &findings.SRM{Expected: res.SRM.ExpectedExperimentShare, Observed: res.SRM.ObservedExperimentShare, PValue: res.SRM.PValue, Mismatch: res.SRM.Mismatch}
	for _, m := range res.Metrics {
		sli := findings.SLIResult{
			Name: m.Name, Type: m.Type, Unit: m.Unit, Direction: m.Direction, Quantile: m.Quantile,
			Control:    findings.CohortValue{N: m.Control.N, Value: m.Control.Value, Bad: m.Control.Bad, Units: m.Control.Units},
			Experiment: findings.CohortValue{N: m.Experiment.N, Value: m.Experiment.Value, Bad: m.Experiment.Bad, Units: m.Experiment.Units},
			Effect:     m.Effect.Absolute, Relative: m.Effect.Relative,
			CILower: m.CI.Lower, CIUpper: m.CI.Upper, CILevel: m.CI.Level,
			Test: m.Test, PValue: m.AdjustedPValue, PText: analysis.PText(&m), Allowed: m.Tolerance.Allowed, Verdict: string(m.Verdict), Note: m.Note,
		}
		if d, ok := e.SLI(m.Name); ok {
			sli.Objective = d.Objective
		}
		in.SLIs = append(in.SLIs, sli)
	}
	for _, st := range res.StopConditions {
		in.StopConditions = append(in.StopConditions, findings.StopCondition{SLI: st.SLI, Op: st.Op, Threshold: st.Threshold, Value: st.Value, Holds: st.Holds, Since: st.Since})
	}
	if b := res.BlastRadius; b != nil {
		br := &findings.BlastRadius{
			BeforeEvents: b.Before.Events, BeforeErrors: b.Before.Errors, DuringEvents: b.During.Events, DuringErrors: b.During.Errors,
			ErrorRateBefore: b.ErrorRateBefore, ErrorRateDuring: b.ErrorRateDuring, PValue: b.PValue, Verdict: string(b.Verdict), Degraded: b.Degraded,
		}
		for _, sv := range b.Services {
			br.Services = append(br.Services, sv.Service)
		}
		in.BlastRadius = br
	}
}
