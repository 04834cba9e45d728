package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/steadystate/steadystate/pipeline/wait"
)

// Slack posts alerts to a Slack incoming webhook, one message per Notify
// call (at most MaxPerMessage alerts each; more become several messages).
// Messages are spaced at least Interval apart (Slack allows about one
// message per second per webhook), counted from the answer to the previous
// one, so the receiver sees them at least Interval apart however long a
// request takes to arrive; a 429 answer is retried after its Retry-After.
type Slack struct {
	url      string
	client   *http.Client
	retry    RetryConfig
	interval time.Duration
	perMsg   int

	mu   sync.Mutex // serialises sends, so the spacing holds across callers
	last time.Time
}

// SlackSettings tune the Slack notifier.
type SlackSettings struct {
	HTTP HTTPSettings
	// Interval is the minimum time between two messages (from the answer
	// to the previous one to the next request). Default: 1s.
	Interval time.Duration
	// MaxPerMessage caps the alerts listed in one message. Default: 20.
	MaxPerMessage int
}

// NewSlack returns a notifier for an incoming-webhook URL.
func NewSlack(webhookURL string, set SlackSettings) (*Slack, error) {
	u, err := parseHTTPURL(webhookURL, "slack webhook")
	if err != nil {
		return nil, err
	}
	if set.Interval <= 0 {
		set.Interval = time.Second
	}
	if set.MaxPerMessage <= 0 {
		set.MaxPerMessage = 20
	}
	r := set.HTTP.Retry.withDefaults()
	// A 429's Retry-After may be long; let it be honoured in full.
	r.Max = max(r.Max, time.Minute)
	return &Slack{url: u.String(), client: set.HTTP.client(), retry: r, interval: set.Interval, perMsg: set.MaxPerMessage}, nil
}

type slackMessage struct {
	Text string `json:"text"`
}

// Notify sends the alerts as one or more messages.
func (s *Slack) Notify(ctx context.Context, alerts []Alert) error {
	now := time.Now()
	for lo := 0; lo < len(alerts); lo += s.perMsg {
		chunk := alerts[lo:min(lo+s.perMsg, len(alerts))]
		b, err := json.Marshal(slackMessage{Text: SlackText(chunk, now)})
		if err != nil {
			return fmt.Errorf("encode slack message: %w", err)
		}
		if err := s.send(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *Slack) send(ctx context.Context, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := retry(ctx, s.retry, func(ctx context.Context) error {
		if !wait.Sleep(ctx, time.Until(s.last.Add(s.interval))) {
			return ctx.Err()
		}
		err := post(ctx, s.client, s.url, body, nil)
		s.last = time.Now()
		return err
	})
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	return nil
}

// SlackText renders alerts as Slack mrkdwn: one line per alert with its
// state, summary, labels and runbook link.
func SlackText(alerts []Alert, now time.Time) string {
	var b strings.Builder
	for i := range alerts {
		a := &alerts[i]
		if i > 0 {
			b.WriteByte('\n')
		}
		state := ":rotating_light: *FIRING*"
		if a.Resolved(now) {
			state = ":white_check_mark: *RESOLVED*"
		}
		summary := a.Annotations["summary"]
		if summary == "" {
			summary = a.Name()
		}
		fmt.Fprintf(&b, "%s %s: %s", state, slackEscape(a.Name()), slackEscape(summary))
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			if k != "alertname" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var labels []string
		for _, k := range keys {
			labels = append(labels, k+"="+a.Labels[k])
		}
		if len(labels) > 0 {
			fmt.Fprintf(&b, " `%s`", slackEscape(strings.Join(labels, " ")))
		}
		if rb := a.Annotations["runbook_url"]; rb != "" {
			fmt.Fprintf(&b, " <%s|runbook>", rb)
		}
	}
	return b.String()
}

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

var _ Notifier = (*Slack)(nil)
