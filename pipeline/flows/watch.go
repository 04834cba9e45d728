package flows

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadystate/steadystate/pipeline/notify"
	"github.com/steadystate/steadystate/pipeline/query"
)

// WatchConfig configures a Watcher.
type WatchConfig struct {
	// Interval is how often the flows are evaluated.
	Interval time.Duration
	// Since: items whose first event is at most this old are checked.
	Since time.Duration
	// Resend: firing alerts are re-sent to Alertmanager this often.
	Resend time.Duration
}

// Validate checks Interval and Resend (Since is Selection's); a bad one is
// a *query.UsageError.
func (c WatchConfig) Validate() error {
	if c.Interval <= 0 || c.Resend <= 0 {
		return query.Usagef("--interval %s and --resend %s: must be positive", c.Interval, c.Resend)
	}
	return nil
}

// Watcher evaluates the flows every Interval, keeps the metrics, and
// turns what it finds into alerts for its targets (`analyze watch`).
type Watcher struct {
	cfg     WatchConfig
	checker *Checker
	disp    *notify.Dispatcher
	metrics *watchMetrics
	log     *slog.Logger

	mu     sync.Mutex
	latest *Report
}

// NewWatcher builds a Watcher; its metrics are registered on reg.
func NewWatcher(cfg WatchConfig, ch *Checker, targets []notify.Target, reg prometheus.Registerer, log *slog.Logger) *Watcher {
	return &Watcher{
		cfg: cfg, checker: ch, log: log,
		disp:    notify.NewDispatcher(notify.DispatcherConfig{ResendEvery: cfg.Resend}, targets...),
		metrics: newWatchMetrics(reg),
	}
}

// GeneratorURL is the page a watcher's alerts link to: external when set,
// else /flows on the admin address that serves it (adminAddr, "" for
// none), else http://<hostname>/steadystate/flows.
func GeneratorURL(external, adminAddr string, hostname func() (string, error)) string {
	switch {
	case external != "":
		return external
	case adminAddr != "":
		return "http://" + adminAddr + "/flows"
	}
	host, _ := hostname()
	return "http://" + host + "/steadystate/flows"
}

// Run evaluates until ctx is done; alerts link to generatorURL (the
// /flows page). A failed evaluation or delivery is logged, counted and
// retried at the next interval, keeping the alerts as they are. It returns
// nil when ctx ends.
func (w *Watcher) Run(ctx context.Context, generatorURL string) error {
	settings := AlertSettings{GeneratorURL: generatorURL}
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	for {
		evalCtx, cancel := context.WithTimeout(ctx, max(w.cfg.Interval*3, 30*time.Second))
		start := time.Now()
		rep, err := w.checker.Check(evalCtx, start, w.cfg.Since)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			w.metrics.errors.WithLabelValues("check").Inc()
			w.log.Warn("evaluation failed; keeping the alerts as they are", "err", err)
		} else {
			w.metrics.checkTime.Observe(time.Since(start).Seconds())
			w.metrics.observe(rep)
			w.mu.Lock()
			w.latest = rep
			w.mu.Unlock()
			changes, err := w.disp.Update(evalCtx, start, Alerts(rep, settings))
			cancel()
			w.metrics.firing.Set(float64(len(w.disp.Active())))
			for _, a := range changes.Fired {
				w.log.Info("alert firing", "alert", a.String(), "summary", a.Annotations["summary"])
			}
			for _, a := range changes.Resolved {
				w.log.Info("alert resolved", "alert", a.String())
			}
			if err != nil {
				w.metrics.errors.WithLabelValues("notify").Inc()
				w.log.Warn("delivering alerts failed; retrying at the next evaluation", "err", err)
			}
			w.log.Debug("evaluated", "took", time.Since(start), "pipeline", rep.Pipeline.State, "firing", len(w.disp.Active()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// ServeHTTP serves the latest report as JSON (?flow=NAME for one flow),
// or 503 before the first evaluation.
func (w *Watcher) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	rep := w.latest
	w.mu.Unlock()
	if rep == nil {
		http.Error(rw, "no evaluation yet", http.StatusServiceUnavailable)
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
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(rep)
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

func (m *watchMetrics) observe(rep *Report) {
	m.lag.Set(rep.Pipeline.LagSeconds)
	for i := range rep.Flows {
		f := &rep.Flows[i]
		for syn, c := range map[string]Counts{"false": f.Counts, "true": f.Synthetic} {
			m.items.WithLabelValues(f.Flow, "complete", syn).Set(float64(c.Complete))
			m.items.WithLabelValues(f.Flow, "in_flight", syn).Set(float64(c.InFlight))
			m.items.WithLabelValues(f.Flow, "stuck", syn).Set(float64(c.Stuck))
		}
		for _, s := range []Status{StatusHealthy, StatusIdle, StatusBroken} {
			v := 0.0
			if f.Status == s {
				v = 1
			}
			m.status.WithLabelValues(f.Flow, string(s)).Set(v)
		}
	}
}
