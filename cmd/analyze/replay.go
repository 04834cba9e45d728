package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
)

type replayOptions struct {
	runRead
	Runs int
	Tick time.Duration
}

func newCmdReplay(f *factory) *cobra.Command {
	opts := &replayOptions{runRead: newRunRead(f)}
	cmd := &cobra.Command{
		Use:   "replay <experiment>",
		Short: "A/A replay: split a stored run's control traffic in two and judge it many times",
		Long: `replay reads the control cohort's stored events of a run's window (the
latest run, --run, or --since/--until), splits them into two pseudo-cohorts
by a salted hash of the randomization unit (the experiment's cohorts.unit,
the subject by default; the planned split), and runs the unchanged compare
and live evaluation (a look every --tick) once per salt. Both halves are
the same traffic, so every fail is a false fail and every sample-ratio
mismatch a false alarm; it prints their rates next to the harness targets
(false fail <= 5%, SRM <= 1%) and exits 3 when a rate is above them.`,
		Example: `  analyze replay checkout-payment-500 --runs 200`,
		Args:    cliutil.ExperimentArg("experiment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			if opts.Runs <= 0 {
				return cliutil.FlagErrorf("--runs %d: want a positive number", opts.Runs)
			}
			return replayRun(cmd.Context(), opts)
		},
	}
	cliutil.AddWindowFlags(cmd.Flags(), &opts.Window, "replay this run's window (default: the latest run)")
	cmd.Flags().IntVar(&opts.Runs, "runs", 100, "number of salts (pseudo-random splits)")
	cmd.Flags().DurationVar(&opts.Tick, "tick", 5*time.Second, "live look interval")
	return cmd
}

func replayRun(ctx context.Context, opts *replayOptions) error {
	o, err := readSpec(ctx, opts.f, func(spec *experiment.Spec, r *query.Reader) (analysis.ReplayOutcome, error) {
		return analysis.ReplayStored(ctx, r, opts.target(spec), opts.Runs, opts.Tick, opts.Now())
	})
	if err != nil {
		return err
	}
	if !analysis.WriteReplay(opts.f.IO.Out, opts.Experiment, o.Unit, o.Window, o.Summary, o.Took) {
		return &cliutil.VerdictError{Msg: fmt.Sprintf("experiment %s: A/A replay rates above the targets", opts.Experiment)}
	}
	return nil
}
