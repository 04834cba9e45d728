package settle

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/query"
)

// counter records what a pass asked for. Pure logic: the passes' reads
// and writes on ClickHouse are in the integration test of
// pipeline/analysis (settler_integration_test.go).
type counter struct {
	targets []string
	fail    map[string]bool
	delay   time.Duration

	mu                 sync.Mutex
	settled            []string
	since, until       time.Time
	running, maxAtOnce int
}

func (c *counter) SettleTargets(_ context.Context, since, until time.Time) ([]string, error) {
	c.since, c.until = since, until
	return c.targets, nil
}

func (c *counter) Settle(_ context.Context, exp string, since, until time.Time) (int, error) {
	c.mu.Lock()
	c.running++
	c.maxAtOnce = max(c.maxAtOnce, c.running)
	c.mu.Unlock()
	time.Sleep(c.delay)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running--
	if since != c.since || until != c.until {
		return 0, errors.New("another range than the targets'")
	}
	if c.fail[exp] {
		return 0, errors.New("settle " + exp + ": connection refused")
	}
	c.settled = append(c.settled, exp)
	return 3, nil
}

func newSettler(t *testing.T, cfg Config, c Counter) (*Settler, *prometheus.Registry) {
	t.Helper()
	cfg = cfg.WithDefaults()
	require.NoError(t, cfg.Validate())
	reg := prometheus.NewRegistry()
	return New(cfg, c, reg, slog.New(slog.NewTextHandler(io.Discard, nil))), reg
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, Config{}.WithDefaults().Validate())
	assert.Equal(t, Config{Interval: 30 * time.Second, Lookback: 10 * time.Minute, Parallel: 2}, Config{}.WithDefaults())
	for name, tc := range map[string]struct {
		cfg  Config
		flag string
	}{
		"negative interval":              {Config{Interval: -time.Second, Lookback: time.Minute, Parallel: 1}, "--interval -1s"},
		"lookback shorter than interval": {Config{Interval: time.Minute, Lookback: 30 * time.Second, Parallel: 1}, "--lookback 30s"},
		"lookback shorter than a bucket": {Config{Interval: time.Second, Lookback: 5 * time.Second, Parallel: 1}, "--lookback 5s"},
		"no parallelism":                 {Config{Interval: time.Second, Lookback: time.Minute, Parallel: -1}, "--parallel -1"},
	} {
		err := tc.cfg.Validate()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.flag, name)
		var usage *query.UsageError
		assert.ErrorAs(t, err, &usage, name)
	}
}

// A pass looks at whole buckets from lookback behind the settled edge up
// to it, the edge SettledAge behind now, and settles every target over
// exactly that range.
func TestOnceCoversTheLookbackUpToTheEdge(t *testing.T) {
	c := &counter{targets: []string{"", "checkout", "search"}}
	s, reg := newSettler(t, Config{}, c)
	now := time.Date(2026, 11, 21, 10, 0, 7, 500, time.UTC)
	s.now = func() time.Time { return now }
	p, err := s.Once(context.Background(), 10*time.Minute)
	require.NoError(t, err)
	edge := time.Date(2026, 11, 21, 9, 58, 0, 0, time.UTC)
	assert.Equal(t, edge, Edge(now), "2 minutes back, down to a bucket")
	assert.Equal(t, edge, p.Until)
	assert.Equal(t, edge.Add(-10*time.Minute), p.Since)
	assert.Equal(t, 3, p.Targets)
	assert.Equal(t, 9, p.Buckets)
	sort.Strings(c.settled)
	assert.Equal(t, []string{"", "checkout", "search"}, c.settled)
	assert.InDelta(t, 1, testutil.ToFloat64(s.metrics.passes), 0)
	assert.InDelta(t, 9, testutil.ToFloat64(s.metrics.buckets), 0)
	assert.InDelta(t, float64(edge.Unix()), testutil.ToFloat64(s.metrics.edge), 0)
	n, err := testutil.GatherAndCount(reg, "steadystate_settle_pass_seconds")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// A target that fails does not keep the others from being settled; the
// pass's error names it, it is counted, and the edge does not move.
func TestPassGoesOnPastAFailingTarget(t *testing.T) {
	c := &counter{targets: []string{"a", "b", "c", "d"}, fail: map[string]bool{"b": true}}
	s, _ := newSettler(t, Config{Parallel: 1}, c)
	p, err := s.Once(context.Background(), time.Hour)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "settle b: connection refused")
	assert.Equal(t, []string{"a", "c", "d"}, c.settled)
	assert.Equal(t, 9, p.Buckets)
	assert.InDelta(t, 1, testutil.ToFloat64(s.metrics.errors), 0)
	assert.InDelta(t, 0, testutil.ToFloat64(s.metrics.passes), 0)
	assert.InDelta(t, 0, testutil.ToFloat64(s.metrics.edge), 0)
}

// At most Parallel targets are settled at once, and more than one when
// Parallel allows it.
func TestPassSettlesParallelTargetsAtOnce(t *testing.T) {
	for _, parallel := range []int{1, 3} {
		c := &counter{targets: []string{"a", "b", "c", "d", "e", "f"}, delay: 20 * time.Millisecond}
		s, _ := newSettler(t, Config{Parallel: parallel}, c)
		_, err := s.Once(context.Background(), time.Hour)
		require.NoError(t, err)
		assert.Len(t, c.settled, 6)
		assert.Equal(t, parallel, c.maxAtOnce, "parallel %d", parallel)
	}
}

// Run passes every Interval until its context ends, and then returns nil.
func TestRunPassesUntilCancelled(t *testing.T) {
	c := &counter{targets: []string{"a"}}
	s, _ := newSettler(t, Config{Interval: 20 * time.Millisecond, Lookback: time.Minute}, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	require.Eventually(t, func() bool { return testutil.ToFloat64(s.metrics.passes) >= 3 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
