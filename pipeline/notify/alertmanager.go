package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Alertmanager posts alerts to Prometheus Alertmanager's v2 API
// (POST /api/v2/alerts). Alertmanager itself deduplicates, groups, routes
// and silences; it expects firing alerts to be re-sent while they hold
// (their EndsAt moves forward) and a resolved alert to carry EndsAt in the
// past. The Dispatcher does both.
type Alertmanager struct {
	url    string
	client *http.Client
	retry  RetryConfig
}

// HTTPSettings are what the HTTP notifiers share.
type HTTPSettings struct {
	// Client sends the requests. Default: a client with a 10s timeout.
	Client *http.Client
	// Retry bounds retries. Zero fields take NewDefaultRetryConfig's values.
	Retry RetryConfig
	// Header is added to every request (e.g. Authorization).
	Header http.Header
}

func (s HTTPSettings) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// NewAlertmanager returns a notifier for the Alertmanager at base (e.g.
// http://127.0.0.1:9093; a path prefix such as /alertmanager is kept).
func NewAlertmanager(base string, set HTTPSettings) (*Alertmanager, error) {
	u, err := parseHTTPURL(base, "alertmanager")
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v2/alerts"
	return &Alertmanager{url: u.String(), client: set.client(), retry: set.Retry}, nil
}

// postableAlert is the v2 API's PostableAlert; a zero EndsAt is left out
// (Alertmanager would read year 1 as "resolved long ago").
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Notify posts the alerts in one request.
func (a *Alertmanager) Notify(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	body := make([]postableAlert, len(alerts))
	for i := range alerts {
		al := &alerts[i]
		body[i] = postableAlert{Labels: al.Labels, Annotations: al.Annotations, StartsAt: rfc3339(al.StartsAt), EndsAt: rfc3339(al.EndsAt), GeneratorURL: al.GeneratorURL}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode alerts: %w", err)
	}
	if err := retry(ctx, a.retry, func(ctx context.Context) error { return post(ctx, a.client, a.url, b, nil) }); err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	return nil
}

func parseHTTPURL(s, what string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s URL %q: %w", what, s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s URL %q: want an absolute http:// or https:// URL", what, s)
	}
	return u, nil
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
