package chaoshttp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// AttrFault names the fault injected into a request: "status", "error",
// "drop" or "latency".
const AttrFault = "chaos.fault"

// Fault is what a faulted request gets. The zero Fault tags requests and
// injects nothing.
type Fault struct {
	// Latency is added before the request is handled or sent. Default: none.
	Latency time.Duration
	// Status is the HTTP status code of the injected answer (100 to 599).
	// Default: none; 500 when Error is set and the handler answers.
	Status int
	// Error is returned by the transport instead of calling the server. The
	// handler answers Status (default 500) with it as the body.
	Error string
	// Drop loses the answer: the handler closes the connection, the
	// transport discards the server's response and returns an error.
	Drop bool
	_    struct{}
}

// kind names the fault for the chaos.fault attribute.
func (f Fault) kind() string {
	switch {
	case f.Drop:
		return "drop"
	case f.Error != "":
		return "error"
	case f.Status != 0:
		return "status"
	case f.Latency > 0:
		return "latency"
	default:
		return ""
	}
}

// Validate checks the fault's fields.
func (f Fault) Validate() error {
	var errs []error
	if f.Latency < 0 {
		errs = append(errs, fmt.Errorf("fault latency %s: must be >= 0", f.Latency))
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		errs = append(errs, fmt.Errorf("fault status %d: want an HTTP status code from 100 to 599", f.Status))
	}
	if f.Drop && (f.Status != 0 || f.Error != "") {
		errs = append(errs, errors.New("fault drop: cannot be combined with status or error (a dropped answer has neither)"))
	}
	return errors.Join(errs...)
}

// Config configures an Injector.
type Config struct {
	// ExperimentID is the experiment the injector serves; required, see
	// telemetry.ValidateID.
	ExperimentID string
	// Cohort decides the cohort of a request whose baggage does not. nil:
	// only baggage decides (a downstream service that trusts its callers).
	Cohort CohortFunc
	// Fault is injected into the experiment cohort's requests.
	Fault Fault
	// FaultPerMille is the share of experiment-cohort requests that get the
	// fault, in per mille (0 to 1000). Default (0): every one.
	FaultPerMille int
	_             struct{}
}

// Validate checks the config without side effects.
func (c Config) Validate() error {
	var errs []error
	if err := telemetry.ValidateID(c.ExperimentID); err != nil {
		errs = append(errs, fmt.Errorf("experiment id: %w", err))
	}
	if err := c.Fault.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.FaultPerMille < 0 || c.FaultPerMille > 1000 {
		errs = append(errs, fmt.Errorf("fault per mille %d: want 0 to 1000", c.FaultPerMille))
	}
	return errors.Join(errs...)
}

// Injector tags requests of one experiment and faults its experiment
// cohort. It is immutable and safe for concurrent use.
type Injector struct {
	cfg      Config
	perMille uint64
	// sample returns a number in [0, 1000); tests replace it.
	sample func() uint64
}

// New builds an Injector from a valid config.
func New(cfg Config) (*Injector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("chaoshttp config: %w", err)
	}
	pm := uint64(cfg.FaultPerMille)
	if pm == 0 {
		pm = 1000
	}
	// Fault sampling needs no cryptographic randomness.
	sample := func() uint64 { return rand.Uint64N(1000) } //nolint:gosec // see above
	return &Injector{cfg: cfg, perMille: pm, sample: sample}, nil
}

// Decision is what the injector decided for one request.
type Decision struct {
	// Cohort is CohortNone when the request is not in the experiment.
	Cohort telemetry.Cohort
	// Fault says whether the request gets the configured fault.
	Fault bool
	// FromBaggage says the cohort came from the caller's baggage.
	FromBaggage bool
}

// decide takes the cohort from baggage, else from the CohortFunc, and draws
// whether an experiment-cohort request is faulted.
func (in *Injector) decide(ctx context.Context, r *http.Request) (Decision, error) {
	var d Decision
	id, c, ok := FromBaggage(baggage.FromContext(ctx))
	if !ok && r != nil {
		if b, err := baggage.Parse(r.Header.Get(headerBaggage)); err == nil {
			id, c, ok = FromBaggage(b)
		}
	}
	switch {
	case ok && id != in.cfg.ExperimentID:
		return d, nil // another experiment's request: leave it alone
	case ok:
		d.Cohort, d.FromBaggage = c, true
	case in.cfg.Cohort != nil && r != nil:
		var err error
		if d.Cohort, err = in.cfg.Cohort(r); err != nil {
			return Decision{}, err
		}
	}
	if d.Cohort == telemetry.CohortExperiment && in.cfg.Fault.kind() != "" {
		d.Fault = in.sample() < in.perMille
	}
	return d, nil
}

// Decide returns what the injector would decide for r (cohort and whether
// it gets the fault), without tagging or faulting anything.
func (in *Injector) Decide(r *http.Request) (Decision, error) {
	return in.decide(r.Context(), r)
}

const headerBaggage = "baggage"

// FromBaggage returns the experiment and cohort that b names, and whether it
// names a valid pair.
func FromBaggage(b baggage.Baggage) (experimentID string, cohort telemetry.Cohort, ok bool) {
	id := b.Member(telemetry.AttrExperimentID).Value()
	if id == "" || telemetry.ValidateID(id) != nil {
		return "", telemetry.CohortNone, false
	}
	c, err := telemetry.ParseCohort(b.Member(telemetry.AttrCohort).Value())
	if err != nil || c == telemetry.CohortNone {
		return "", telemetry.CohortNone, false
	}
	return id, c, true
}

// ContextWithCohort returns ctx with the experiment and cohort set as baggage
// members (keeping the other members), and sets them on ctx's active span.
func ContextWithCohort(ctx context.Context, experimentID string, cohort telemetry.Cohort) (context.Context, error) {
	if err := telemetry.ValidateID(experimentID); err != nil {
		return ctx, fmt.Errorf("experiment id: %w", err)
	}
	if cohort == telemetry.CohortNone {
		return ctx, errors.New("cohort: want experiment or control")
	}
	b := baggage.FromContext(ctx)
	for k, v := range map[string]string{telemetry.AttrExperimentID: experimentID, telemetry.AttrCohort: cohort.String()} {
		m, err := baggage.NewMemberRaw(k, v)
		if err != nil {
			return ctx, fmt.Errorf("baggage member %s: %w", k, err)
		}
		if b, err = b.SetMember(m); err != nil {
			return ctx, fmt.Errorf("baggage member %s: %w", k, err)
		}
	}
	trace.SpanFromContext(ctx).SetAttributes(
		attribute.String(telemetry.AttrExperimentID, experimentID),
		attribute.String(telemetry.AttrCohort, cohort.String()),
	)
	return baggage.ContextWithBaggage(ctx, b), nil
}

// tag stamps the decision on the active span and in ctx's baggage.
func (in *Injector) tag(ctx context.Context, d Decision) context.Context {
	if d.Cohort == telemetry.CohortNone {
		return ctx
	}
	out, err := ContextWithCohort(ctx, in.cfg.ExperimentID, d.Cohort)
	if err != nil {
		// Unreachable: the id was validated by New and the cohort is set.
		return ctx
	}
	return out
}

// markFault records an injected fault on the active span.
func (in *Injector) markFault(ctx context.Context, status int) {
	span := trace.SpanFromContext(ctx)
	f := in.cfg.Fault
	span.SetAttributes(attribute.String(AttrFault, f.kind()))
	switch {
	case f.Drop:
		span.SetStatus(codes.Error, "chaoshttp: injected fault: answer dropped")
	case f.Error != "":
		span.SetStatus(codes.Error, "chaoshttp: injected fault: "+f.Error)
	case status >= 500:
		span.SetStatus(codes.Error, fmt.Sprintf("chaoshttp: injected fault: status %d", status))
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("injected latency: %w", ctx.Err())
	}
}

// injectBaggage writes ctx's baggage into h's baggage header, keeping the
// members already there that ctx does not override.
func injectBaggage(ctx context.Context, h http.Header) {
	ctxBag := baggage.FromContext(ctx)
	if ctxBag.Len() == 0 {
		return
	}
	merged, err := baggage.Parse(h.Get(headerBaggage))
	if err != nil {
		merged = baggage.Baggage{}
	}
	for _, m := range ctxBag.Members() {
		if next, err := merged.SetMember(m); err == nil {
			merged = next
		}
	}
	propagation.Baggage{}.Inject(baggage.ContextWithBaggage(ctx, merged), propagation.HeaderCarrier(h))
}
