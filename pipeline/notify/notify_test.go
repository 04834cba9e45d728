package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fastRetry = RetryConfig{MaxAttempts: 4, Initial: time.Millisecond, Max: 5 * time.Millisecond}

func stuckAlert(stage string) Alert {
	return Alert{
		Labels:      map[string]string{"alertname": "FlowItemsStuck", "flow": "publish", "stage": stage, "severity": "page", "experiment": "none"},
		Annotations: map[string]string{"summary": "2 publish items stuck after " + stage, "runbook_url": "https://runbooks.example.com/x"},
	}
}

type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
	times  []time.Time
}

func (r *recorder) add(b []byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, b)
	r.times = append(r.times, time.Now())
	return len(r.bodies)
}

func TestAlertmanagerPayloadAndRetries(t *testing.T) {
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/am/api/v2/alerts", r.URL.Path)
		assert.Equal(t, http.MethodPost, r.Method)
		b, _ := io.ReadAll(r.Body)
		if rec.add(b) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // first try fails transiently
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	am, err := NewAlertmanager(srv.URL+"/am/", HTTPSettings{Retry: fastRetry})
	require.NoError(t, err)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := stuckAlert("content.stored")
	a.StartsAt, a.GeneratorURL = start, "http://watch/flows?flow=publish"
	require.NoError(t, am.Notify(context.Background(), []Alert{a}))
	require.Len(t, rec.bodies, 2, "one retry after the 503")
	var got []map[string]any
	require.NoError(t, json.Unmarshal(rec.bodies[1], &got))
	require.Len(t, got, 1)
	assert.Equal(t, "2026-01-02T03:04:05Z", got[0]["startsAt"])
	assert.NotContains(t, got[0], "endsAt", "a zero EndsAt is left out, not sent as year 1")
	assert.Equal(t, "http://watch/flows?flow=publish", got[0]["generatorURL"])
	assert.Equal(t, map[string]any{"alertname": "FlowItemsStuck", "flow": "publish", "stage": "content.stored", "severity": "page", "experiment": "none"}, got[0]["labels"])
}

func TestPermanentErrorIsNotRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		http.Error(w, "bad alert", http.StatusBadRequest)
	}))
	defer srv.Close()
	am, err := NewAlertmanager(srv.URL, HTTPSettings{Retry: fastRetry})
	require.NoError(t, err)
	err = am.Notify(context.Background(), []Alert{stuckAlert("x")})
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusBadRequest, se.StatusCode)
	assert.Equal(t, int32(1), n.Load())
}

func TestRetriesGiveUpAndHonourContext(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	wh, err := NewWebhook(srv.URL, HTTPSettings{Retry: fastRetry})
	require.NoError(t, err)
	require.ErrorContains(t, wh.Notify(context.Background(), []Alert{stuckAlert("x")}), "giving up after 4 attempts")
	assert.Equal(t, int32(4), n.Load())

	slow, err := NewWebhook(srv.URL, HTTPSettings{Retry: RetryConfig{MaxAttempts: 100, Initial: time.Second, Max: time.Second}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.ErrorIs(t, slow.Notify(ctx, []Alert{stuckAlert("x")}), context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 900*time.Millisecond)
}

// slowFirst delays the first request on its way out, as a slow network
// or TLS handshake would.
type slowFirst struct {
	next  http.RoundTripper
	delay time.Duration
	once  sync.Once
}

func (s *slowFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	s.once.Do(func() { time.Sleep(s.delay) })
	return s.next.RoundTrip(r)
}

// The receiver must see messages Interval apart even when one took long
// to arrive: the spacing counts from the answer, not from the send.
func TestSlackSpacingCountsFromTheAnswer(t *testing.T) {
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.add(b)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	client := &http.Client{Transport: &slowFirst{next: http.DefaultTransport, delay: 150 * time.Millisecond}}
	sl, err := NewSlack(srv.URL, SlackSettings{HTTP: HTTPSettings{Client: client, Retry: fastRetry}, Interval: 200 * time.Millisecond, MaxPerMessage: 1})
	require.NoError(t, err)
	resolved := stuckAlert("cache.purged")
	resolved.EndsAt = time.Now().Add(-time.Second)
	require.NoError(t, sl.Notify(context.Background(), []Alert{stuckAlert("content.stored"), resolved}))
	require.Len(t, rec.times, 2)
	assert.GreaterOrEqual(t, rec.times[1].Sub(rec.times[0]), 200*time.Millisecond, "the second message arrives at least Interval after the first")
}

func TestSlackThrottleAndRetryAfter(t *testing.T) {
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if rec.add(b) == 2 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	sl, err := NewSlack(srv.URL, SlackSettings{HTTP: HTTPSettings{Retry: fastRetry}, Interval: 200 * time.Millisecond, MaxPerMessage: 1})
	require.NoError(t, err)
	resolved := stuckAlert("cache.purged")
	resolved.EndsAt = time.Now().Add(-time.Second)
	require.NoError(t, sl.Notify(context.Background(), []Alert{stuckAlert("content.stored"), resolved}))
	require.Len(t, rec.times, 3, "two messages, the second sent twice after a 429")
	assert.GreaterOrEqual(t, rec.times[1].Sub(rec.times[0]), 200*time.Millisecond, "messages arrive spaced by the interval")
	assert.GreaterOrEqual(t, rec.times[2].Sub(rec.times[1]), 990*time.Millisecond, "Retry-After honoured")
	var m slackMessage
	require.NoError(t, json.Unmarshal(rec.bodies[0], &m))
	assert.Contains(t, m.Text, "*FIRING* FlowItemsStuck: 2 publish items stuck after content.stored")
	assert.Contains(t, m.Text, "<https://runbooks.example.com/x|runbook>")
	require.NoError(t, json.Unmarshal(rec.bodies[2], &m))
	assert.Contains(t, m.Text, "*RESOLVED*")
}

func TestWebhookMessage(t *testing.T) {
	now := time.Now()
	r := stuckAlert("b")
	r.EndsAt = now.Add(-time.Second)
	m := NewWebhookMessage([]Alert{stuckAlert("a"), r}, now, "steadystate")
	assert.Equal(t, "firing", m.Status)
	assert.Equal(t, "firing", m.Alerts[0].Status)
	assert.Equal(t, "resolved", m.Alerts[1].Status)
	assert.Equal(t, map[string]string{"alertname": "FlowItemsStuck", "flow": "publish", "severity": "page", "experiment": "none"}, m.CommonLabels)
	assert.NotEqual(t, m.Alerts[0].Fingerprint, m.Alerts[1].Fingerprint)
}

type memNotifier struct {
	mu    sync.Mutex
	calls [][]Alert
	fail  bool
}

func (m *memNotifier) Notify(_ context.Context, a []Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, a)
	if m.fail {
		return io.ErrUnexpectedEOF
	}
	return nil
}

func (m *memNotifier) last() []Alert { return m.calls[len(m.calls)-1] }

func TestDispatcherLifecycle(t *testing.T) {
	am, chat := &memNotifier{}, &memNotifier{}
	d := NewDispatcher(DispatcherConfig{ResendEvery: time.Minute}, Target{Name: "am", Notifier: am, Resend: true}, Target{Name: "chat", Notifier: chat})
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := stuckAlert("content.stored")

	ch, err := d.Update(ctx, t0, []Alert{a})
	require.NoError(t, err)
	require.Len(t, ch.Fired, 1)
	assert.Equal(t, t0, am.last()[0].StartsAt)
	assert.Equal(t, t0.Add(4*time.Minute), am.last()[0].EndsAt)
	assert.Len(t, chat.calls, 1)

	// Still firing, before the resend interval: nothing sent.
	_, err = d.Update(ctx, t0.Add(30*time.Second), []Alert{a})
	require.NoError(t, err)
	assert.Len(t, am.calls, 1)

	// Due: Alertmanager gets it again with EndsAt moved; chat does not.
	ch, err = d.Update(ctx, t0.Add(61*time.Second), []Alert{a})
	require.NoError(t, err)
	assert.Equal(t, 1, ch.Resent)
	require.Len(t, am.calls, 2)
	assert.Equal(t, t0, am.last()[0].StartsAt, "startsAt stays")
	assert.Equal(t, t0.Add(61*time.Second+4*time.Minute), am.last()[0].EndsAt)
	assert.Len(t, chat.calls, 1)

	// Gone: resolved with EndsAt = now, to both.
	ch, err = d.Update(ctx, t0.Add(70*time.Second), nil)
	require.NoError(t, err)
	require.Len(t, ch.Resolved, 1)
	assert.Equal(t, t0.Add(70*time.Second), am.last()[0].EndsAt)
	assert.True(t, chat.last()[0].Resolved(t0.Add(70*time.Second)))
	assert.Empty(t, d.Active())
}

func TestDispatcherRetriesFailedDeliveries(t *testing.T) {
	am := &memNotifier{fail: true}
	d := NewDispatcher(DispatcherConfig{}, Target{Name: "am", Notifier: am, Resend: true})
	t0 := time.Now()
	_, err := d.Update(context.Background(), t0, []Alert{stuckAlert("x")})
	require.ErrorContains(t, err, "am: ")
	am.fail = false
	_, err = d.Update(context.Background(), t0.Add(time.Second), []Alert{stuckAlert("x")})
	require.NoError(t, err)
	require.Len(t, am.calls, 2)
	assert.Len(t, am.last(), 1, "the failed alert is delivered once, not twice")
}

// A known value: FNV-1a over the sorted names and values with 0xff
// separators, computed independently of prometheus/common (by hand, in
// Python), is what Alertmanager reports for the same label set.
func TestFingerprintIsAlertmanagers(t *testing.T) {
	a := &Alert{Labels: map[string]string{"alertname": "FlowItemsStuck", "flow": "publish", "severity": "page"}}
	assert.Equal(t, "ee410f4f2412f9ed", a.Fingerprint())
	assert.Equal(t, "87f59700d7635970", LabelsFingerprint(map[string]string{"alertname": "SteadystateStopCondition"}))
}
