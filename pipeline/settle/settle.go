// Package settle keeps the settled-count cache (cohort_settled) filled
// ahead of its readers (`analyze settle`). Every Interval a pass counts,
// once, the distinct events of each experiment's 10-second buckets, and
// the untagged traffic's, that are older than query.SettledAge and not
// cached at their tally's row count: the buckets that settled since the
// previous pass, and those within Lookback whose rows changed (late or
// duplicate events). Readers (compare, live, report) then find an hour's
// buckets cached and count only its young tail: 20 `live` watchers
// starting together count nothing of the hours behind them, instead of
// one hour each.
//
// The contract: the cache is an optimization, never the answer. A reader
// uses a cached count only where its row count equals the tally's, and
// counts every other bucket itself, so a settler that is behind, stopped
// or running twice costs CPU, never a wrong count. A pass claims each hour
// as readers do (settle_claims): a reader asking for an hour the settler
// is counting waits for its counts instead of counting it too, and the
// settler waits for a reader's. Run one replica; a second repeats work.
package settle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadystate/steadystate/pipeline/query"
)

// Counter is what a pass reads and writes (query.Reader).
type Counter interface {
	// SettleTargets lists the experiments ("" the untagged traffic) with
	// events in [since, until).
	SettleTargets(ctx context.Context, since, until time.Time) ([]string, error)
	// Settle caches the counts of one experiment's buckets in [since,
	// until) that are missing or stale, and returns how many were.
	Settle(ctx context.Context, experimentID string, since, until time.Time) (int, error)
}

// Config says how often and how far back the settler counts.
type Config struct {
	// Interval is the time between passes (default 30s). A bucket is
	// cached at most Interval after it is SettledAge (2 minutes) old.
	Interval time.Duration
	// Lookback is how far behind the settled edge (now minus SettledAge)
	// a pass looks for buckets that are not cached at their row count
	// (default 10m). Events that arrive later than that for an older
	// bucket are counted by the reader that asks for it.
	Lookback time.Duration
	// Parallel is how many experiments a pass counts at once (default 2:
	// the counting is ClickHouse's CPU, and a claim waits half a second
	// before it counts, which a second experiment's count fills).
	Parallel int
}

// Defaults for Config's zero values.
const (
	DefaultInterval = 30 * time.Second
	DefaultLookback = 10 * time.Minute
	DefaultParallel = 2
)

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Lookback == 0 {
		c.Lookback = DefaultLookback
	}
	if c.Parallel == 0 {
		c.Parallel = DefaultParallel
	}
	return c
}

// Validate checks the fields after WithDefaults; a bad one is a
// *query.UsageError naming its flag.
func (c Config) Validate() error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, query.Usagef("--interval %s: must be positive", c.Interval))
	}
	if c.Lookback < max(c.Interval, bucket) {
		// A shorter lookback would leave buckets between two passes'
		// ranges to the readers.
		errs = append(errs, query.Usagef("--lookback %s: must be at least --interval (%s) and one bucket (%s)", c.Lookback, c.Interval, bucket))
	}
	if c.Parallel < 1 {
		errs = append(errs, query.Usagef("--parallel %d: must be at least 1", c.Parallel))
	}
	return errors.Join(errs...)
}

// bucket is the cohort views' bucket width.
const bucket = 10 * time.Second

// Pass is what one pass did.
type Pass struct {
	// Since and Until are the range it looked at: [Since, Until), whole
	// buckets, Until the settled edge.
	Since, Until time.Time
	// Targets are the experiments ("" the untagged traffic) with events
	// in the range.
	Targets int
	// Buckets are the buckets it found missing or stale and counted (or
	// found counted by a reader that had claimed them).
	Buckets int
	// Took is the pass's wall time.
	Took time.Duration
}

// Settler runs passes.
type Settler struct {
	cfg     Config
	c       Counter
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
}

// New builds a Settler (cfg after WithDefaults and Validate); its metrics
// are registered on reg.
func New(cfg Config, c Counter, reg prometheus.Registerer, log *slog.Logger) *Settler {
	return &Settler{cfg: cfg, c: c, log: log, metrics: newMetrics(reg), now: time.Now}
}

// Edge is the settled edge at now: the start of the first bucket younger
// than query.SettledAge. Every bucket before it is old enough to cache.
func Edge(now time.Time) time.Time {
	return now.Add(-query.SettledAge).Truncate(bucket)
}

// Once runs one pass over [Edge(now) - lookback, Edge(now)): the range a
// loop's pass looks at with Lookback lookback, or with a longer one a
// backfill of what settled while no settler ran.
func (s *Settler) Once(ctx context.Context, lookback time.Duration) (Pass, error) {
	until := Edge(s.now())
	return s.pass(ctx, until.Add(-lookback).Truncate(bucket), until)
}

// Run runs a pass over Lookback now and then every Interval until ctx
// ends, and returns nil then. A failed pass is logged and counted
// (steadystate_settle_errors_total); the next one tries again.
func (s *Settler) Run(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		passCtx, cancel := context.WithTimeout(ctx, max(3*s.cfg.Interval, time.Minute))
		p, err := s.Once(passCtx, s.cfg.Lookback)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.Warn("settle pass failed; the next pass tries again", "err", err, "counted", p.Buckets, "took", p.Took)
		case p.Buckets > 0:
			s.log.Info("settled", "targets", p.Targets, "buckets", p.Buckets, "since", p.Since, "until", p.Until, "took", p.Took)
		default:
			s.log.Debug("nothing to settle", "targets", p.Targets, "took", p.Took)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// pass counts every target's missing or stale buckets in [since, until),
// Parallel targets at once. A target that fails does not stop the others;
// the error names it.
func (s *Settler) pass(ctx context.Context, since, until time.Time) (p Pass, _ error) {
	start := time.Now()
	p = Pass{Since: since, Until: until}
	defer func() {
		p.Took = time.Since(start)
		s.metrics.passSeconds.Observe(p.Took.Seconds())
	}()
	targets, err := s.c.SettleTargets(ctx, since, until)
	if err != nil {
		s.metrics.errors.Inc()
		return p, fmt.Errorf("settle targets: %w", err)
	}
	p.Targets = len(targets)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, s.cfg.Parallel)
	)
	for _, exp := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return p, errors.Join(append(errs, fmt.Errorf("settle pass: %w", ctx.Err()))...)
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			n, err := s.c.Settle(ctx, exp, since, until)
			mu.Lock()
			defer mu.Unlock()
			p.Buckets += n
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	s.metrics.buckets.Add(float64(p.Buckets))
	if len(errs) > 0 {
		s.metrics.errors.Add(float64(len(errs)))
		return p, errors.Join(errs...)
	}
	s.metrics.passes.Inc()
	s.metrics.edge.Set(float64(until.Unix()))
	return p, nil
}

type metrics struct {
	passes, buckets, errors prometheus.Counter
	passSeconds             prometheus.Histogram
	edge                    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		passes:      prometheus.NewCounter(prometheus.CounterOpts{Name: "steadystate_settle_passes_total", Help: "Passes that counted every target."}),
		buckets:     prometheus.NewCounter(prometheus.CounterOpts{Name: "steadystate_settle_buckets_total", Help: "Buckets found missing or stale in cohort_settled and counted."}),
		errors:      prometheus.NewCounter(prometheus.CounterOpts{Name: "steadystate_settle_errors_total", Help: "Failed target lists and targets."}),
		passSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "steadystate_settle_pass_seconds", Help: "Wall time of one pass.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		edge:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "steadystate_settle_edge_seconds", Help: "Unix time up to which the last complete pass cached every bucket."}),
	}
	reg.MustRegister(m.passes, m.buckets, m.errors, m.passSeconds, m.edge)
	return m
}
