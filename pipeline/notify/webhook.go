package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Webhook posts alerts as JSON in Alertmanager's webhook format (version
// "4"), so anything that reads Alertmanager notifications, including
// `ingest serve`'s POST /v1/alerts/alertmanager, reads these too:
//
//	{"version": "4", "status": "firing", "receiver": "steadystate",
//	 "alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
//	             "startsAt": "...", "endsAt": "...", "generatorURL": "...",
//	             "fingerprint": "..."}], ...}
//
// status is "firing" when any alert fires, else "resolved".
type Webhook struct {
	url      string
	client   *http.Client
	retry    RetryConfig
	set      HTTPSettings
	receiver string
}

// NewWebhook returns a notifier posting to url.
func NewWebhook(url string, set HTTPSettings) (*Webhook, error) {
	u, err := parseHTTPURL(url, "webhook")
	if err != nil {
		return nil, err
	}
	return &Webhook{url: u.String(), client: set.client(), retry: set.Retry, set: set, receiver: "steadystate"}, nil
}

// WebhookMessage is the body the Webhook notifier posts.
type WebhookMessage struct {
	Version           string            `json:"version"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	Alerts            []WebhookAlert    `json:"alerts"`
}

// WebhookAlert is one alert of a WebhookMessage.
type WebhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Notify posts all alerts in one message.
func (w *Webhook) Notify(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	b, err := json.Marshal(NewWebhookMessage(alerts, time.Now(), w.receiver))
	if err != nil {
		return fmt.Errorf("encode webhook message: %w", err)
	}
	if err := retry(ctx, w.retry, func(ctx context.Context) error { return post(ctx, w.client, w.url, b, w.set.Header) }); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}

// NewWebhookMessage builds the message for alerts as of now.
func NewWebhookMessage(alerts []Alert, now time.Time, receiver string) WebhookMessage {
	m := WebhookMessage{Version: "4", Status: "resolved", Receiver: receiver, GroupLabels: map[string]string{}}
	for i := range alerts {
		a := &alerts[i]
		st := "firing"
		if a.Resolved(now) {
			st = "resolved"
		} else {
			m.Status = "firing"
		}
		ann := a.Annotations
		if ann == nil {
			ann = map[string]string{}
		}
		m.Alerts = append(m.Alerts, WebhookAlert{
			Status: st, Labels: a.Labels, Annotations: ann, StartsAt: rfc3339(a.StartsAt),
			EndsAt: rfc3339(a.EndsAt), GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint(),
		})
	}
	m.CommonLabels = common(alerts, func(a *Alert) map[string]string { return a.Labels })
	m.CommonAnnotations = common(alerts, func(a *Alert) map[string]string { return a.Annotations })
	return m
}

func common(alerts []Alert, get func(*Alert) map[string]string) map[string]string {
	out := map[string]string{}
	if len(alerts) == 0 {
		return out
	}
	for k, v := range get(&alerts[0]) {
		out[k] = v
	}
	for i := 1; i < len(alerts); i++ {
		m := get(&alerts[i])
		for k, v := range out {
			if m[k] != v {
				delete(out, k)
			}
		}
	}
	return out
}
