package main

import (
	"fmt"
	"sort"
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

// Replay targets, the same as the harness's A/A targets.
const (
	replayMaxFalseFail = 0.05
	replayMaxSRM       = 0.01
)

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
	unitAttr := ""
	unitName := "subject"
	if e != nil {
		attr, perUnit := e.Cohorts.UnitAttribute()
		unitAttr = attr
		switch {
		case !perUnit:
			unitName = "event"
		case attr != "":
			unitName = attr
		}
	}
	rows, err := r.ReplayEvents(ctx, opts.Experiment, win.Window, unitAttr)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("replay %s: no control events in %s .. %s", opts.Experiment, win.Window.Since.Format(time.RFC3339), win.Window.Until.Format(time.RFC3339))
	}
	events := make([]analysis.ReplayEvent, len(rows))
	for i, x := range rows {
		u := x.Unit
		if unitName == "event" {
			u = ""
		}
		events[i] = analysis.ReplayEvent{Time: time.Unix(0, int64(x.TimeNs)).UTC(), Unit: u, EventID: x.EventID, Service: x.Service,
			Operation: x.Operation, Error: x.Error, DurationNs: x.DurationNs, HTTPStatus: x.HTTPStatus}
	}
	start := time.Now()
	s, err := analysis.Replay(ctx, events, analysis.Request{ExperimentID: opts.Experiment, Experiment: e, Window: win.Window}, analysis.Settings{}, opts.Runs, opts.Tick)
	if err != nil {
		return err
	}
	ok := writeReplay(opts.f.IO.Out, opts.Experiment, unitName, win.Window, s, time.Since(start))
	if !ok {
		return &cliutil.VerdictError{Msg: fmt.Sprintf("experiment %s: A/A replay rates above the targets", opts.Experiment)}
	}
	return nil
}

func rate(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// writeReplay prints the replay summary and whether the rates are within
// the harness targets.
func writeReplay(w interface{ Write([]byte) (int, error) }, id, unit string, win analysis.Window, s analysis.ReplaySummary, took time.Duration) bool {
	ff := max(rate(s.CompareFail, s.Runs), rate(s.LiveFail, s.Runs))
	srm := max(rate(s.CompareSRM, s.Runs), rate(s.LiveSRM, s.Runs))
	ok := ff <= replayMaxFalseFail && srm <= replayMaxSRM
	fmt.Fprintf(w, "A/A replay of %s: control traffic %s .. %s, %d events, %d units (unit: %s), %d salts, %d live looks/run (%.1fs)\n",
		id, win.Since.Format(time.RFC3339), win.Until.Format(time.RFC3339), s.Events, s.Units, unit, s.Runs, s.Looks, took.Seconds())
	fmt.Fprintf(w, "                 false fail   SRM false alarm   pass\n")
	fmt.Fprintf(w, "compare (once)   %6.2f%%      %6.2f%%           %6.2f%%\n", 100*rate(s.CompareFail, s.Runs), 100*rate(s.CompareSRM, s.Runs), 100*rate(s.ComparePass, s.Runs))
	fmt.Fprintf(w, "live (any look)  %6.2f%%      %6.2f%%           %6.2f%% (at the end)\n", 100*rate(s.LiveFail, s.Runs), 100*rate(s.LiveSRM, s.Runs), 100*rate(s.LivePass, s.Runs))
	names := make([]string, 0, len(s.MetricFails))
	for n := range s.MetricFails {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s false fail (compare or live) %6.2f%%\n", n, 100*rate(s.MetricFails[n], s.Runs))
	}
	verdict := "yes"
	if !ok {
		verdict = "NO"
	}
	fmt.Fprintf(w, "within the harness targets (false fail <= %.0f%%, SRM <= %.0f%%): %s\n", 100*replayMaxFalseFail, 100*replayMaxSRM, verdict)
	return ok
}
