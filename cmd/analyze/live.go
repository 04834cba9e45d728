package main

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/live"
	"github.com/steadystate/steadystate/pipeline/query"
)

// liveOptions are the flags, filling the session they start.
type liveOptions struct {
	f        *factory
	Duration time.Duration
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
timeline and the Grafana verdict panels read.`,
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
			if opts.Duration < 0 {
				return cliutil.FlagErrorf("--duration %s: must not be negative", opts.Duration)
			}
			if err := checkAlpha(opts.Settings.Alpha); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return liveRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	cliutil.AddWindowFlags(fl, &opts.Target.Window, "compare this run's window (default: the latest run)")
	fl.DurationVar(&opts.Interval, "interval", 5*time.Second, "refresh interval")
	fl.DurationVar(&opts.Duration, "duration", 0, "stop after this long (default: until interrupted)")
	fl.BoolVar(&opts.ExitOnStop, "exit-on-stop", false, "exit 3 as soon as a stop condition holds")
	fl.StringVar(&opts.Alertmanager, "alertmanager", "", "Alertmanager base URL to post a stop alert to (v2 API)")
	fl.StringVar(&opts.Webhook, "webhook", "", "URL to POST a JSON stop notice to")
	fl.Float64Var(&opts.Settings.Alpha, "alpha", analysis.DefaultAlpha, "anytime-valid significance level")
	fl.StringVar(&opts.Web.Addr, "web", "", "serve the war-room page at this address, e.g. 127.0.0.1:8088")
	fl.StringVar(&opts.Web.Token, "web-token", "", "token the page's URL must carry (required off loopback unless --"+listen.FlagInsecure+")")
	// The war room's own name for --insecure-listen, before it followed the
	// one rule (registered first: each registration sets the default).
	fl.BoolVar(&opts.Web.Insecure, "web-insecure", false, "")
	_ = fl.MarkDeprecated("web-insecure", "use --"+listen.FlagInsecure+" (the one flag of every listener)")
	fl.BoolVar(&opts.Web.Insecure, listen.FlagInsecure, listen.InsecureFromEnv(), listen.FlagUsage)
	fl.StringVar(&opts.ConsumerGroup, "consumer-group", flows.NewDefaultConfig().ConsumerGroup, "the sink's consumer group: buckets settle at its watermark (now - 30s when it wrote no progress), and the web view's flows panel shows it")
	return cmd
}

func liveRun(ctx context.Context, opts *liveOptions) error {
	if opts.Duration > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	s := &opts.Session
	s.Out, s.ErrOut, s.OutTTY = opts.f.IO.Out, opts.f.IO.ErrOut, opts.f.IO.OutTTY
	_, err := readSpec(ctx, opts.f, func(spec *experiment.Spec, r *query.Reader) (struct{}, error) {
		s.Target.Experiment, s.Spec = spec.Lookup(s.Target.ID), spec
		return struct{}{}, s.Run(ctx, r)
	})
	if se, ok := errors.AsType[*live.StopError](err); ok {
		return &cliutil.VerdictError{Msg: se.Summary}
	}
	return err
}
