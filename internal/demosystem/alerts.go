package demosystem

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/steadystate/steadystate/pipeline/receive"
)

// Rule is one alerting rule of the simulated monitoring, evaluated over a
// sliding window like a Prometheus rule with a range of Window.
type Rule struct {
	Name     string
	Severity string
	Summary  string
	Window   time.Duration
	// Fires decides from the window's counts.
	Fires func(c Counts) bool
}

// Counts are the simulated metrics over a rule's window.
type Counts struct {
	Pages, PagesFailed, PaymentErrors int64
}

// Rules are the two alerts the checkout team has: a ticket on payment
// errors (any amount) and a page on the checkout error rate over all
// traffic, 10% for a minute, which a 5% cohort can never reach even when
// every one of its pages fails.
var Rules = []Rule{
	{
		Name: "PaymentDependencyErrors", Severity: "ticket", Window: time.Minute,
		Summary: "payment API calls from checkout fail",
		Fires:   func(c Counts) bool { return c.PaymentErrors >= 5 },
	},
	{
		Name: "CheckoutErrorRateHigh", Severity: "page", Window: time.Minute,
		Summary: "more than 10% of checkout page loads fail",
		Fires: func(c Counts) bool {
			return c.Pages >= MinPagesJudged && float64(c.PagesFailed) > 0.10*float64(c.Pages)
		},
	},
}

// MinPagesJudged is the fewest page loads in the window on which
// CheckoutErrorRateHigh decides. Users are drawn at random per request, so
// a 5% cohort's share of a few hundred pages swings: with every one of its
// pages failing, the chance that more than 10% of n pages fail (binomial,
// the share 5.5% of the 200 users the system test draws from) is 2.2e-2 at
// n = 100, 6.3e-4 at 300 and 4.1e-6 at 600, and the rule is evaluated
// several times a second. At 600 a partial outage of 5% never pages by
// chance, and the default 60 page loads per second reach it in 10 s.
const MinPagesJudged = 600

type second struct {
	at                           int64
	pages, failed, paymentErrors int64
}

// alerter counts per second, evaluates Rules and posts Alertmanager
// webhooks (version 4) on every change of state.
type alerter struct {
	url    string
	log    *slog.Logger
	client *http.Client

	mu     sync.Mutex
	ring   [120]second
	active map[string]time.Time // alertname -> startsAt
	warned bool
	now    func() time.Time
}

func newAlerter(url string, log *slog.Logger) *alerter {
	return &alerter{url: url, log: log, client: &http.Client{Timeout: 5 * time.Second}, active: map[string]time.Time{}, now: time.Now}
}

func (a *alerter) slot() *second {
	t := a.now().Unix()
	s := &a.ring[t%int64(len(a.ring))]
	if s.at != t {
		*s = second{at: t}
	}
	return s
}

func (a *alerter) page()         { a.mu.Lock(); a.slot().pages++; a.mu.Unlock() }
func (a *alerter) pageFailed()   { a.mu.Lock(); a.slot().failed++; a.mu.Unlock() }
func (a *alerter) paymentError() { a.mu.Lock(); a.slot().paymentErrors++; a.mu.Unlock() }

func (a *alerter) counts(window time.Duration) Counts {
	a.mu.Lock()
	defer a.mu.Unlock()
	var c Counts
	from := a.now().Add(-window).Unix()
	for _, s := range a.ring {
		if s.at > from {
			c.Pages += s.pages
			c.PagesFailed += s.failed
			c.PaymentErrors += s.paymentErrors
		}
	}
	return c
}

func (a *alerter) firing() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.active))
	for n := range a.active {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// evaluate applies every rule once and notifies changes.
func (a *alerter) evaluate(ctx context.Context) {
	for _, r := range Rules {
		fires := r.Fires(a.counts(r.Window))
		a.mu.Lock()
		startsAt, was := a.active[r.Name]
		switch {
		case fires && !was:
			startsAt = a.now()
			a.active[r.Name] = startsAt
		case !fires && was:
			delete(a.active, r.Name)
		}
		a.mu.Unlock()
		if fires != was {
			a.notify(ctx, r, fires, startsAt)
		}
	}
}

func (a *alerter) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.evaluate(ctx)
		}
	}
}

// resolveAll resolves what still fires when the system stops.
func (a *alerter) resolveAll(ctx context.Context) {
	for _, r := range Rules {
		a.mu.Lock()
		startsAt, was := a.active[r.Name]
		delete(a.active, r.Name)
		a.mu.Unlock()
		if was {
			a.notify(ctx, r, false, startsAt)
		}
	}
}

func (a *alerter) notify(ctx context.Context, r Rule, firing bool, startsAt time.Time) {
	status, endsAt := "firing", time.Time{}
	if !firing {
		status, endsAt = "resolved", a.now()
	}
	a.log.Info("alert", "alertname", r.Name, "status", status, "severity", r.Severity)
	if a.url == "" {
		return
	}
	labels := map[string]string{"alertname": r.Name, "severity": r.Severity, "service": "checkout", "team": "team-checkout"}
	// The payload types and the fingerprint are the receiver's own
	// (pipeline/receive), so the demo sends what Alertmanager sends.
	body, err := json.Marshal(receive.AlertmanagerPayload{
		Version: "4", GroupKey: "{}:{alertname=\"" + r.Name + "\"}", Status: status, Receiver: "steadystate",
		GroupLabels: map[string]string{"alertname": r.Name}, CommonLabels: labels,
		CommonAnnotations: map[string]string{"summary": r.Summary}, ExternalURL: "http://demo-alertmanager.invalid",
		Alerts: []receive.AlertmanagerAlert{{
			Status: status, Labels: labels, Annotations: map[string]string{"summary": r.Summary},
			StartsAt: startsAt.UTC(), EndsAt: endsAt.UTC(), Fingerprint: receive.LabelsFingerprint(labels),
			GeneratorURL: "http://demo-prometheus.invalid/graph?g0.expr=" + r.Name,
		}},
	})
	if err != nil {
		a.log.Error("encode alert webhook", "err", err)
		return
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		a.log.Error("alert webhook request", "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		a.log.Warn("alert webhook not delivered", "url", a.url, "err", err)
		return
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		a.mu.Lock()
		warn := !a.warned
		a.warned = true
		a.mu.Unlock()
		if warn {
			a.log.Warn("alert webhook refused", "url", a.url, "status", resp.StatusCode, "body", string(b))
		}
	}
}
