package notify

import (
	"context"
	"errors"
	"fmt"
)

// Destinations are where alerts go, as the commands' flags give them.
type Destinations struct {
	// Alertmanager base URLs (API v2); firing alerts are re-sent to them.
	Alertmanager []string
	// Slack is an incoming-webhook URL ("" for none).
	Slack string
	// Webhook URLs get Alertmanager's webhook format.
	Webhook []string
}

// Empty reports whether no destination is set.
func (d Destinations) Empty() bool {
	return len(d.Alertmanager) == 0 && d.Slack == "" && len(d.Webhook) == 0
}

// Targets is the one notifier builder: one Target per destination, named
// by kind and URL, Alertmanager targets marked for re-sending. A bad URL
// is an error naming its kind.
func Targets(d Destinations) ([]Target, error) {
	var out []Target
	for _, u := range d.Alertmanager {
		am, err := NewAlertmanager(u, HTTPSettings{})
		if err != nil {
			return nil, fmt.Errorf("alertmanager: %w", err)
		}
		out = append(out, Target{Name: "alertmanager " + u, Notifier: am, Resend: true})
	}
	if d.Slack != "" {
		sl, err := NewSlack(d.Slack, SlackSettings{})
		if err != nil {
			return nil, fmt.Errorf("slack webhook: %w", err)
		}
		out = append(out, Target{Name: "slack", Notifier: sl})
	}
	for _, u := range d.Webhook {
		wh, err := NewWebhook(u, HTTPSettings{})
		if err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
		out = append(out, Target{Name: "webhook " + u, Notifier: wh})
	}
	return out, nil
}

// Send delivers alerts once to every target (no re-sending, no state:
// for one-off notices such as a stop condition). Every target is tried;
// the errors are joined.
func Send(ctx context.Context, targets []Target, alerts []Alert) error {
	var errs []error
	for _, t := range targets {
		if err := t.Notifier.Notify(ctx, alerts); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}
