package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/backlog"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/gather"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/report"
)

// report and backlog both turn a run's findings into something people
// read: the report files, or backlog items ranked by risk. Both load the
// report input below.

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
			return cliutil.Run(cmd.Context(), opts, runF, reportRun)
		},
	}
	cliutil.AddWindowFlags(cmd.Flags(), &opts.Window, cliutil.PostRunHelp)
	cmd.Flags().StringVar(&opts.Out, "out", "report", "directory to write the report into")
	cmd.Flags().BoolVar(&opts.AllAttributes, "all-attributes", false, "keep per-process and per-request attributes (ports, ids, timestamps) in \"what is different\"")
	return cmd
}

// loadReport reads the run's report input (gather.LoadReport), for report
// and backlog.
func (o *runRead) loadReport(ctx context.Context, allAttributes bool) (findings.Input, error) {
	return readSpec(ctx, o.f, func(spec *experiment.Spec, r *query.Reader) (findings.Input, error) {
		return gather.LoadReport(ctx, r, spec, o.Experiment, o.Window, o.Now(), allAttributes)
	})
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

type backlogOptions struct {
	runRead
	backlog.Options
}

func newCmdBacklog(f *factory, runF func(*backlogOptions) error) *cobra.Command {
	opts := &backlogOptions{runRead: newRunRead(f)}
	cmd := &cobra.Command{
		Use:   "backlog <experiment>",
		Short: "Turn a run's findings into backlog items ranked by risk",
		Long: `backlog computes the findings of a run (as analyze report does) and writes
the ones that need work as backlog items, most urgent first. Each item has
a title, a description with the evidence, a suggested owner, labels, a risk
estimate (bad minutes per user: impact x duration x share of users
affected; and the share of a 30-day error budget one occurrence burns) and
a fingerprint that stays the same for the same finding of the experiment.

Formats:
  md      Markdown (default)
  github  the GitHub "create an issue" request bodies, as a JSON array; with
          --create --repo owner/name the issues are created with the token
          in $GITHUB_TOKEN, skipping every item whose fingerprint is already
          on an issue of the repository (labelled steadystate), so running it
          again creates nothing new. Without --create nothing is sent.
  jira    a CSV file for Jira's importer (Summary, Issue Type, Priority,
          Description, Labels..., Fingerprint)`,
		Example: `  analyze backlog checkout-payment-500
  analyze backlog checkout-payment-500 --format jira > backlog.csv
  analyze backlog checkout-payment-500 --format github                       # dry run: the payloads
  GITHUB_TOKEN=... analyze backlog checkout-payment-500 --format github --create --repo acme/shop`,
		Args: cliutil.ExperimentArg("experiment id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			opts.Token = os.Getenv("GITHUB_TOKEN")
			if err := opts.Check(); err != nil {
				return &cliutil.FlagError{Err: err}
			}
			return cliutil.Run(cmd.Context(), opts, runF, backlogRun)
		},
	}
	cliutil.AddWindowFlags(cmd.Flags(), &opts.Window, cliutil.PostRunHelp)
	opts.AddFlags(cmd.Flags())
	return cmd
}

func backlogRun(ctx context.Context, opts *backlogOptions) error {
	in, err := opts.loadReport(ctx, false)
	if err != nil {
		return err
	}
	return backlog.Write(ctx, opts.f.IO.Out, findings.Derive(in).Backlog, opts.WriteOptions(opts.Experiment, opts.f.IO.ErrOut))
}
