package flows

import (
	"time"

	"github.com/spf13/pflag"
)

// AddFlags sets sel to NewDefaultSelection and registers the flags
// `analyze flows check` and `analyze watch` share: --flow, --since,
// --consumer-group and the watermark's --grace, --lag-after and
// --stall-after.
func (sel *Selection) AddFlags(fl *pflag.FlagSet) {
	*sel = NewDefaultSelection()
	fl.StringVar(&sel.Flow, "flow", "", "check only this flow (default: every defined flow)")
	fl.DurationVar(&sel.Since, "since", sel.Since, "check items whose first event is at most this old")
	fl.StringVar(&sel.Config.ConsumerGroup, "consumer-group", sel.Config.ConsumerGroup, "the sink's consumer group, whose progress gives the watermark")
	fl.DurationVar(&sel.Config.Watermark.Grace, "grace", sel.Config.Watermark.Grace, "subtracted from the watermark for events not yet committed")
	fl.DurationVar(&sel.Config.Watermark.LagAfter, "lag-after", sel.Config.Watermark.LagAfter, "report the pipeline lagging when the watermark is this far behind")
	fl.DurationVar(&sel.Config.Watermark.StallAfter, "stall-after", sel.Config.Watermark.StallAfter, "report the pipeline stalled after this long without sink progress")
}

// AddFlags registers `analyze watch`'s --interval and --resend (Since is
// the Selection's --since).
func (c *WatchConfig) AddFlags(fl *pflag.FlagSet) {
	fl.DurationVar(&c.Interval, "interval", 5*time.Second, "how often to evaluate")
	fl.DurationVar(&c.Resend, "resend", time.Minute, "re-send firing alerts to Alertmanager this often")
}
