package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/report"
)

type reportOptions struct {
	runRead
	Out string
	// AllAttributes keeps per-process and per-request attributes (ports,
	// ids, timestamps) in "what is different".
	AllAttributes bool
}

func newCmdReport(f *factory, runF func(*reportOptions) error) *cobra.Command {
	opts := &reportOptions{runRead: newRunRead(f)}
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
		Args: cliutil.ExperimentArg("experiment id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			if opts.Out == "" {
				return cliutil.FlagErrorf("--out must not be empty")
			}
			if runF != nil {
				return runF(opts)
			}
			return reportRun(cmd.Context(), opts)
		},
	}
	cliutil.AddWindowFlags(cmd.Flags(), &opts.Window, cliutil.PostRunHelp)
	cmd.Flags().StringVar(&opts.Out, "out", "report", "directory to write the report into")
	cmd.Flags().BoolVar(&opts.AllAttributes, "all-attributes", false, "keep per-process and per-request attributes (ports, ids, timestamps) in \"what is different\"")
	return cmd
}

func reportRun(ctx context.Context, opts *reportOptions) error {
	in, err := opts.loadReport(ctx, opts.AllAttributes)
	if err != nil {
		return err
	}
	r := report.Build(in)
	paths, err := r.WriteDir(opts.Out)
	if err != nil {
		return err
	}
	r.WriteSummary(opts.f.IO.Out, paths)
	return nil
}
