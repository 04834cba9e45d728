package warroom_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/warroom"
)

func TestListenerRule(t *testing.T) {
	tests := []struct {
		name string
		cfg  warroom.Config
		err  string
	}{
		{"loopback v4", warroom.Config{Addr: "127.0.0.1:8088"}, ""},
		{"loopback v6", warroom.Config{Addr: "[::1]:8088"}, ""},
		{"localhost", warroom.Config{Addr: "localhost:8088"}, ""},
		{"open without token", warroom.Config{Addr: "0.0.0.0:8088"}, "war room (analyze live --web) (--web 0.0.0.0:8088): refusing to listen beyond loopback without tokens"},
		{"empty host is every interface", warroom.Config{Addr: ":8088"}, "refusing to listen beyond loopback"},
		{"v6 every interface", warroom.Config{Addr: "[::]:8088"}, "--web-token"},
		{"open with token", warroom.Config{Addr: "0.0.0.0:8088", Token: "s3cret"}, ""},
		{"open, explicitly insecure", warroom.Config{Addr: "0.0.0.0:8088", Insecure: true}, ""},
		{"no port", warroom.Config{Addr: "127.0.0.1"}, "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
			if strings.Contains(tt.err, "refusing") || strings.Contains(tt.err, "token") {
				// The one rule of pipeline/listen, with its flag name.
				require.ErrorIs(t, err, listen.ErrOpenDoor)
				require.ErrorContains(t, err, "--insecure-listen")
			}
		})
	}
}

func start(t *testing.T, cfg warroom.Config) *warroom.Server {
	t.Helper()
	s, err := warroom.New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, s.Shutdown(ctx))
	})
	return s
}

func snapshot(stop bool) *warroom.Snapshot {
	now := time.Date(2026, 11, 21, 22, 6, 0, 0, time.UTC)
	res := &analysis.Result{ExperimentID: "checkout-payment-500", Window: analysis.Window{Since: now.Add(-time.Minute), Until: now}, GeneratedAt: now,
		Verdict: "inconclusive", Metrics: []analysis.Metric{{Name: "checkout_errors", Unit: "ratio", Verdict: "inconclusive"}}, Stop: stop}
	if stop {
		res.StopConditions = []analysis.StopStatus{{SLI: "checkout_errors", Op: ">", Threshold: 0.2, For: "30s", Value: 1, Crossed: true, Holds: true}}
	}
	return &warroom.Snapshot{Result: res, IntervalSeconds: 5}
}

// A page that connects gets the latest snapshot at once and every later
// one as it is published.
func TestEventsStreamLatestThenEachPublish(t *testing.T) {
	s := start(t, warroom.Config{Addr: "127.0.0.1:0"})
	require.NoError(t, s.Publish(snapshot(false)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"events", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	next := func() string {
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				return d
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return ""
	}
	first := next()
	assert.Contains(t, first, `"seq":1`)
	assert.Contains(t, first, `"stop":false`)
	require.NoError(t, s.Publish(snapshot(true)))
	second := next()
	assert.Contains(t, second, `"seq":2`)
	assert.Contains(t, second, `"stop":true`)
}

func TestTokenIsRequiredWhenSet(t *testing.T) {
	s := start(t, warroom.Config{Addr: "127.0.0.1:0", Token: "s3cret"})
	base := strings.TrimSuffix(s.URL(), "?token=s3cret")
	for _, tc := range []struct {
		url    string
		header string
		want   int
	}{
		{base, "", http.StatusUnauthorized},
		{base + "?token=wrong", "", http.StatusUnauthorized},
		{s.URL(), "", http.StatusOK},
		{base, "Bearer s3cret", http.StatusOK},
	} {
		req, err := http.NewRequest(http.MethodGet, tc.url, nil)
		require.NoError(t, err)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, tc.want, resp.StatusCode, "%s %q", tc.url, tc.header)
	}
}

// The page is self-contained: no URL of another origin anywhere in it.
func TestPageFetchesNothingElse(t *testing.T) {
	s := start(t, warroom.Config{Addr: "127.0.0.1:0"})
	resp, err := http.Get(s.URL())
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	page := b.String()
	assert.Contains(t, page, "EventSource")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	for _, bad := range []string{"https://", "src=\"http", "href=\"http", "@import", "<link"} {
		assert.NotContains(t, page, bad)
	}
}
