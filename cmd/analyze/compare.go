package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/stats"
)

type compareOptions struct {
	runRead
	Output   string
	ExitCode bool
	Alpha    float64
}

func newCmdCompare(f *factory) *cobra.Command {
	opts := &compareOptions{runRead: newRunRead(f)}
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
		Args: cliutil.ExperimentArg("experiment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			if err := cliutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			if err := checkAlpha(opts.Alpha); err != nil {
				return err
			}
			return compareRun(cmd.Context(), opts)
		},
	}
	cliutil.AddWindowFlags(cmd.Flags(), &opts.Window, "compare this run's window (default: the latest run)")
	cliutil.AddOutputFlag(cmd.Flags(), &opts.Output)
	cmd.Flags().BoolVar(&opts.ExitCode, "exit-code", false, "exit 3 when the verdict is fail")
	cmd.Flags().Float64Var(&opts.Alpha, "alpha", analysis.DefaultAlpha, "significance level of every test")
	return cmd
}

// checkAlpha is the usage error for an --alpha outside (0, 0.5).
func checkAlpha(a float64) error {
	if !(a > 0 && a < 0.5) {
		return cliutil.FlagErrorf("--alpha %v: want a value in (0, 0.5)", a)
	}
	return nil
}

func compareRun(ctx context.Context, opts *compareOptions) error {
	res, err := readSpec(ctx, opts.f, func(spec *experiment.Spec, r *query.Reader) (*analysis.Result, error) {
		return analysis.CompareOnce(ctx, r, opts.target(spec), analysis.Settings{Alpha: opts.Alpha}, opts.Now(), opts.f.IO.ErrOut)
	})
	if err != nil {
		return err
	}
	if err := cliutil.Print(opts.f.IO.Out, opts.Output, res, analysis.WriteTable); err != nil {
		return err
	}
	if opts.ExitCode && res.Verdict == stats.VerdictFail {
		return &cliutil.VerdictError{Msg: fmt.Sprintf("experiment %s: verdict fail", opts.Experiment)}
	}
	return nil
}
