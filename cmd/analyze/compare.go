package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/stats"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

type compareOptions struct {
	f          *factory
	Experiment string
	Window     query.WindowFlags
	Output     string
	ExitCode   bool
	Alpha      float64
	Now        func() time.Time
}

func newCmdCompare(f *factory, runF func(*compareOptions) error) *cobra.Command {
	opts := &compareOptions{f: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "compare <experiment>",
		Short: "Compare the experiment cohort with control, once",
		Long: `compare judges every SLI of the experiment, experiment cohort against
control, over one window: the latest run's (analyze run start|stop), the run
given with --run, --since/--until, or else the definition's window.

Without a definition in --experiments it compares the default SLIs (error
rate; latency p50, p95, p99) of whatever telemetry carries the id.

Counts come from the cohort_stats view, latency from a deterministic sample
of the raw events. Error rates use Fisher's exact test and Newcombe
intervals, latency Mann-Whitney U and order-statistic intervals, with Holm's
adjustment across SLIs. A metric's verdict is pass, fail, inconclusive or
insufficient_data; the overall verdict is untrusted when the cohort sizes
do not match the planned split (sample-ratio mismatch).

A terminal gets a table, --output json the documented JSON (README,
"Comparing cohorts"). With --exit-code a fail verdict exits 3.`,
		Example: `  analyze compare checkout-payment-500
  analyze compare checkout-payment-500 --run run-20261121T100000.000Z --output json
  analyze compare some-experiment --since 30m --exit-code`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			if err := telemetry.ValidateID(opts.Experiment); err != nil {
				return badExperimentID(err)
			}
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			if !(opts.Alpha > 0 && opts.Alpha < 0.5) {
				return cliutil.FlagErrorf("--alpha %v: want a value in (0, 0.5)", opts.Alpha)
			}
			if runF != nil {
				return runF(opts)
			}
			return compareRun(cmd, opts)
		},
	}
	addWindowFlags(cmd, &opts.Window, "compare this run's window (default: the latest run)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	cmd.Flags().BoolVar(&opts.ExitCode, "exit-code", false, "exit 3 when the verdict is fail")
	cmd.Flags().Float64Var(&opts.Alpha, "alpha", analysis.DefaultAlpha, "significance level of every test")
	return cmd
}

// badExperimentID is the usage error for an invalid experiment id.
func badExperimentID(err error) error {
	return cliutil.FlagErrorf("experiment: %v", err)
}

func compareRun(cmd *cobra.Command, opts *compareOptions) error {
	ctx := cmd.Context()
	e, err := lookupExperiment(opts.f, opts.Experiment)
	if err != nil {
		return err
	}
	r, c, err := openReader(ctx, opts.f)
	if err != nil {
		return err
	}
	defer c.Close()
	now := opts.Now()
	win, err := r.ResolveWindow(ctx, query.WindowRequest{ExperimentID: opts.Experiment, Flags: opts.Window, Definition: definitionWindow(e)}, now)
	if err != nil {
		return err
	}
	res, err := analysis.Compare(ctx, &analysis.Store{C: c}, analysis.Request{ExperimentID: opts.Experiment, Experiment: e, Window: win.Window, Run: win.Run},
		analysis.Settings{Alpha: opts.Alpha}, now)
	if err != nil {
		return err
	}
	if err := r.WriteVerdicts(ctx, analysis.VerdictRows(res, analysis.HistoryCompare)); err != nil {
		fmt.Fprintf(opts.f.IO.ErrOut, "analyze compare: recording the verdict history: %v\n", err)
	}
	if opts.Output == "json" {
		err = writeJSON(opts.f.IO, res)
	} else {
		err = analysis.WriteTable(opts.f.IO.Out, res)
	}
	if err != nil {
		return err
	}
	if opts.ExitCode && res.Verdict == stats.VerdictFail {
		return &cliutil.VerdictError{Msg: fmt.Sprintf("experiment %s: verdict fail", opts.Experiment)}
	}
	return nil
}
