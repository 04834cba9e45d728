// Package notify sends alerts to people and alerting systems: Prometheus
// Alertmanager (API v2), Slack incoming webhooks and a generic JSON webhook.
// It knows nothing of flows or experiments: callers build Alert values
// (labels, annotations, times) and hand the alerts that hold right now to a
// Dispatcher on every evaluation; the Dispatcher works out what is new,
// what must be re-sent and what resolved.
//
// Every Notifier is safe for concurrent use, honours its context, and
// retries transient failures (network errors, 5xx, 429) with capped
// exponential backoff; a 4xx answer other than 429 is permanent.
package notify

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Alert is one alert, in Alertmanager's model: its identity is its label
// set; annotations carry the human text.
type Alert struct {
	// Labels identify the alert (alertname, flow, stage, severity, ...).
	Labels map[string]string `json:"labels"`
	// Annotations describe it (summary, description, runbook_url).
	Annotations map[string]string `json:"annotations,omitempty"`
	// StartsAt is when the condition began to hold.
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when it stopped holding (resolved), or for a firing alert
	// the time after which receivers may consider it resolved if no
	// re-send arrives. Zero means not set.
	EndsAt time.Time `json:"endsAt"`
	// GeneratorURL links to what produced the alert.
	GeneratorURL string `json:"generatorURL,omitempty"`
}

// Name returns the alertname label.
func (a *Alert) Name() string { return a.Labels["alertname"] }

// Resolved reports whether the alert has ended by now.
func (a *Alert) Resolved(now time.Time) bool { return !a.EndsAt.IsZero() && !a.EndsAt.After(now) }

// Fingerprint identifies the alert the way Alertmanager does: the
// label set's fingerprint (prometheus/common model.LabelSet.Fingerprint,
// FNV-1a over the sorted names and values), as 16 hex digits, which is
// the "fingerprint" Alertmanager shows in its API and webhooks.
func (a *Alert) Fingerprint() string {
	return LabelsFingerprint(a.Labels)
}

// LabelsFingerprint is Alertmanager's fingerprint of a label set.
func LabelsFingerprint(labels map[string]string) string {
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

// String is "alertname{k=v, ...}" for logs.
func (a *Alert) String() string {
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		if k != "alertname" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + a.Labels[k]
	}
	return a.Name() + "{" + strings.Join(parts, ", ") + "}"
}

// Notifier delivers alerts. Notify gets firing and resolved alerts
// together (Alert.Resolved tells them apart) and returns once they are
// delivered or it gave up.
type Notifier interface {
	Notify(ctx context.Context, alerts []Alert) error
}
