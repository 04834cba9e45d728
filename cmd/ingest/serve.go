package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/produce"
	"github.com/steadystate/steadystate/pipeline/receive"
	"github.com/steadystate/steadystate/pipeline/tag"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// EnvTokens holds bearer tokens, comma separated (kept off the command
// line, where ps would show them).
const EnvTokens = "STEADYSTATE_INGEST_TOKENS"

type serveOptions struct {
	f           *factory
	Receive     receive.Config
	Produce     produce.Config
	Experiments string
	Admin       cliutil.AdminFlags
	TraceCache  int
	TraceTTL    time.Duration
	Memory      memoryBudget
}

func newCmdServe(f *factory) *cobra.Command {
	opts := &serveOptions{f: f, Receive: receive.NewDefaultConfig(), Produce: produce.NewDefaultConfig(), Memory: serveMemory}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Receive OTLP and JSON events, tag them, and write them to Kafka",
		Long: `serve embeds the OpenTelemetry Collector's OTLP receiver (traces and logs
over gRPC and HTTP) and serves structured JSON events at POST /v1/events on
the HTTP port. Every record is tagged with its experiment and cohort (record
attributes, then resource attributes, then JSON fields, then the cohort rules
of the experiment definitions in --experiments) and given a deterministic
event id, so a retried request never creates a new event.

A request is answered 200 only after Kafka acknowledged all its records
(acks=all). While Kafka cannot acknowledge, OTLP/gRPC gets UNAVAILABLE and
HTTP gets 503 with Retry-After. Bearer tokens come from
$STEADYSTATE_INGEST_TOKENS (comma separated) and --token-file (one per line,
re-read when it changes).`,
		Example: `  ingest serve --experiments experiments/examples
  STEADYSTATE_INGEST_TOKENS=s3cret ingest serve --http 0.0.0.0:4318`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v := os.Getenv(EnvTokens); v != "" {
				opts.Receive.Tokens = strings.Split(v, ",")
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	opts.Receive.AddFlags(fl)
	opts.Produce.AddFlags(fl)
	fl.StringVar(&opts.Experiments, "experiments", os.Getenv("STEADYSTATE_EXPERIMENTS"), "directory of experiment and flow definitions: cohort rules, flow stages ($STEADYSTATE_EXPERIMENTS; none by default)")
	cliutil.AddAdminFlags(fl, &opts.Admin, "127.0.0.1:9464")
	fl.IntVar(&opts.TraceCache, "trace-cache", tag.DefaultTraceCacheSize, "traces whose cohort is remembered to tag their other spans (per generation, two generations; 0 turns trace tagging at ingest off)")
	fl.DurationVar(&opts.TraceTTL, "trace-cache-ttl", tag.DefaultTraceCacheTTL, "a generation of the trace cache is retired after this long")
	addMemoryFlag(fl, &opts.Memory)
	return cmd
}

// converter adapts the tagger's rejection error to the receiver's.
type converter struct{ t *tag.Tagger }

func (c converter) Traces(td ptrace.Traces) ([]telemetry.Event, error) { return wrap(c.t.Traces(td)) }
func (c converter) Logs(ld plog.Logs) ([]telemetry.Event, error)       { return wrap(c.t.Logs(ld)) }
func (c converter) JSONEvents(b []byte) ([]telemetry.Event, error) {
	// The receiver hands over each body (receive.Converter): no copy.
	return wrap(c.t.JSONEventsOwned(b))
}

// Recycle implements receive.Recycler.
func (c converter) Recycle(events []telemetry.Event) { c.t.Recycle(events) }

func wrap(events []telemetry.Event, err error) ([]telemetry.Event, error) {
	var re *tag.RejectError
	if errors.As(err, &re) {
		return events, &receive.PartialError{Rejected: re.Rejected, Err: err}
	}
	return events, err
}

func serveRun(ctx context.Context, opts *serveOptions) error {
	if err := opts.Memory.apply(); err != nil {
		return err
	}
	log, err := cliutil.NewLogger(opts.f.IO.ErrOut, opts.Admin.LogLevel)
	if err != nil {
		return err
	}
	if err := checkServeListeners(opts); err != nil {
		return err
	}
	var spec *experiment.Spec
	if opts.Experiments != "" {
		if spec, err = experiment.LoadDir(opts.Experiments); err != nil {
			return err
		}
	}
	tcfg := tag.Config{}
	if opts.TraceCache > 0 {
		tcfg.Traces = tag.NewTraceCohorts(opts.TraceCache, opts.TraceTTL, nil)
	}
	tagger, err := tag.New(tcfg, spec)
	if err != nil {
		return err
	}
	prod, err := produce.New(opts.Produce)
	if err != nil {
		return err
	}
	defer prod.Close()
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := prod.EnsureTopic(startCtx); err != nil {
		return err
	}
	reg := cliutil.NewRegistry()
	rcv, err := receive.New(opts.Receive, receive.Settings{Logger: log, Registry: reg}, converter{tagger}, prod)
	if err != nil {
		return err
	}
	admin, err := opts.Admin.Start(reg, func(ctx context.Context) error {
		return bus.EnsureTopic(ctx, opts.Produce.Brokers, opts.Produce.EventsTopic())
	}, log)
	if err != nil {
		return err
	}
	if err := rcv.Start(startCtx); err != nil {
		_ = admin.Shutdown(context.Background())
		return err
	}
	log.Info("ingest serving", "grpc", opts.Receive.GRPCEndpoint, "http", opts.Receive.HTTPEndpoint,
		"topic", opts.Produce.Topic, "auth", len(opts.Receive.Tokens) > 0 || opts.Receive.TokenFile != "", "admin", opts.Admin.Addr)
	<-ctx.Done()

	// Stop the receiver before the producer: in-flight requests finish and
	// get their answer, then the writer flushes and closes.
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancelShutdown()
	errs := []error{rcv.Shutdown(shutdownCtx), prod.Close(), admin.Shutdown(shutdownCtx)}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("ingest stopped cleanly")
	return nil
}

// checkServeListeners refuses, before anything listens, an OTLP or events
// port beyond loopback without tokens and an admin port beyond loopback
// (it has no tokens), unless --insecure-listen was given.
func checkServeListeners(opts *serveOptions) error {
	authed := len(opts.Receive.Tokens) > 0 || opts.Receive.TokenFile != ""
	hint := "set bearer tokens with $" + EnvTokens + " or --token-file"
	return errors.Join(
		listen.Check(listen.Listener{Name: "ingest OTLP/gRPC", Flag: "--grpc", Addr: opts.Receive.GRPCEndpoint, Authenticated: authed, TokenHint: hint}, opts.Admin.Insecure),
		listen.Check(listen.Listener{Name: "ingest OTLP/HTTP and events", Flag: "--http", Addr: opts.Receive.HTTPEndpoint, Authenticated: authed, TokenHint: hint}, opts.Admin.Insecure),
		listen.Check(listen.Listener{Name: "ingest admin (/metrics, /healthz, pprof)", Flag: "--admin", Addr: opts.Admin.Addr}, opts.Admin.Insecure),
	)
}
