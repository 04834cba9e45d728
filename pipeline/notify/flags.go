package notify

import "github.com/spf13/pflag"

// AddFlags registers the destinations as flags: repeatable --alertmanager
// and --webhook, and --slack-webhook.
func (d *Destinations) AddFlags(fl *pflag.FlagSet) {
	fl.StringArrayVar(&d.Alertmanager, "alertmanager", nil, "Alertmanager base URL, e.g. http://127.0.0.1:9093 (repeatable)")
	fl.StringVar(&d.Slack, "slack-webhook", "", "Slack incoming-webhook URL")
	fl.StringArrayVar(&d.Webhook, "webhook", nil, "URL receiving Alertmanager-format webhook posts (repeatable)")
}
