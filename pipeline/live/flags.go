package live

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/listen"
)

// AddFlags registers the flags of `analyze live` that fill the session
// (all but the target's window): --interval, --duration, --exit-on-stop,
// the stop notices, --alpha, the war room's --web, --web-token and
// --insecure-listen, and --consumer-group.
func (s *Session) AddFlags(fl *pflag.FlagSet) {
	fl.DurationVar(&s.Interval, "interval", 5*time.Second, "refresh interval")
	fl.DurationVar(&s.Duration, "duration", 0, "stop after this long (default: until interrupted)")
	fl.BoolVar(&s.ExitOnStop, "exit-on-stop", false, "exit 3 as soon as a stop condition holds")
	fl.StringVar(&s.Alertmanager, "alertmanager", "", "Alertmanager base URL to post a stop alert to (v2 API)")
	fl.StringVar(&s.Webhook, "webhook", "", "URL to POST a JSON stop notice to")
	fl.Float64Var(&s.Settings.Alpha, "alpha", analysis.DefaultAlpha, "anytime-valid significance level")
	fl.StringVar(&s.Web.Addr, "web", "", "serve the war-room page at this address, e.g. 127.0.0.1:8088")
	fl.StringVar(&s.Web.Token, "web-token", "", "token the page's URL must carry (required off loopback unless --"+listen.FlagInsecure+")")
	// The war room's own name for --insecure-listen, before it followed the
	// one rule (registered first: each registration sets the default).
	fl.BoolVar(&s.Web.Insecure, "web-insecure", false, "")
	_ = fl.MarkDeprecated("web-insecure", "use --"+listen.FlagInsecure+" (the one flag of every listener)")
	listen.AddInsecureFlag(fl, &s.Web.Insecure)
	fl.StringVar(&s.ConsumerGroup, "consumer-group", flows.NewDefaultConfig().ConsumerGroup, "the sink's consumer group: buckets settle at its watermark (now - 30s when it wrote no progress), and the web view's flows panel shows it")
}
