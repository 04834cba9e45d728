package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

type replayOptions struct {
	f          *factory
	Experiment string
	Window     query.WindowFlags
	Runs       int
	Tick       time.Duration
	Now        func() time.Time
}

func newCmdReplay(f *factory) *cobra.Command {
	opts := &replayOptions{f: f, Now: time.Now}
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
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			if err := telemetry.ValidateID(opts.Experiment); err != nil {
				return badExperimentID(err)
			}
			if opts.Runs <= 0 {
				return cliutil.FlagErrorf("--runs %d: want a positive number", opts.Runs)
			}
			return replayRun(cmd, opts)
		},
	}
	addWindowFlags(cmd, &opts.Window, "replay this run's window (default: the latest run)")
	cmd.Flags().IntVar(&opts.Runs, "runs", 100, "number of salts (pseudo-random splits)")
	cmd.Flags().DurationVar(&opts.Tick, "tick", 5*time.Second, "live look interval")
	return cmd
}

func replayRun(cmd *cobra.Command, opts *replayOptions) error {
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
	unitAttr, unitName := analysis.ReplayUnit(e)
	rows, err := r.ReplayEvents(ctx, opts.Experiment, win.Window, unitAttr)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("replay %s: no control events in %s .. %s", opts.Experiment, win.Window.Since.Format(time.RFC3339), win.Window.Until.Format(time.RFC3339))
	}
	events := analysis.ReplayEventsOf(rows, unitName == "event")
	start := time.Now()
	s, err := analysis.Replay(ctx, events, analysis.Request{ExperimentID: opts.Experiment, Experiment: e, Window: win.Window}, analysis.Settings{}, opts.Runs, opts.Tick)
	if err != nil {
		return err
	}
	ok := analysis.WriteReplay(opts.f.IO.Out, opts.Experiment, unitName, win.Window, s, time.Since(start))
	if !ok {
		return &cliutil.VerdictError{Msg: fmt.Sprintf("experiment %s: A/A replay rates above the targets", opts.Experiment)}
	}
	return nil
}
