package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/internal/demosystem"
	"github.com/steadystate/steadystate/pipeline/listen"
)

type options struct {
	IO       *cliutil.IOStreams
	Config   demosystem.Config
	Duration time.Duration
	Insecure bool
}

func newRootCmd(ios *cliutil.IOStreams, runF func(context.Context, *options) error) *cobra.Command {
	opts := &options{IO: ios, Config: demosystem.NewDefaultConfig()}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the simulated system of the game-day demo",
		Long: `demo starts small services on loopback (checkout -> recommendations and
payment; publisher -> transformer -> store -> cdn), each with its own
OpenTelemetry tracer provider exporting OTLP/gRPC to ingest, drives page
loads and publishes (real and synthetic) through them, and evaluates two
alert rules, posting Alertmanager webhooks to ingest.

The feature flag payment-chaos is off at start: every request is control.
POST "on" to http://ADMIN/chaos when the run starts: the flag then puts
--cohort-per-mille of users and publishes in the experiment cohort, whose
payment calls fail with 500 and whose publishes are lost at the gateway.
GET http://ADMIN/status shows the counters. The admin port has no tokens:
like every Steadystate listener, an --admin address beyond loopback
refuses to start unless --insecure-listen (or STEADYSTATE_INSECURE=1).

It runs until interrupted (or for --duration), then flushes its spans.`,
		Example: `  demo --otlp 127.0.0.1:4317 --admin 127.0.0.1:8089
  curl -d on http://127.0.0.1:8089/chaos`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// No open door: anyone who reaches the admin port can turn the
			// chaos on.
			if opts.Config.Admin != "" {
				if err := listen.Check(listen.Listener{Name: "demo admin (POST /chaos, GET /status)", Flag: "--admin", Addr: opts.Config.Admin}, opts.Insecure); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			if opts.Duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, opts.Duration)
				defer cancel()
			}
			if runF != nil {
				return runF(ctx, opts)
			}
			return runDemo(ctx, opts)
		},
	}
	fl := cmd.Flags()
	c := &opts.Config
	fl.StringVar(&c.OTLPEndpoint, "otlp", c.OTLPEndpoint, "ingest's OTLP/gRPC address")
	fl.StringVar(&c.AlertWebhook, "alert-webhook", c.AlertWebhook, `Alertmanager-style webhook for the demo's alerts ("" sends none)`)
	fl.StringVar(&c.Admin, "admin", c.Admin, "address of POST /chaos and GET /status")
	fl.Float64Var(&c.CheckoutRate, "rate", c.CheckoutRate, "checkout page loads per second")
	fl.IntVar(&c.Users, "users", c.Users, "distinct users")
	fl.Float64Var(&c.PublishRate, "publish-rate", c.PublishRate, "editor publishes per second")
	fl.DurationVar(&c.SyntheticEvery, "synthetic-every", c.SyntheticEvery, "period of synthetic publishes (0: none)")
	fl.IntVar(&c.CohortPerMille, "cohort-per-mille", c.CohortPerMille, "share of users and publishes in the experiment cohort while chaos is on")
	fl.BoolVar(&c.Chaos, "chaos", c.Chaos, "start with the payment-chaos flag on")
	fl.DurationVar(&opts.Duration, "duration", 0, "stop after this long (0: until interrupted)")
	listen.AddInsecureFlag(fl, &opts.Insecure)
	return cmd
}

func runDemo(ctx context.Context, opts *options) error {
	log := slog.New(slog.NewTextHandler(opts.IO.ErrOut, nil))
	log.Info("demo starting", "otlp", opts.Config.OTLPEndpoint, "admin", opts.Config.Admin, "rate", opts.Config.CheckoutRate)
	st, err := demosystem.Run(ctx, opts.Config, log)
	fmt.Fprintf(opts.IO.Out, "pages %d (failed %d; experiment cohort %d, failed %d), payment errors %d, publishes %d (synthetic %d, lost %d)\n",
		st.Pages, st.PagesFailed, st.PagesExperiment, st.PagesExperimentFailed, st.PaymentErrors, st.Publishes, st.PublishesSynthetic, st.PublishesLost)
	return err
}

// run executes the demo the way ingest and analyze run (cliutil.Execute):
// one "demo: error: ..." line, usage errors exit 2, --version.
func run(args []string, ios *cliutil.IOStreams) cliutil.ExitCode {
	ctx, cancel := cliutil.SignalContext()
	defer cancel()
	return cliutil.Execute(ctx, newRootCmd(ios, nil), args, ios)
}
