package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/notify"
	"github.com/steadystate/steadystate/pipeline/store"
)

// flows check evaluates the flows once; watch evaluates them every
// --interval and alerts. Both take the flags of flows.Selection, check them
// before anything connects and connect through openChecker.

func newCmdFlows(f *factory) *cobra.Command {
	return group(&cobra.Command{
		Use:   "flows",
		Short: "Check that business flows complete within their windows",
		Long: `flows checks the business flows defined beside the experiments (see
experiments/README.md): every item of a flow must pass all its stages within
the flow's window, judged against the ingest watermark.`,
	}, newCmdFlowsCheck(f, nil))
}

// openChecker picks the flows of the definitions and connects
// (flows.Open); close the client when done.
func (f *factory) openChecker(ctx context.Context, sel flows.Selection) (*flows.Checker, *store.Client, error) {
	spec, err := f.Spec()
	if err != nil {
		return nil, nil, err
	}
	return flows.Open(ctx, f.StoreConfig(), spec, f.ExperimentsDir, sel)
}

type flowsCheckOptions struct {
	f        *factory
	Check    flows.Selection
	Output   string
	MaxStuck int
}

func newCmdFlowsCheck(f *factory, runF func(*flowsCheckOptions) error) *cobra.Command {
	opts := &flowsCheckOptions{f: f}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Report items complete, in flight and stuck per flow, once",
		Long: `check evaluates every flow (or --flow) once over the items whose first
event lies in the last --since, and reports per flow: counts of complete,
in-flight and stuck items (real items; synthetic ones apart), per cohort
and per stage (a funnel), each stuck item with its key, the last stage it
reached, what is missing and how long ago its deadline passed, and the
flow's status: healthy, idle (no real items; synthetic ones complete) or
broken (items stuck, or the flow went silent).

Items are judged only up to the ingest watermark, the event time the sink
has committed (table sink_progress), never against the wall clock: a paused
or lagging pipeline keeps items in flight and is reported by itself under
"pipeline" (state ok, lagging, stalled or unknown).

--output json prints one object, stable for scripts:

  {"generated_at", "since", "until",
   "pipeline": {"state", "message", "consumer_group", "watermark",
                "lag_seconds", "last_progress", "progress_age_seconds",
                "partitions": [...]},
   "flows": [{"flow", "status", "reason", "stages", "within_seconds",
              "severity", "owner", "runbook_url",
              "counts": {"items", "complete", "in_flight", "stuck"},
              "synthetic": {...same...},
              "cohorts": [{"experiment_id", "cohort", "counts"}],
              "funnel": [{"stage", "reached", "stuck_here"}],
              "stuck": [{"key", "last_stage", "last_stage_index", "stuck_at",
                         "missing", "first_seen", "last_seen", "deadline",
                         "stuck_for_seconds", "last_seen_seconds_ago",
                         "experiment_id", "cohort", "synthetic"}],
              "stuck_omitted", "last_started", "last_synthetic_completed",
              "absence": {"period_seconds", "synthetic_only", "firing",
                          "last", "message"}}]}

Times are RFC 3339 UTC. Exit status: 0 when every flow is healthy or idle
and the pipeline is ok, 3 when a flow is broken or the pipeline is not ok,
1 on errors, 2 on bad flags.`,
		Example: `  analyze flows check
  analyze flows check --flow publish --since 30m --output json | jq '.flows[0].stuck[].key'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Check.Validate(); err != nil {
				return err
			}
			return cliutil.Run(cmd.Context(), opts, runF, flowsCheckRun)
		},
	}
	opts.Check.AddFlags(cmd.Flags())
	cliutil.AddOutputFlag(cmd, &opts.Output)
	cmd.Flags().IntVar(&opts.MaxStuck, "max-stuck", 1000, "list at most this many stuck items per flow (0: all); the rest are counted in stuck_omitted")
	return cmd
}

func flowsCheckRun(ctx context.Context, opts *flowsCheckOptions) error {
	ch, st, err := opts.f.openChecker(ctx, opts.Check)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := ch.Check(ctx, time.Now(), opts.Check.Since)
	if err != nil {
		return err
	}
	rep.LimitStuck(opts.MaxStuck)
	if err := flows.WriteReport(opts.f.IO.Out, rep, opts.Output); err != nil {
		return err
	}
	problems := rep.Problems()
	return cliutil.Verdictf(len(problems) > 0, "%s", strings.Join(problems, "; "))
}

type watchOptions struct {
	f     *factory
	Check flows.Selection
	// Watch takes --interval and --resend (its Since is --since, in Check).
	Watch       flows.WatchConfig
	Notify      notify.Destinations
	Listen      string
	ExternalURL string
	LogLevel    string
	Insecure    bool
}

func newCmdWatch(f *factory, runF func(*watchOptions) error) *cobra.Command {
	opts := &watchOptions{f: f}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Watch the flows continuously and alert on stuck items, silence and a stalled pipeline",
		Long: `watch runs the flow check (see "analyze flows check") every --interval and
turns what it finds into alerts:

  FlowItemsStuck   real items stuck after a stage (one alert per flow, stage
                   and experiment; the item keys are in the description)
  FlowBroken       synthetic items stuck: the flow is broken even when real
                   traffic is quiet
  FlowAbsent       the flow's absence rule holds (no item started, or no
                   synthetic item completed, within its period)
  PipelineStalled  the sink wrote no progress for --stall-after
  PipelineLagging  the watermark is more than --lag-after behind now

Every alert carries the labels alertname, flow, stage, severity and
experiment ("none" outside experiments), the annotations summary,
description and runbook_url, and a generatorURL pointing at this process.

Alerts go to Prometheus Alertmanager (API v2, POST /api/v2/alerts;
repeatable --alertmanager), where firing alerts are re-sent every
--resend with endsAt moved forward and resolved with endsAt = now when the
items complete or age out of --since; to a Slack incoming webhook (one
message per change, at most one per second, 429 Retry-After honoured); and
to a generic webhook in Alertmanager's webhook format (changes only).
Failed deliveries are retried with backoff and again at the next
evaluation.

--listen serves /metrics (Prometheus), /healthz and /flows (the latest
report as JSON; /flows?flow=NAME for one flow). SIGINT or SIGTERM stops
the loop and the server gracefully.`,
		Example: `  analyze watch --alertmanager http://127.0.0.1:9093
  analyze watch --interval 5s --slack-webhook "$SLACK_WEBHOOK" --flow publish`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := errors.Join(opts.Watch.Validate(), opts.Check.Validate()); err != nil {
				return err
			}
			return cliutil.Run(cmd.Context(), opts, runF, watchRun)
		},
	}
	fl := cmd.Flags()
	opts.Check.AddFlags(fl)
	opts.Watch.AddFlags(fl)
	opts.Notify.AddFlags(fl)
	fl.StringVar(&opts.Listen, "listen", "127.0.0.1:9466", "address of /metrics, /healthz and /flows (\"\" to disable)")
	fl.StringVar(&opts.ExternalURL, "external-url", "", "base URL alerts link to (default: http://<listen address>/flows)")
	cliutil.AddLogLevelFlag(fl, &opts.LogLevel)
	listen.AddInsecureFlag(fl, &opts.Insecure)
	return cmd
}

func watchRun(ctx context.Context, opts *watchOptions) error {
	log, err := cliutil.NewLogger(opts.f.IO.ErrOut, opts.LogLevel)
	if err != nil {
		return err
	}
	targets, err := notify.Targets(opts.Notify)
	if err != nil {
		return cliutil.FlagErrorf("%v", err)
	}
	if opts.Notify.Empty() {
		log.Warn("no --alertmanager, --slack-webhook or --webhook: alerts are only logged")
	}
	if opts.Listen != "" {
		// No open door: the page and metrics have no tokens.
		if err := listen.Check(listen.Listener{Name: "analyze watch (/metrics, /healthz, /flows)", Flag: "--listen", Addr: opts.Listen}, opts.Insecure); err != nil {
			return err
		}
	}
	ch, st, err := opts.f.openChecker(ctx, opts.Check)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := cliutil.NewRegistry()
	opts.Watch.Since = opts.Check.Since
	w := flows.NewWatcher(opts.Watch, ch, targets, reg, log)
	var admin *cliutil.Admin
	if opts.Listen != "" {
		if admin, err = cliutil.StartAdmin(opts.Listen, cliutil.AdminOptions{Registry: reg, Handlers: map[string]http.Handler{"GET /flows": w}}, log); err != nil {
			return fmt.Errorf("--listen %s: %w", opts.Listen, err)
		}
		defer admin.Stop(5 * time.Second)
	}
	log.Info("watching flows", "interval", opts.Watch.Interval, "since", opts.Check.Since, "targets", len(targets), "listen", opts.Listen)
	err = w.Run(ctx, flows.GeneratorURL(opts.ExternalURL, admin.Addr(), os.Hostname))
	log.Info("watch stopped")
	return err
}
