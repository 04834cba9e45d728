package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/notify"
)

type watchOptions struct {
	f            *factory
	Check        flows.Selection
	Interval     time.Duration
	Alertmanager []string
	SlackWebhook string
	Webhook      []string
	Resend       time.Duration
	Listen       string
	ExternalURL  string
	LogLevel     string
	Insecure     bool
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
			if opts.Interval <= 0 || opts.Resend <= 0 {
				return cliutil.FlagErrorf("--interval %s and --resend %s: must be positive", opts.Interval, opts.Resend)
			}
			if runF != nil {
				return runF(opts)
			}
			return watchRun(cmd.Context(), opts)
		},
	}
	addCheckFlags(cmd.Flags(), &opts.Check)
	fl := cmd.Flags()
	fl.DurationVar(&opts.Interval, "interval", 5*time.Second, "how often to evaluate")
	fl.StringArrayVar(&opts.Alertmanager, "alertmanager", nil, "Alertmanager base URL, e.g. http://127.0.0.1:9093 (repeatable)")
	fl.StringVar(&opts.SlackWebhook, "slack-webhook", "", "Slack incoming-webhook URL")
	fl.StringArrayVar(&opts.Webhook, "webhook", nil, "URL receiving Alertmanager-format webhook posts (repeatable)")
	fl.DurationVar(&opts.Resend, "resend", time.Minute, "re-send firing alerts to Alertmanager this often")
	fl.StringVar(&opts.Listen, "listen", "127.0.0.1:9466", "address of /metrics, /healthz and /flows (\"\" to disable)")
	fl.StringVar(&opts.ExternalURL, "external-url", "", "base URL alerts link to (default: http://<listen address>/flows)")
	fl.StringVar(&opts.LogLevel, "log-level", "info", "debug, info, warn or error")
	fl.BoolVar(&opts.Insecure, listen.FlagInsecure, listen.InsecureFromEnv(), listen.FlagUsage)
	return cmd
}

func watchRun(ctx context.Context, opts *watchOptions) error {
	log, err := cliutil.NewLogger(opts.f.IO.ErrOut, opts.LogLevel)
	if err != nil {
		return err
	}
	dest := notify.Destinations{Alertmanager: opts.Alertmanager, Slack: opts.SlackWebhook, Webhook: opts.Webhook}
	targets, err := notify.Targets(dest)
	if err != nil {
		return cliutil.FlagErrorf("%v", err)
	}
	if dest.Empty() {
		log.Warn("no --alertmanager, --slack-webhook or --webhook: alerts are only logged")
	}
	if opts.Listen != "" {
		// No open door: the page and metrics have no tokens.
		if err := listen.Check(listen.Listener{Name: "analyze watch (/metrics, /healthz, /flows)", Flag: "--listen", Addr: opts.Listen}, opts.Insecure); err != nil {
			return err
		}
	}
	ch, st, err := openChecker(ctx, opts.f, opts.Check)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := cliutil.NewRegistry()
	w := flows.NewWatcher(flows.WatchConfig{Interval: opts.Interval, Since: opts.Check.Since, Resend: opts.Resend}, ch, targets, reg, log)
	var admin *cliutil.Admin
	if opts.Listen != "" {
		if admin, err = cliutil.StartAdmin(opts.Listen, cliutil.AdminOptions{Registry: reg, Handlers: map[string]http.Handler{"GET /flows": w}}, log); err != nil {
			return fmt.Errorf("--listen %s: %w", opts.Listen, err)
		}
		defer admin.Stop(5 * time.Second)
	}
	log.Info("watching flows", "interval", opts.Interval, "since", opts.Check.Since, "targets", len(targets), "listen", opts.Listen)
	err = w.Run(ctx, flows.GeneratorURL(opts.ExternalURL, admin.Addr(), os.Hostname))
	log.Info("watch stopped")
	return err
}
