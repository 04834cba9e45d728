package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/gather"
	"github.com/steadystate/steadystate/pipeline/query"
)

func newCmdRun(f *factory) *cobra.Command {
	return group(&cobra.Command{
		Use:   "run",
		Short: "Record when an experiment runs",
		Long: `run records experiment runs in ClickHouse (the runs table): a run id, its
start and end, the operator and a note. compare, live and report use the
latest run's window unless told otherwise. list shows the recorded runs,
history sets an experiment's runs side by side.`,
	}, newCmdRunStart(f), newCmdRunStop(f), newCmdRunList(f), newCmdRunHistory(f))
}

func newCmdRunStart(f *factory) *cobra.Command {
	var operator, note string
	cmd := &cobra.Command{
		Use:     "start <experiment>",
		Short:   "Record that a run of the experiment starts now",
		Example: `  analyze run start checkout-payment-500 --operator alice --note "game day 3"`,
		Args:    cliutil.ExperimentArg("experiment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := read(cmd.Context(), f, func(rd *query.Reader) (*query.Run, error) {
				return rd.StartRun(cmd.Context(), args[0], operator, note, time.Now())
			})
			if err == nil {
				fmt.Fprintf(f.IO.Out, "started %s of %s at %s\n", r.ID, r.ExperimentID, r.Start.Format(time.RFC3339))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&operator, "operator", "", "who runs the experiment")
	cmd.Flags().StringVar(&note, "note", "", "free text recorded with the run")
	return cmd
}

func newCmdRunStop(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:     "stop <experiment>",
		Short:   "Record that the experiment's open run ends now",
		Example: `  analyze run stop checkout-payment-500`,
		Args:    cliutil.ExperimentArg("experiment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := read(cmd.Context(), f, func(rd *query.Reader) (*query.Run, error) {
				return rd.StopRun(cmd.Context(), args[0], time.Now())
			})
			if err == nil {
				fmt.Fprintf(f.IO.Out, "stopped %s of %s at %s (%s)\n", r.ID, r.ExperimentID, r.End.Format(time.RFC3339), r.End.Sub(r.Start).Round(time.Second))
			}
			return err
		},
	}
}

type runListOptions struct {
	f          *factory
	Experiment string
	Limit      int
	Output     string
}

func newCmdRunList(f *factory) *cobra.Command {
	opts := &runListOptions{f: f}
	cmd := &cobra.Command{
		Use:   "list [experiment]",
		Short: "List recorded runs, newest first, with the last verdict recorded for each",
		Long: `list prints the recorded runs of one experiment (or of every experiment):
run id, start, end, duration, operator, note, and the last overall verdict
live or compare recorded for the run in the verdict history, with how many
evaluations recorded it.`,
		Example: `  analyze run list
  analyze run list checkout-payment-500 --output json`,
		Args: cliutil.OptionalExperimentArg("experiment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Experiment = args[0]
			}
			if opts.Limit < 1 {
				return cliutil.FlagErrorf("--limit %d: want at least 1", opts.Limit)
			}
			return runListRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Limit, "limit", 50, "at most this many runs")
	cliutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func runListRun(ctx context.Context, opts *runListOptions) error {
	runs, err := read(ctx, opts.f, func(r *query.Reader) ([]query.RunListing, error) {
		return r.RunList(ctx, opts.Experiment, opts.Limit)
	})
	if err != nil {
		return err
	}
	return cliutil.Print(opts.f.IO.Out, opts.Output, runs, query.WriteRunList)
}

type runHistoryOptions struct {
	f          *factory
	Experiment string
	Runs       int
	Output     string
	Now        func() time.Time
}

func newCmdRunHistory(f *factory) *cobra.Command {
	opts := &runHistoryOptions{f: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "history <experiment>",
		Short: "Set the experiment's runs side by side: verdicts, key SLI values, findings, backlog items new, recurring or fixed",
		Long: `history analyses the experiment's latest --runs runs (the newest may still
be going on) the way report does and sets them side by side, oldest first:
each run's verdict, the experiment and control values of every SLI, and
how many findings it had. Each backlog item (by its stable fingerprint) is
marked per run: new (first found), recurring (found before too), fixed
(absent although the run exercised the same SLI, flow or alert) or not
exercised (absent, but the run could not show it). The report of a run
has the same table in its "Run history" section.`,
		Example: `  analyze run history checkout-payment-500
  analyze run history checkout-payment-500 --runs 3 --output json`,
		Args: cliutil.ExperimentArg("experiment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			if opts.Runs < 2 {
				return cliutil.FlagErrorf("--runs %d: want at least 2", opts.Runs)
			}
			return runHistoryRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Runs, "runs", gather.HistoryRuns, "how many of the latest runs to compare")
	cliutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func runHistoryRun(ctx context.Context, opts *runHistoryOptions) error {
	h, err := readSpec(ctx, opts.f, func(spec *experiment.Spec, r *query.Reader) (*findings.History, error) {
		return gather.LoadRunHistory(ctx, r, spec, opts.Experiment, opts.Runs, opts.Now())
	})
	if err != nil {
		return err
	}
	return cliutil.Print(opts.f.IO.Out, opts.Output, h, findings.WriteHistory)
}
