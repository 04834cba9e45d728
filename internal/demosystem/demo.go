// Package demosystem is the simulated system `make demo` runs: a handful of small
// services on loopback, instrumented with the OpenTelemetry Go SDK and
// exporting OTLP to `ingest serve`, tagged and broken with
// chaoshttp.
//
//   - checkout (GET /checkout) renders a page from recommendations (a soft
//     dependency: the page renders without it) and payment (a hard one
//     nobody knew about: when payment fails, the whole page fails);
//   - payment (POST /payment/authorize) returns 500 for the experiment
//     cohort of checkout-payment-500, which it learns from baggage;
//   - the publish pipeline publisher -> transformer -> store -> cdn emits
//     the stages publish.received, content.transformed, content.stored and
//     cache.purged with the publish_id; the gateway between transformer and
//     store fails the experiment cohort's items, so they stop after
//     content.transformed (stuck publishes);
//   - synthetic publishes (chaos.synthetic=true) run throughout;
//   - a small rule evaluator stands in for Prometheus: it pages on the
//     checkout error rate over all traffic (10%, above what a 5% cohort can
//     reach: it will not fire) and tickets on payment errors (fires), and
//     posts Alertmanager webhooks to ingest.
//
// The feature flag payment-chaos starts "off" for everyone (every request
// is control) and is switched on through the admin endpoint when the run
// starts; then it is "on" for CohortPerMille of users and publishes.
package demosystem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadystate/steadystate/chaoshttp"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Names the experiment and flow definitions in experiments/examples use.
const (
	ExperimentID = "checkout-payment-500"
	FlagKey      = "payment-chaos"
	FlowKeyAttr  = "publish_id"
)

// Publish stages, in order.
var PublishStages = []string{"publish.received", "content.transformed", "content.stored", "cache.purged"}

// Config configures the simulated system.
type Config struct {
	// OTLPEndpoint is ingest's OTLP/gRPC address. Default: 127.0.0.1:4317.
	OTLPEndpoint string
	// AlertWebhook receives Alertmanager-style webhooks; "" sends none.
	// Default: http://127.0.0.1:4318/v1/alerts/alertmanager.
	AlertWebhook string
	// Admin serves POST /chaos (body "on" or "off") and GET /status.
	// Default: 127.0.0.1:8089.
	Admin string
	// CheckoutRate is page loads per second. Default: 60, so the 5% cohort
	// reaches the live monitor's minimum sample (100 per cohort) within
	// the demo's minute.
	CheckoutRate float64
	// Users is the number of distinct users. Default: 100000, so the flag's
	// hash split of the pool is close to its nominal share (4.88% for 5%;
	// with 5000 users it is 4.36%, which a long run flags as a sample-ratio
	// mismatch, rightly).
	Users int
	// PublishRate is editor publishes per second. Default: 2.
	PublishRate float64
	// SyntheticEvery is the period of synthetic publishes; 0 disables them.
	// Default: 5s.
	SyntheticEvery time.Duration
	// CohortPerMille is the share of users and publishes the flag puts in
	// the experiment while chaos is on. Default: 50 (5%).
	CohortPerMille int
	// Chaos is the flag's initial state. Default: false (off).
	Chaos bool
	// AlertEvery is how often the alert rules are evaluated. Default: 5s.
	AlertEvery time.Duration
	// Exporter replaces the OTLP exporter (tests). Default: nil.
	Exporter sdktrace.SpanExporter
	_        struct{}
}

// NewDefaultConfig returns the defaults `make demo` uses.
func NewDefaultConfig() Config {
	return Config{
		OTLPEndpoint:   "127.0.0.1:4317",
		AlertWebhook:   "http://127.0.0.1:4318/v1/alerts/alertmanager",
		Admin:          "127.0.0.1:8089",
		CheckoutRate:   60,
		Users:          100000,
		PublishRate:    2,
		SyntheticEvery: 5 * time.Second,
		CohortPerMille: 50,
		AlertEvery:     5 * time.Second,
	}
}

// Validate checks the config.
func (c Config) Validate() error {
	var errs []error
	if c.OTLPEndpoint == "" && c.Exporter == nil {
		errs = append(errs, errors.New("otlp endpoint: required"))
	}
	if c.CheckoutRate <= 0 || c.CheckoutRate > 1000 {
		errs = append(errs, fmt.Errorf("checkout rate %v: want (0, 1000] per second", c.CheckoutRate))
	}
	if c.PublishRate < 0 || c.PublishRate > 100 {
		errs = append(errs, fmt.Errorf("publish rate %v: want [0, 100] per second", c.PublishRate))
	}
	if c.Users < 1 {
		errs = append(errs, fmt.Errorf("users %d: want at least 1", c.Users))
	}
	if c.CohortPerMille < 0 || c.CohortPerMille > 1000 {
		errs = append(errs, fmt.Errorf("cohort per mille %d: want 0 to 1000", c.CohortPerMille))
	}
	if c.SyntheticEvery < 0 {
		errs = append(errs, fmt.Errorf("synthetic every %s: must be >= 0", c.SyntheticEvery))
	}
	if c.AlertEvery <= 0 {
		errs = append(errs, fmt.Errorf("alert every %s: must be > 0", c.AlertEvery))
	}
	return errors.Join(errs...)
}

// Stats are the system's own counters, as its dashboards would show them.
type Stats struct {
	Pages, PagesFailed, PagesExperiment, PagesExperimentFailed int64
	PaymentErrors                                              int64
	Publishes, PublishesSynthetic, PublishesLost               int64
	Firing                                                     []string
}

// System is the running simulated system.
type System struct {
	cfg   Config
	log   *slog.Logger
	chaos atomic.Bool
	prop  propagation.TextMapPropagator

	providers []*sdktrace.TracerProvider
	servers   []*http.Server
	urls      map[string]string
	clients   map[string]*http.Client
	tracers   map[string]trace.Tracer

	pages, pagesFailed, pagesExp, pagesExpFailed atomic.Int64
	paymentErrors                                atomic.Int64
	publishes, publishesSynth, publishesLost     atomic.Int64
	seq                                          atomic.Int64

	alerts *alerter
	wg     sync.WaitGroup
}

// flags is the in-process flag provider: payment-chaos is "on" for
// CohortPerMille of subjects while chaos is on, "off" otherwise.
func (s *System) flags() chaoshttp.FlagEvaluator {
	return chaoshttp.FlagFunc{Name: "demo-flags", Eval: func(_ context.Context, key, subject string) (string, error) {
		if key != FlagKey {
			return "", fmt.Errorf("unknown flag %q", key)
		}
		if s.chaos.Load() && chaoshttp.HashPerMille(FlagKey, subject) < s.cfg.CohortPerMille {
			return "on", nil
		}
		return "off", nil
	}}
}

// SetChaos switches the payment-chaos flag on or off.
func (s *System) SetChaos(on bool) {
	s.chaos.Store(on)
	s.log.Info("feature flag switched", "flag", FlagKey, "on", on)
}

// Stats returns the counters so far.
func (s *System) Stats() Stats {
	return Stats{
		Pages: s.pages.Load(), PagesFailed: s.pagesFailed.Load(),
		PagesExperiment: s.pagesExp.Load(), PagesExperimentFailed: s.pagesExpFailed.Load(),
		PaymentErrors: s.paymentErrors.Load(),
		Publishes:     s.publishes.Load(), PublishesSynthetic: s.publishesSynth.Load(), PublishesLost: s.publishesLost.Load(),
		Firing: s.alerts.firing(),
	}
}

// Run starts the services, drives traffic until ctx is done, then shuts
// everything down and flushes the exporters.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (Stats, error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, fmt.Errorf("demo config: %w", err)
	}
	s := &System{cfg: cfg, log: log, urls: map[string]string{}, clients: map[string]*http.Client{}, tracers: map[string]trace.Tracer{},
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	s.chaos.Store(cfg.Chaos)
	s.alerts = newAlerter(cfg.AlertWebhook, log)
	err := s.start(ctx)
	if err == nil {
		s.drive(ctx)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.Stats(), errors.Join(err, s.shutdown(shutdownCtx))
}

func (s *System) provider(ctx context.Context, service string) (*sdktrace.TracerProvider, error) {
	exp := s.cfg.Exporter
	if exp == nil {
		var err error
		if exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.cfg.OTLPEndpoint), otlptracegrpc.WithInsecure()); err != nil {
			return nil, fmt.Errorf("otlp exporter for %s: %w", service, err)
		}
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(attribute.String(telemetry.AttrServiceName, service))),
		sdktrace.WithSpanProcessor(chaoshttp.NewBaggageSpanProcessor()),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
	)
	s.providers = append(s.providers, tp)
	s.tracers[service] = tp.Tracer("steadystate-demo/" + service)
	return tp, nil
}

// service starts one service's HTTP server on a free loopback port, with
// otelhttp server spans named after the operation ("GET /checkout") and a
// client for its outgoing calls (wrapped by the given transport).
func (s *System) service(ctx context.Context, name, route string, h http.Handler, wrap func(http.Handler) http.Handler, client http.RoundTripper) error {
	tp, err := s.provider(ctx, name)
	if err != nil {
		return err
	}
	if wrap != nil {
		h = wrap(h)
	}
	mux := http.NewServeMux()
	mux.Handle(route, otelhttp.NewHandler(h, route, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(s.prop),
		otelhttp.WithSpanNameFormatter(func(op string, _ *http.Request) string { return op })))
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for %s: %w", name, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	s.urls[name] = "http://" + ln.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("service stopped", "service", name, "err", err)
		}
	}()
	if client == nil {
		client = http.DefaultTransport
	}
	s.clients[name] = &http.Client{Timeout: 5 * time.Second, Transport: otelhttp.NewTransport(client,
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(s.prop))}
	return nil
}

func (s *System) start(ctx context.Context) error {
	// Order: callees first, so callers know their URLs.
	payment, err := chaoshttp.New(chaoshttp.Config{ExperimentID: ExperimentID, Fault: chaoshttp.Fault{Status: http.StatusInternalServerError}})
	if err != nil {
		return err
	}
	byFlag, err := chaoshttp.ByFlag(s.flags(), FlagKey, "on", chaoshttp.HeaderSubject("X-User-ID"))
	if err != nil {
		return err
	}
	checkout, err := chaoshttp.New(chaoshttp.Config{ExperimentID: ExperimentID, Cohort: byFlag})
	if err != nil {
		return err
	}
	byPublish, err := chaoshttp.ByFlag(s.flags(), FlagKey, "on", chaoshttp.HeaderSubject("X-Publish-ID"))
	if err != nil {
		return err
	}
	publisher, err := chaoshttp.New(chaoshttp.Config{ExperimentID: ExperimentID, Cohort: byPublish})
	if err != nil {
		return err
	}
	gateway, err := chaoshttp.New(chaoshttp.Config{ExperimentID: ExperimentID,
		Fault: chaoshttp.Fault{Error: "upstream connect error (gateway)", Latency: 20 * time.Millisecond}})
	if err != nil {
		return err
	}
	steps := []struct {
		name, route string
		h           http.Handler
		wrap        func(http.Handler) http.Handler
		client      http.RoundTripper
	}{
		{"payment", "POST /payment/authorize", http.HandlerFunc(s.handlePayment), payment.Handler, nil},
		{"recommendations", "GET /recommendations", http.HandlerFunc(s.handleRecommendations), nil, nil},
		{"checkout", "GET /checkout", http.HandlerFunc(s.handleCheckout), checkout.Handler, checkout.Transport(nil)},
		{"cdn", "POST /purge", s.stage("cdn", 3, ""), nil, nil},
		{"store", "POST /store", s.stage("store", 2, "cdn"), nil, nil},
		{"transformer", "POST /transform", s.stage("transformer", 1, "store"), nil, gateway.Transport(nil)},
		{"publisher", "POST /publish", s.stage("publisher", 0, "transformer"), publisher.Handler, publisher.Transport(nil)},
	}
	for _, st := range steps {
		if err := s.service(ctx, st.name, st.route, st.h, st.wrap, st.client); err != nil {
			return err
		}
	}
	s.urls["payment"] += "/payment/authorize"
	s.urls["recommendations"] += "/recommendations"
	s.urls["checkout"] += "/checkout"
	s.urls["cdn"] += "/purge"
	s.urls["store"] += "/store"
	s.urls["transformer"] += "/transform"
	s.urls["publisher"] += "/publish"
	// The load generator and the editors' tool are not services: plain
	// clients that only propagate context (synthetic publishes carry
	// chaos.synthetic in baggage).
	s.clients["load"] = &http.Client{Timeout: 5 * time.Second}
	s.clients["editor"] = &http.Client{Timeout: 5 * time.Second, Transport: propagating{s.prop}}
	if s.cfg.Admin != "" {
		return s.startAdmin(ctx)
	}
	return nil
}

func (s *System) startAdmin(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /chaos", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 16))
		switch string(bytes.TrimSpace(b)) {
		case "on":
			s.SetChaos(true)
		case "off":
			s.SetChaos(false)
		default:
			http.Error(w, `body: want "on" or "off"`, http.StatusBadRequest)
			return
		}
		_, _ = fmt.Fprintf(w, "%s=%v\n", FlagKey, s.chaos.Load())
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"chaos": s.chaos.Load(), "stats": s.Stats(), "services": s.urls})
	})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Admin)
	if err != nil {
		return fmt.Errorf("admin listener %s: %w", s.cfg.Admin, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = srv.Serve(ln)
	}()
	return nil
}

// propagating injects the context's trace context and baggage.
type propagating struct{ prop propagation.TextMapPropagator }

func (p propagating) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	p.prop.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	return http.DefaultTransport.RoundTrip(r)
}

func jitter(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rand.Int64N(int64(hi-lo)+1)) //nolint:gosec // simulated latency
}

func (s *System) handlePayment(w http.ResponseWriter, r *http.Request) {
	_, span := s.tracers["payment"].Start(r.Context(), "authorize card")
	time.Sleep(jitter(8*time.Millisecond, 25*time.Millisecond))
	span.End()
	_, _ = io.WriteString(w, `{"authorized":true}`)
}

func (s *System) handleRecommendations(w http.ResponseWriter, _ *http.Request) {
	time.Sleep(jitter(5*time.Millisecond, 20*time.Millisecond))
	_, _ = io.WriteString(w, `{"items":["a","b","c"]}`)
}

// call sends a request from service from to url with r's context.
func (s *System) call(ctx context.Context, from, method, url string, hdr http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := s.clients[from].Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// handleCheckout renders the page: recommendations are optional, payment
// (the hard dependency) is not.
func (s *System) handleCheckout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.pages.Add(1)
	// The user, as OpenTelemetry's enduser.id: ingest stores it as the
	// event's subject, so cohorts can be counted in users too.
	trace.SpanFromContext(ctx).SetAttributes(attribute.String(telemetry.AttrSubjectID, r.Header.Get("X-User-Id")))
	_, exp, _ := chaoshttp.FromBaggage(baggage.FromContext(ctx))
	inExp := exp == telemetry.CohortExperiment
	if inExp {
		s.pagesExp.Add(1)
	}
	s.alerts.page()
	if code, err := s.call(ctx, "checkout", http.MethodGet, s.urls["recommendations"], nil); err != nil || code >= 500 {
		trace.SpanFromContext(ctx).AddEvent("recommendations unavailable, rendering without them")
	}
	code, err := s.call(ctx, "checkout", http.MethodPost, s.urls["payment"], nil)
	if err != nil || code >= 400 {
		s.paymentErrors.Add(1)
		s.alerts.paymentError()
		s.pagesFailed.Add(1)
		s.alerts.pageFailed()
		if inExp {
			s.pagesExpFailed.Add(1)
		}
		span := trace.SpanFromContext(ctx)
		span.SetAttributes(attribute.String(telemetry.AttrErrorType, "PaymentUnavailable"))
		span.SetStatus(codes.Error, "payment failed")
		http.Error(w, "internal error rendering checkout", http.StatusInternalServerError)
		return
	}
	time.Sleep(jitter(10*time.Millisecond, 40*time.Millisecond)) // render
	_, _ = io.WriteString(w, "<html>checkout</html>")
}

// stage returns the handler of publish stage i: it records the stage span
// with the publish id and hands the item to the next service.
func (s *System) stage(service string, i int, next string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Publish-ID")
		if id == "" {
			http.Error(w, "X-Publish-ID: required", http.StatusBadRequest)
			return
		}
		ctx, span := s.tracers[service].Start(r.Context(), PublishStages[i],
			trace.WithAttributes(attribute.String(FlowKeyAttr, id)))
		time.Sleep(jitter(2*time.Millisecond, 15*time.Millisecond))
		span.End()
		if next == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		code, err := s.call(ctx, service, http.MethodPost, s.urls[next], http.Header{"X-Publish-Id": {id}})
		if err != nil || code >= 400 {
			// No retry and no dead letter: the item is lost here, and only
			// the flow monitor can tell.
			s.publishesLost.Add(1)
			trace.SpanFromContext(ctx).SetStatus(codes.Error, fmt.Sprintf("handing %s to %s failed", id, next))
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// drive generates traffic until ctx is done.
func (s *System) drive(ctx context.Context) {
	var wg sync.WaitGroup
	loop := func(every time.Duration, f func(i int64)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					i := s.seq.Add(1)
					wg.Add(1)
					go func() { defer wg.Done(); f(i) }()
				}
			}
		}()
	}
	loop(time.Duration(float64(time.Second)/s.cfg.CheckoutRate), func(int64) {
		user := fmt.Sprint("user-", rand.IntN(s.cfg.Users)) //nolint:gosec // simulated traffic
		_, _ = s.call(context.WithoutCancel(ctx), "load", http.MethodGet, s.urls["checkout"], http.Header{"X-User-Id": {user}})
	})
	if s.cfg.PublishRate > 0 {
		loop(time.Duration(float64(time.Second)/s.cfg.PublishRate), func(i int64) { s.publish(ctx, fmt.Sprintf("p-%d-%d", time.Now().Unix(), i), false) })
	}
	if s.cfg.SyntheticEvery > 0 {
		loop(s.cfg.SyntheticEvery, func(i int64) { s.publish(ctx, fmt.Sprintf("synthetic-%d-%d", time.Now().Unix(), i), true) })
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.alerts.run(ctx, s.cfg.AlertEvery)
	}()
	<-ctx.Done()
	wg.Wait()
}

// publish sends one item into the pipeline; synthetic items carry
// chaos.synthetic in baggage, so every stage's span is marked.
func (s *System) publish(ctx context.Context, id string, synthetic bool) {
	ctx = context.WithoutCancel(ctx)
	s.publishes.Add(1)
	if synthetic {
		s.publishesSynth.Add(1)
		m, _ := baggage.NewMemberRaw(telemetry.AttrSynthetic, "true")
		b, _ := baggage.New(m)
		ctx = baggage.ContextWithBaggage(ctx, b)
	}
	_, _ = s.call(ctx, "editor", http.MethodPost, s.urls["publisher"], http.Header{"X-Publish-Id": {id}})
}

func (s *System) shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop server: %w", err))
		}
	}
	s.wg.Wait()
	s.alerts.resolveAll(ctx)
	for _, tp := range s.providers {
		if err := tp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush spans: %w", err))
		}
	}
	return errors.Join(errs...)
}
