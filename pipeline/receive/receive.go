// Package receive is the front door of ingest: it embeds the OpenTelemetry
// Collector's otlpreceiver for OTLP traces and logs over gRPC and HTTP, serves
// structured JSON events at POST /v1/events and Alertmanager webhook
// notifications at POST /v1/alerts/alertmanager on the same HTTP port, and hands
// converted events to the next stage. A request is answered 200 only after
// the next stage (Kafka) acknowledged every record; when it cannot, OTLP gets
// UNAVAILABLE / HTTP 503 with Retry-After, never 200 and never 500.
package receive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Config configures the receiving side.
type Config struct {
	// GRPCEndpoint serves OTLP/gRPC. Default: 127.0.0.1:4317.
	GRPCEndpoint string `yaml:"grpc_endpoint"`
	// HTTPEndpoint serves OTLP/HTTP (/v1/traces, /v1/logs) and JSON events
	// (/v1/events). Default: 127.0.0.1:4318.
	HTTPEndpoint string `yaml:"http_endpoint"`
	// MaxRequestBytes caps a request body after decompression. Default: 20 MiB.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// RequestTimeout bounds the wait for Kafka's acknowledgement. Default: 10s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ReadTimeout and ReadHeaderTimeout protect against slow clients.
	// Defaults: 30s and 5s.
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// Tokens are accepted bearer tokens; TokenFile holds more, one per line,
	// re-read when it changes. With neither, no token is required.
	Tokens    []string `yaml:"tokens"`
	TokenFile string   `yaml:"token_file"`
	_         struct{}
}

// NewDefaultConfig returns the defaults.
func NewDefaultConfig() Config {
	return Config{
		GRPCEndpoint: "127.0.0.1:4317", HTTPEndpoint: "127.0.0.1:4318", MaxRequestBytes: 20 << 20,
		RequestTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, ReadHeaderTimeout: 5 * time.Second,
	}
}

// Validate checks the config.
func (c Config) Validate() error {
	var errs []error
	for name, ep := range map[string]string{"grpc_endpoint": c.GRPCEndpoint, "http_endpoint": c.HTTPEndpoint} {
		if _, _, err := net.SplitHostPort(ep); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, ep, err))
		}
	}
	if c.MaxRequestBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_request_bytes %d: must be at least 1024", c.MaxRequestBytes))
	}
	for name, d := range map[string]time.Duration{"request_timeout": c.RequestTimeout, "read_timeout": c.ReadTimeout, "read_header_timeout": c.ReadHeaderTimeout} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: must be positive", name, d))
		}
	}
	return errors.Join(errs...)
}

// Converter turns received telemetry into tagged events. A *RejectError-like
// error (see Rejected) reports records it refused.
// JSONEvents is handed the request body, which nothing else reads or
// writes afterwards: the events may keep references into it.
type Converter interface {
	Traces(ptrace.Traces) ([]telemetry.Event, error)
	Logs(plog.Logs) ([]telemetry.Event, error)
	JSONEvents([]byte) ([]telemetry.Event, error)
}

// Recycler is optional for a Converter: the receiver hands back every
// slice of events the Converter returned once the next stage's Publish
// returned (nothing of the request uses them any more), so the Converter
// may reuse their arrays. With a Recycler the receiver also reuses a
// /v1/events request's body buffer for later requests once its events are
// handed back: nothing the Converter keeps may point into a body then.
type Recycler interface {
	Recycle([]telemetry.Event)
}

// recycle hands events back to the Converter when it takes them.
func (r *Receiver) recycle(events []telemetry.Event) {
	if rc, ok := r.conv.(Recycler); ok && events != nil {
		rc.Recycle(events)
	}
}

// Publisher is the next stage: it returns once every event is durable,
// and keeps no reference to the events or their strings once it returned.
type Publisher interface {
	Publish(ctx context.Context, events []telemetry.Event) error
}

// Settings carry what the receiver reports to.
type Settings struct {
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Now gives the time alert notifications are received at; nil means
	// time.Now.
	Now func() time.Time
}

// Receiver serves OTLP and JSON events.
type Receiver struct {
	cfg    Config
	log    *slog.Logger
	conv   Converter
	next   Publisher
	tokens *Tokens
	m      *metrics
	now    func() time.Time

	traces   receiver.Traces
	logsRcv  receiver.Logs
	metricsR receiver.Metrics
	front    *http.Server
	frontLn  net.Listener
	wg       sync.WaitGroup

	mu      sync.Mutex
	started bool
	stopped bool
}

// New builds a receiver. Nothing listens before Start.
func New(cfg Config, set Settings, conv Converter, next Publisher) (*Receiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("receiver config: %w", err)
	}
	if conv == nil || next == nil {
		return nil, errors.New("receiver: converter and next stage are required")
	}
	if set.Logger == nil {
		set.Logger = slog.New(slog.DiscardHandler)
	}
	tokens, err := NewTokens(cfg.Tokens, cfg.TokenFile, set.Logger)
	if err != nil {
		return nil, err
	}
	if set.Now == nil {
		set.Now = time.Now
	}
	return &Receiver{cfg: cfg, log: set.Logger, conv: conv, next: next, tokens: tokens, m: newMetrics(set.Registry), now: set.Now}, nil
}

// host gives the embedded receiver our bearer-token authenticator.
type host struct {
	ext map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.ext }

var authID = component.MustNewID("steadystate_bearer")

// Start listens on the gRPC and HTTP endpoints. It returns once listening;
// on a partial failure it undoes what started.
func (r *Receiver) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("receiver already started")
	}
	r.started = true

	factory := otlpreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig().(*otlpreceiver.Config)
	grpcCfg := cfg.Protocols.GRPC.GetOrInsertDefault()
	grpcCfg.NetAddr.Endpoint = r.cfg.GRPCEndpoint
	grpcCfg.MaxRecvMsgSizeMiB = int((r.cfg.MaxRequestBytes + (1 << 20) - 1) >> 20)
	httpCfg := cfg.Protocols.HTTP.GetOrInsertDefault()
	// OTLP/HTTP is served behind our front server on an internal loopback
	// port, so /v1/events shares the public port with /v1/traces and /v1/logs.
	httpCfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	internalLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("reserve internal otlp/http port: %w", err)
	}
	internalAddr := internalLn.Addr().String()
	_ = internalLn.Close()
	httpCfg.ServerConfig.NetAddr.Endpoint = internalAddr
	httpCfg.ServerConfig.MaxRequestBodySize = r.cfg.MaxRequestBytes
	if r.tokens.Enabled() {
		grpcCfg.Auth = configoptional.Some(configauth.Config{AuthenticatorID: authID})
		httpCfg.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	}

	set := receiver.Settings{
		ID: component.MustNewID("otlp"),
		TelemetrySettings: component.TelemetrySettings{
			Logger: zap.NewNop(), TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: noop.NewMeterProvider(),
		},
	}
	h := host{ext: map[component.ID]component.Component{authID: authExtension{tokens: r.tokens}}}
	tracesNext, _ := consumer.NewTraces(r.consumeTraces)
	logsNext, _ := consumer.NewLogs(r.consumeLogs)
	metricsNext, _ := consumer.NewMetrics(r.refuseMetrics)
	if r.traces, err = factory.CreateTraces(ctx, set, cfg, tracesNext); err != nil {
		return fmt.Errorf("create otlp traces receiver: %w", err)
	}
	if r.logsRcv, err = factory.CreateLogs(ctx, set, cfg, logsNext); err != nil {
		return fmt.Errorf("create otlp logs receiver: %w", err)
	}
	if r.metricsR, err = factory.CreateMetrics(ctx, set, cfg, metricsNext); err != nil {
		return fmt.Errorf("create otlp metrics receiver: %w", err)
	}
	// The three share one underlying receiver; starting one starts it.
	if err := r.traces.Start(ctx, h); err != nil {
		return errors.Join(fmt.Errorf("start otlp receiver: %w", err), r.shutdownLocked(ctx))
	}
	for _, c := range []component.Component{r.logsRcv, r.metricsR} {
		if err := c.Start(ctx, h); err != nil {
			return errors.Join(fmt.Errorf("start otlp receiver: %w", err), r.shutdownLocked(ctx))
		}
	}

	target, _ := url.Parse("http://" + internalAddr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			resp.Header.Set("Retry-After", "1")
		}
		return nil
	}
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		r.log.Warn("otlp/http proxy", "err", err)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "otlp receiver unavailable", http.StatusServiceUnavailable)
	}
	mux := http.NewServeMux()
	otlp := r.limit(r.guardCompressed(proxy))
	mux.Handle("POST /v1/traces", otlp)
	mux.Handle("POST /v1/logs", otlp)
	mux.Handle("POST /v1/metrics", otlp)
	mux.Handle("POST /v1/events", r.limit(http.HandlerFunc(r.handleEvents)))
	mux.Handle("POST /v1/alerts/alertmanager", r.limit(http.HandlerFunc(r.handleAlertmanager)))
	ln, err := net.Listen("tcp", r.cfg.HTTPEndpoint)
	if err != nil {
		return errors.Join(fmt.Errorf("listen %s: %w", r.cfg.HTTPEndpoint, err), r.shutdownLocked(ctx))
	}
	r.frontLn = ln
	r.front = &http.Server{
		Handler: mux, ReadTimeout: r.cfg.ReadTimeout, ReadHeaderTimeout: r.cfg.ReadHeaderTimeout,
		WriteTimeout: r.cfg.RequestTimeout + 5*time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
	}
	r.tokens.Start()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.front.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("http server", "err", err)
		}
	}()
	return nil
}

// HTTPAddr is the address the HTTP server listens on (useful with port 0).
func (r *Receiver) HTTPAddr() string {
	if r.frontLn == nil {
		return ""
	}
	return r.frontLn.Addr().String()
}

// Shutdown stops accepting requests, waits for those in flight (bounded by
// ctx) and stops the embedded receiver. Safe without Start and twice.
func (r *Receiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shutdownLocked(ctx)
}

func (r *Receiver) shutdownLocked(ctx context.Context) error {
	if r.stopped {
		return nil
	}
	r.stopped = true
	var errs []error
	if r.front != nil {
		if err := r.front.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown http server: %w", err))
		}
	}
	for _, c := range []component.Component{r.traces, r.logsRcv, r.metricsR} {
		if c != nil {
			if err := c.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("shutdown otlp receiver: %w", err))
			}
		}
	}
	if r.tokens != nil {
		r.tokens.Stop()
	}
	r.wg.Wait()
	return errors.Join(errs...)
}

func (r *Receiver) consumeTraces(ctx context.Context, td ptrace.Traces) error {
	events, err := r.conv.Traces(td)
	return r.deliver(ctx, "otlp_traces", events, err)
}

func (r *Receiver) consumeLogs(ctx context.Context, ld plog.Logs) error {
	events, err := r.conv.Logs(ld)
	return r.deliver(ctx, "otlp_logs", events, err)
}

// deliver publishes an OTLP request's events. A request with any invalid
// record is refused whole (InvalidArgument, HTTP 400) naming the records,
// so the sender can fix and resend it; a Kafka failure is UNAVAILABLE.
func (r *Receiver) deliver(ctx context.Context, source string, events []telemetry.Event, convErr error) error {
	if convErr != nil {
		r.m.requests.WithLabelValues(source, "rejected").Inc()
		return status.Error(codes.InvalidArgument, convErr.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RequestTimeout)
	defer cancel()
	err := r.next.Publish(ctx, events)
	n := len(events)
	r.recycle(events)
	if err != nil {
		r.m.requests.WithLabelValues(source, "unavailable").Inc()
		r.log.Warn("publish failed; answering unavailable", "source", source, "events", n, "err", err)
		return status.Error(codes.Unavailable, "events not durable yet, retry: "+err.Error())
	}
	r.m.requests.WithLabelValues(source, "ok").Inc()
	r.m.events.WithLabelValues(source).Add(float64(n))
	return nil
}

// MetricsNotStored is the message OTLP metrics are refused with.
const MetricsNotStored = "metrics are not stored by steadystate ingest (traces, logs and JSON events are); " +
	"send span or log telemetry, or keep metrics in your metrics backend"

// refuseMetrics answers every OTLP metrics request with an error that
// counts the rejected data points and says they are not stored (gRPC
// InvalidArgument, HTTP 400): a sender never believes they were kept.
func (r *Receiver) refuseMetrics(_ context.Context, md pmetric.Metrics) error {
	n := md.DataPointCount()
	r.m.metricPoints.Add(float64(n))
	r.m.requests.WithLabelValues("otlp_metrics", "rejected").Inc()
	return status.Errorf(codes.InvalidArgument, "%d metric data points rejected: %s", n, MetricsNotStored)
}
