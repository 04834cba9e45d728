package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/pipeline/cliutil"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/notify"
)

type watchOptions struct {
	f            *factory
	Check        checkFlags
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
			return watchRun(cmd, opts)
		},
	}
	opts.Check.register(cmd.Flags())
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

type watchMetrics struct {
	items     *prometheus.GaugeVec
	status    *prometheus.GaugeVec
	lag       prometheus.Gauge
	firing    prometheus.Gauge
	checkTime prometheus.Histogram
	errors    *prometheus.CounterVec
}

func newWatchMetrics(reg prometheus.Registerer) *watchMetrics {
	m := &watchMetrics{
		items:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "steadystate_flow_items", Help: "Items of a flow by state, at the last evaluation."}, []string{"flow", "state", "synthetic"}),
		status:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "steadystate_flow_status", Help: "1 for the flow's current status (healthy, idle, broken)."}, []string{"flow", "status"}),
		lag:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "steadystate_flow_watermark_lag_seconds", Help: "Now minus the ingest watermark."}),
		firing:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "steadystate_flow_alerts_firing", Help: "Alerts firing."}),
		checkTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "steadystate_flow_check_seconds", Help: "Time of one evaluation (queries and sweep).", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		errors:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "steadystate_flow_errors_total", Help: "Failed evaluations and deliveries."}, []string{"what"}),
	}
	reg.MustRegister(m.items, m.status, m.lag, m.firing, m.checkTime, m.errors)
	return m
}

func (m *watchMetrics) observe(rep *flows.Report) {
	m.lag.Set(rep.Pipeline.LagSeconds)
	for i := range rep.Flows {
		f := &rep.Flows[i]
		for syn, c := range map[string]flows.Counts{"false": f.Counts, "true": f.Synthetic} {
			m.items.WithLabelValues(f.Flow, "complete", syn).Set(float64(c.Complete))
			m.items.WithLabelValues(f.Flow, "in_flight", syn).Set(float64(c.InFlight))
			m.items.WithLabelValues(f.Flow, "stuck", syn).Set(float64(c.Stuck))
		}
		for _, s := range []flows.Status{flows.StatusHealthy, flows.StatusIdle, flows.StatusBroken} {
			v := 0.0
			if f.Status == s {
				v = 1
			}
			m.status.WithLabelValues(f.Flow, string(s)).Set(v)
		}
	}
}

func watchRun(cmd *cobra.Command, opts *watchOptions) error {
	ctx := cmd.Context()
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return cliutil.FlagErrorf("--log-level %q: want debug, info, warn or error", opts.LogLevel)
	}
	log := slog.New(slog.NewTextHandler(opts.f.IO.ErrOut, &slog.HandlerOptions{Level: level}))

	var targets []notify.Target
	for _, u := range opts.Alertmanager {
		am, err := notify.NewAlertmanager(u, notify.HTTPSettings{})
		if err != nil {
			return cliutil.FlagErrorf("--alertmanager: %v", err)
		}
		targets = append(targets, notify.Target{Name: "alertmanager " + u, Notifier: am, Resend: true})
	}
	if opts.SlackWebhook != "" {
		sl, err := notify.NewSlack(opts.SlackWebhook, notify.SlackSettings{})
		if err != nil {
			return cliutil.FlagErrorf("--slack-webhook: %v", err)
		}
		targets = append(targets, notify.Target{Name: "slack", Notifier: sl})
	}
	for _, u := range opts.Webhook {
		wh, err := notify.NewWebhook(u, notify.HTTPSettings{})
		if err != nil {
			return cliutil.FlagErrorf("--webhook: %v", err)
		}
		targets = append(targets, notify.Target{Name: "webhook " + u, Notifier: wh})
	}
	if len(targets) == 0 {
		log.Warn("no --alertmanager, --slack-webhook or --webhook: alerts are only logged")
	}

	if opts.Listen != "" {
		// No open door: the page and metrics have no tokens.
		if err := listen.Check(listen.Listener{Name: "analyze watch (/metrics, /healthz, /flows)", Flag: "--listen", Addr: opts.Listen}, opts.Insecure); err != nil {
			return err
		}
	}
	ch, st, err := opts.Check.checker(cmd, opts.f)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newWatchMetrics(reg)
	var (
		mu     sync.Mutex
		latest *flows.Report
	)
	external := opts.ExternalURL
	var srv *http.Server
	if opts.Listen != "" {
		ln, err := net.Listen("tcp", opts.Listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", opts.Listen, err)
		}
		if external == "" {
			external = "http://" + ln.Addr().String() + "/flows"
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		mux.HandleFunc("GET /flows", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			rep := latest
			mu.Unlock()
			if rep == nil {
				http.Error(w, "no evaluation yet", http.StatusServiceUnavailable)
				return
			}
			if name := r.URL.Query().Get("flow"); name != "" {
				one := *rep
				one.Flows = nil
				for i := range rep.Flows {
					if rep.Flows[i].Flow == name {
						one.Flows = append(one.Flows, rep.Flows[i])
					}
				}
				rep = &one
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(rep)
		})
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}

	disp := notify.NewDispatcher(notify.DispatcherConfig{ResendEvery: opts.Resend}, targets...)
	settings := flows.AlertSettings{GeneratorURL: external}
	if external == "" {
		host, _ := os.Hostname()
		settings.GeneratorURL = "http://" + host + "/steadystate/flows"
	}
	log.Info("watching flows", "interval", opts.Interval, "since", opts.Check.Since, "targets", len(targets), "listen", opts.Listen)

	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	for {
		evalCtx, cancel := context.WithTimeout(ctx, max(opts.Interval*3, 30*time.Second))
		start := time.Now()
		rep, err := ch.Check(evalCtx, start, opts.Check.Since)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				break
			}
			m.errors.WithLabelValues("check").Inc()
			log.Warn("evaluation failed; keeping the alerts as they are", "err", err)
		} else {
			m.checkTime.Observe(time.Since(start).Seconds())
			m.observe(rep)
			mu.Lock()
			latest = rep
			mu.Unlock()
			changes, err := disp.Update(evalCtx, start, flows.Alerts(rep, settings))
			cancel()
			m.firing.Set(float64(len(disp.Active())))
			for _, a := range changes.Fired {
				log.Info("alert firing", "alert", a.String(), "summary", a.Annotations["summary"])
			}
			for _, a := range changes.Resolved {
				log.Info("alert resolved", "alert", a.String())
			}
			if err != nil {
				m.errors.WithLabelValues("notify").Inc()
				log.Warn("delivering alerts failed; retrying at the next evaluation", "err", err)
			}
			log.Debug("evaluated", "took", time.Since(start), "pipeline", rep.Pipeline.State, "firing", len(disp.Active()))
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
			continue
		}
		break
	}
	log.Info("watch stopped")
	return nil
}
