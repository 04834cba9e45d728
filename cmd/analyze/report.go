package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/report"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

type reportOptions struct {
	f            *factory
	ExperimentID string
	Window       postRunWindowFlags
	Out          string
	Now          func() time.Time
}

func newCmdReport(f *factory, runF func(*reportOptions) error) *cobra.Command {
	opts := &reportOptions{f: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "report <experiment>",
		Short: "Write the findings report of a run: report.md, report.html, report.json and charts",
		Long: `report reads one run of an experiment (the latest unless --run names
another; --since/--until choose any window) and writes, into --out:

  report.md     the report in Markdown, charts linked from charts/
  report.html   the same, one self-contained page: inline SVG charts and CSS,
                no script and nothing fetched, for sharing or printing
  report.json   the input data and the analysis (schema_version 1)
  charts/*.png  error rate and p99 latency per cohort over time with the run
                window shaded, the funnel of each flow per cohort, and the
                error budget the experiment cohort burned

Sections: summary and verdict, hypothesis vs outcome per SLI, expectations
vs outcome with the team's split, timeline, charts, blast radius, flows,
alert coverage (expected alerts against the Alertmanager notifications
ingest stored), what is different (attribute values over-represented among
the experiment cohort's failures, with exemplar traces), findings and the
ranked backlog. The same data always give the same files.`,
		Example: `  analyze report checkout-payment-500
  analyze report checkout-payment-500 --run r-20261121 --out reports/2026-11-21`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ExperimentID = args[0]
			if err := telemetry.ValidateID(opts.ExperimentID); err != nil {
				return cliutil.FlagErrorf("experiment id: %w", err)
			}
			if opts.Out == "" {
				return cliutil.FlagErrorf("--out must not be empty")
			}
			if runF != nil {
				return runF(opts)
			}
			return reportRun(cmd.Context(), opts)
		},
	}
	addPostRunWindowFlags(cmd, &opts.Window)
	cmd.Flags().StringVar(&opts.Out, "out", "report", "directory to write the report into")
	return cmd
}

func addPostRunWindowFlags(cmd *cobra.Command, w *postRunWindowFlags) {
	cmd.Flags().StringVar(&w.Run, "run", "", "run id (default: the latest run)")
	cmd.Flags().StringVar(&w.Since, "since", "", "window start: RFC 3339 time or duration before now (instead of a run)")
	cmd.Flags().StringVar(&w.Until, "until", "", "window end: RFC 3339 time or duration before now (default: now)")
}

func reportRun(ctx context.Context, opts *reportOptions) error {
	in, err := loadReportInput(ctx, opts.f, opts.ExperimentID, opts.Window, opts.Now())
	if err != nil {
		return err
	}
	r := report.Build(in)
	paths, err := r.WriteDir(opts.Out)
	if err != nil {
		return err
	}
	out := opts.f.IO.Out
	fmt.Fprintf(out, "verdict %s · %d findings · %d backlog items\n", strings.ToUpper(orUnknown(in.Verdict)), len(r.Analysis.Findings), len(r.Analysis.Backlog))
	for _, fd := range r.Analysis.Findings {
		if fd.Severity.Rank() <= findings.High.Rank() {
			fmt.Fprintf(out, "  [%s] %s\n", fd.Severity, fd.Title)
		}
	}
	for _, p := range paths {
		fmt.Fprintf(out, "wrote %s\n", p)
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// loadReportInput reads the definitions, resolves the run and gathers
// everything the report and the backlog are computed from.
func loadReportInput(ctx context.Context, f *factory, experimentID string, wf postRunWindowFlags, now time.Time) (findings.Input, error) {
	spec, err := f.Spec()
	if err != nil {
		return findings.Input{}, err
	}
	e, ok := spec.Experiment(experimentID)
	if !ok {
		return findings.Input{}, fmt.Errorf("experiment %s is not defined in %s (see analyze experiments list)", experimentID, f.ExperimentsDir)
	}
	c, err := store.Open(ctx, f.StoreConfig())
	if err != nil {
		return findings.Input{}, err
	}
	defer c.Close()
	win, err := resolvePostRunWindow(ctx, c, experimentID, wf, now)
	if err != nil {
		return findings.Input{}, err
	}
	src := &reportSource{c: c, spec: spec, exp: e, win: win, now: now}
	in, err := src.gather(ctx)
	if err != nil {
		return findings.Input{}, err
	}
	if err := compareForReport(ctx, src, &in); err != nil {
		return findings.Input{}, err
	}
	return in, nil
}

// compareForReport fills the cohort comparison into in: verdict, cohort
// sizes, SLIs, SRM, stop conditions and blast radius, from the same
// fixed-horizon comparison `analyze compare` prints.
var compareForReport = func(ctx context.Context, s *reportSource, in *findings.Input) error {
	req := analysis.Request{ExperimentID: s.exp.ID, Experiment: s.exp, Window: analysis.Window{Since: s.win.Start, Until: s.win.End}}
	if s.win.RunID != "" {
		run := &analysis.Run{ID: s.win.RunID, ExperimentID: s.exp.ID, Start: s.win.Start, Operator: s.win.Operator, Note: s.win.Note}
		if !s.win.Open {
			end := s.win.End
			run.End = &end
		}
		req.Run = run
	}
	res, err := analysis.Compare(ctx, &analysis.Store{C: s.c}, req, analysis.Settings{}, s.now)
	if err != nil {
		return err
	}
	fillComparison(in, s.exp, res)
	return nil
}

// fillComparison copies a comparison result into a report input.
func fillComparison(in *findings.Input, e *experiment.Experiment, res *analysis.Result) {
	in.Verdict, in.VerdictReason = string(res.Verdict), res.Reason
	in.Cohorts = findings.CohortSizes{Control: res.Cohorts.Control, Experiment: res.Cohorts.Experiment}
	in.SRM = &findings.SRM{Expected: res.SRM.ExpectedExperimentShare, Observed: res.SRM.ObservedExperimentShare, PValue: res.SRM.PValue, Mismatch: res.SRM.Mismatch}
	for _, m := range res.Metrics {
		sli := findings.SLIResult{
			Name: m.Name, Type: m.Type, Unit: m.Unit, Direction: m.Direction, Quantile: m.Quantile,
			Control:    findings.CohortValue{N: m.Control.N, Value: m.Control.Value, Bad: m.Control.Bad},
			Experiment: findings.CohortValue{N: m.Experiment.N, Value: m.Experiment.Value, Bad: m.Experiment.Bad},
			Effect:     m.Effect.Absolute, Relative: m.Effect.Relative,
			CILower: m.CI.Lower, CIUpper: m.CI.Upper, CILevel: m.CI.Level,
			Test: m.Test, PValue: m.AdjustedPValue, Allowed: m.Tolerance.Allowed, Verdict: string(m.Verdict), Note: m.Note,
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
