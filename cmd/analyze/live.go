package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/notify"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/pipeline/warroom"
)

// maxLiveFailures is how many looks in a row may fail before live gives up.
const maxLiveFailures = 10

type liveOptions struct {
	f            *factory
	Experiment   string
	Window       query.WindowFlags
	Interval     time.Duration
	Duration     time.Duration
	ExitOnStop   bool
	Alertmanager string
	Webhook      string
	Alpha        float64
	Web          warroom.Config
	// ConsumerGroup is the sink's group, for the web view's flows panel.
	ConsumerGroup string
	Now           func() time.Time
}

func newCmdLive(f *factory, runF func(*liveOptions) error) *cobra.Command {
	opts := &liveOptions{f: f, Now: time.Now}
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
Counts come from the cohort_stats view; only buckets younger than 30 s
are re-read each time.

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
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Experiment = args[0]
			if err := telemetry.ValidateID(opts.Experiment); err != nil {
				return badExperimentID(err)
			}
			if opts.Interval < 100*time.Millisecond {
				return cliutil.FlagErrorf("--interval %s: want at least 100ms", opts.Interval)
			}
			if opts.Duration < 0 {
				return cliutil.FlagErrorf("--duration %s: must not be negative", opts.Duration)
			}
			if !(opts.Alpha > 0 && opts.Alpha < 0.5) {
				return cliutil.FlagErrorf("--alpha %v: want a value in (0, 0.5)", opts.Alpha)
			}
			if opts.Web.Addr != "" {
				if err := opts.Web.Validate(); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return liveRun(cmd, opts)
		},
	}
	addWindowFlags(cmd, &opts.Window, "compare this run's window (default: the latest run)")
	cmd.Flags().DurationVar(&opts.Interval, "interval", 5*time.Second, "refresh interval")
	cmd.Flags().DurationVar(&opts.Duration, "duration", 0, "stop after this long (default: until interrupted)")
	cmd.Flags().BoolVar(&opts.ExitOnStop, "exit-on-stop", false, "exit 3 as soon as a stop condition holds")
	cmd.Flags().StringVar(&opts.Alertmanager, "alertmanager", "", "Alertmanager base URL to post a stop alert to (v2 API)")
	cmd.Flags().StringVar(&opts.Webhook, "webhook", "", "URL to POST a JSON stop notice to")
	cmd.Flags().Float64Var(&opts.Alpha, "alpha", analysis.DefaultAlpha, "anytime-valid significance level")
	cmd.Flags().StringVar(&opts.Web.Addr, "web", "", "serve the war-room page at this address, e.g. 127.0.0.1:8088")
	cmd.Flags().StringVar(&opts.Web.Token, "web-token", "", "token the page's URL must carry (required off loopback unless --"+listen.FlagInsecure+")")
	// The war room's own name for --insecure-listen, before it followed the
	// one rule (registered first: each registration sets the default).
	cmd.Flags().BoolVar(&opts.Web.Insecure, "web-insecure", false, "")
	_ = cmd.Flags().MarkDeprecated("web-insecure", "use --"+listen.FlagInsecure+" (the one flag of every listener)")
	cmd.Flags().BoolVar(&opts.Web.Insecure, listen.FlagInsecure, listen.InsecureFromEnv(), listen.FlagUsage)
	cmd.Flags().StringVar(&opts.ConsumerGroup, "consumer-group", flows.NewDefaultConfig().ConsumerGroup, "the sink's consumer group (the web view's flow watermark)")
	return cmd
}

func liveRun(cmd *cobra.Command, opts *liveOptions) error {
	ctx := cmd.Context()
	if opts.Duration > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	e, err := lookupExperiment(opts.f, opts.Experiment)
	if err != nil {
		return err
	}
	r, c, err := openReader(ctx, opts.f)
	if err != nil {
		return err
	}
	defer c.Close()
	win, err := r.ResolveWindow(ctx, query.WindowRequest{ExperimentID: opts.Experiment, Flags: opts.Window, Definition: definitionWindow(e)}, opts.Now())
	if err != nil {
		return err
	}
	// A run still going on (or an open --since) is watched until now.
	w := win.Window
	if win.Open() || (opts.Window.Since != "" && opts.Window.Until == "") {
		w.Until = time.Time{}
	}
	mon, err := analysis.NewMonitor(&analysis.Store{C: c}, analysis.Request{ExperimentID: opts.Experiment, Experiment: e, Window: w, Run: win.Run}, analysis.Settings{Alpha: opts.Alpha})
	if err != nil {
		return err
	}
	targets, err := notify.Targets(stopDestinations(opts.Alertmanager, opts.Webhook))
	if err != nil {
		return cliutil.FlagErrorf("%v", err)
	}
	ios := opts.f.IO
	web, gather, err := startWarRoom(opts, r, e)
	if err != nil {
		return err
	}
	if web != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = web.Shutdown(sctx)
		}()
		fmt.Fprintf(ios.ErrOut, "analyze live: war room at %s\n", web.URL())
	}
	enc := json.NewEncoder(ios.Out)
	ticker := time.NewTicker(opts.Interval)
	defer ticker.Stop()
	alerted := false
	failures := 0
	for {
		res, err := mon.Look(ctx, opts.Now())
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			// A slow or restarting ClickHouse must not end the watch:
			// say so and try again at the next interval.
			failures++
			if failures >= maxLiveFailures {
				return fmt.Errorf("%d looks in a row failed, the last: %w", failures, err)
			}
			fmt.Fprintf(ios.ErrOut, "analyze live: look failed (%d in a row, retrying in %s): %v\n", failures, opts.Interval, err)
			select {
			case <-ctx.Done():
				return nil
			case <-ticker.C:
			}
			continue
		}
		failures = 0
		// The verdict history must not end the watch either: a failed
		// write is said and the next look writes again.
		if err := r.WriteVerdicts(ctx, analysis.VerdictRows(res, analysis.HistoryLive)); err != nil && ctx.Err() == nil {
			fmt.Fprintf(ios.ErrOut, "analyze live: recording the verdict history: %v\n", err)
		}
		if web != nil {
			if err := web.Publish(gather.Gather(ctx, res, opts.Now())); err != nil {
				fmt.Fprintf(ios.ErrOut, "analyze live: %v\n", err)
			}
		}
		if ios.OutTTY {
			fmt.Fprint(ios.Out, "\x1b[H\x1b[2J")
			if err := analysis.WriteTable(ios.Out, res); err != nil {
				return err
			}
			fmt.Fprintf(ios.Out, "\nrefreshed %s, every %s; Ctrl-C to quit\n", res.GeneratedAt.Local().Format("15:04:05"), opts.Interval)
		} else if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write json line: %w", err)
		}
		if res.Stop && !alerted {
			alerted = true
			if len(targets) > 0 {
				if err := notify.Send(ctx, targets, analysis.StopAlerts(res)); err != nil {
					fmt.Fprintf(ios.ErrOut, "analyze live: posting the stop alert: %v\n", err)
				}
			}
			if opts.ExitOnStop {
				return &cliutil.VerdictError{Msg: analysis.StopSummary(res)}
			}
		}
		if !res.Stop {
			alerted = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// stopDestinations are live's --alertmanager and --webhook (each at most
// one).
func stopDestinations(alertmanager, webhook string) notify.Destinations {
	var d notify.Destinations
	if alertmanager != "" {
		d.Alertmanager = []string{alertmanager}
	}
	if webhook != "" {
		d.Webhook = []string{webhook}
	}
	return d
}

// startWarRoom starts the web view when --web is set (nil, nil otherwise).
func startWarRoom(opts *liveOptions, r *query.Reader, e *experiment.Experiment) (*warroom.Server, *warroom.Gatherer, error) {
	if opts.Web.Addr == "" {
		return nil, nil, nil
	}
	g := &warroom.Gatherer{R: r, Experiment: e, ID: opts.Experiment, ConsumerGroup: opts.ConsumerGroup, Interval: opts.Interval}
	if e != nil && len(e.Flows) > 0 {
		spec, err := opts.f.Spec()
		if err != nil {
			return nil, nil, err
		}
		for _, name := range e.Flows {
			if fl, ok := spec.Flow(name); ok {
				g.Flows = append(g.Flows, *fl)
			}
		}
	}
	srv, err := warroom.New(opts.Web)
	if err != nil {
		return nil, nil, cliutil.FlagErrorf("--web: %v", err)
	}
	if err := srv.Start(); err != nil {
		return nil, nil, err
	}
	return srv, g, nil
}
