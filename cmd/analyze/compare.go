package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/live"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/stats"
)

// compare, live and replay judge the experiment cohort against control:
// once, every few seconds while the run goes on, and as A/A replays of a
// stored run's control traffic. They share the window flags and the
// target below; compare and live take --alpha.

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
			if err := analysis.CheckAlpha(opts.Alpha); err != nil {
				return cliutil.FlagErrorf("--%w", err)
			}
			return compareRun(cmd.Context(), opts)
		},
	}
	cliutil.AddWindowFlags(cmd.Flags(), &opts.Window, "compare this run's window (default: the latest run)")
	cliutil.AddOutputFlag(cmd, &opts.Output)
	cmd.Flags().BoolVar(&opts.ExitCode, "exit-code", false, "exit 3 when the verdict is fail")
	cmd.Flags().Float64Var(&opts.Alpha, "alpha", analysis.DefaultAlpha, "significance level of every test")
	return cmd
}

// target is the experiment and window compare and replay judge.
func (o *runRead) target(spec *experiment.Spec) analysis.Target {
	return analysis.Target{ID: o.Experiment, Experiment: spec.Lookup(o.Experiment), Window: o.Window}
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
	return cliutil.Verdictf(opts.ExitCode && res.Verdict == stats.VerdictFail, "experiment %s: verdict fail", opts.Experiment)
}

// liveOptions are the flags, filling the session they start.
type liveOptions struct {
	f *factory
	live.Session
}

func newCmdLive(f *factory, runF func(*liveOptions) error) *cobra.Command {
	opts := &liveOptions{f: f, Session: live.Session{Now: time.Now}}
	cmd := &cobra.Command{
		Use:   "live <experiment>",
		Short: "Watch the cohort comparison refresh every few seconds",
		Long: `live compares the experiment cohort with control every --interval, from
the start of the latest run (or --run, --since) until now: per-SLI values
per cohort, effects with intervals, verdicts, the sample-ratio and
blast-radius status, and the stop conditions.

The tests are anytime-valid (a mixture sequential probability ratio test
and a confidence sequence), so looking every 5 s keeps the false-fail rate
at --alpha; results are marked provisional (*) below the minimum sample.
Counts come from the cohort_stats view; a bucket is read once it lies
before the sink's watermark (--consumer-group's progress; without one,
once it is 30 s old) and only the younger ones are re-read each time.

A terminal gets a table redrawn in place, a pipe one JSON object per line
(the same format as compare --output json). When a stop condition holds
live says so at the top, posts it once to --webhook (JSON) and
--alertmanager (a v2 alert, through pipeline/notify), and with --exit-on-stop exits 3.

With --web ADDRESS live also serves the war-room page for the shared
screen: the SLI table with verdicts, error rate and p99 latency per cohort
with the run shaded, the stop banner, the flows and their stuck items and
the expected alerts, pushed to every open page at each look (server-sent
events; the page fetches nothing else). Like every Steadystate listener, a
non-loopback address needs --web-token (the printed URL carries it) or
--insecure-listen (or STEADYSTATE_INSECURE=1).

Every look is also written to the verdict_history table, which the report's
timeline and the Grafana verdict panels read: the looks together every 30 s,
at once when a verdict or the stop state changes, and when live ends.`,
		Example: `  analyze live checkout-payment-500
  analyze live checkout-payment-500 --interval 10s --exit-on-stop --alertmanager http://127.0.0.1:9093
  analyze live checkout-payment-500 --duration 15m | jq .verdict
  analyze live checkout-payment-500 --web 127.0.0.1:8088`,
		Args: cliutil.ExperimentArg("experiment"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target.ID = args[0]
			if err := opts.Validate(); err != nil {
				return err
			}
			return cliutil.Run(cmd.Context(), opts, runF, liveRun)
		},
	}
	cliutil.AddWindowFlags(cmd.Flags(), &opts.Target.Window, "compare this run's window (default: the latest run)")
	opts.AddFlags(cmd.Flags())
	return cmd
}

// liveGCPercent is the garbage collector's target while `analyze live`
// watches, unless GOGC says otherwise: a watcher's heap is small (its
// first look's per-unit counts and latency sample, a few MB), so at Go's
// default of 100 the first look collects again and again. 20 watchers of
// one experiment started together on the 10M-event bench database (`make
// bench-compare`'s cold start, 30 s), their CPU, 3 interleaved pairs, load
// 4-8: GOGC 100 4.00 / 3.67 / 3.96 s, 400 3.02 / 3.26 / 2.99 s (0.76x
// [0.75..0.89]); a watcher's peak RSS 45-48 MB either way (the binary's
// pages, not the heap).
const liveGCPercent = 400

// liveMaxProcs is how many threads run `analyze live`'s Go code at once
// (GOMAXPROCS) unless GOMAXPROCS says otherwise: a watcher spends its
// look waiting for ClickHouse, and its Go work (decoding the rows, the
// statistics) is a few milliseconds a look, so a second thread only
// spins looking for work and runs the collector's workers beside it,
// which a machine running many watchers pays for. 20 watchers of 20
// experiments started together on the 10M-event bench database (30 s, 7
// looks each), the watchers' CPU, 5 interleaved pairs (load 1.4-8.7):
// 2.55 -> 2.27, 2.68 -> 2.46, 2.58 -> 2.39, 2.54 -> 2.34, 2.92 -> 2.35 s
// (0.80-0.93x); the same looks, the same answers. The reads a look runs
// at once still run at once (they wait on the network, not on a thread).
// Restored when the command returns (in-process tests).
const liveMaxProcs = 1

func liveRun(ctx context.Context, opts *liveOptions) error {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(liveGCPercent))
	}
	if os.Getenv("GOMAXPROCS") == "" {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(liveMaxProcs))
	}
	s := &opts.Session
	s.Out, s.ErrOut, s.OutTTY = opts.f.IO.Out, opts.f.IO.ErrOut, opts.f.IO.OutTTY
	_, err := readSpec(ctx, opts.f, func(spec *experiment.Spec, r *query.Reader) (struct{}, error) {
		s.Target.Experiment, s.Spec = spec.Lookup(s.Target.ID), spec
		return struct{}{}, s.Run(ctx, r)
	})
	return err
}

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
	ok := analysis.WriteReplay(opts.f.IO.Out, opts.Experiment, o.Unit, o.Window, o.Summary, o.Took)
	return cliutil.Verdictf(!ok, "experiment %s: A/A replay rates above the targets", opts.Experiment)
}
