package chaoshttp

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// NewBaggageSpanProcessor returns a span processor for the OpenTelemetry Go
// SDK that copies the chaos.* members of the parent context's baggage onto
// every span as it starts: a service that only receives the cohort in
// baggage (from a caller wrapped with Transport, or any W3C baggage
// propagator) gets it on all its spans, where ingest reads it.
//
// The experiment id and cohort are copied only as a valid pair (ingest
// rejects a span that carries one without the other); chaos.synthetic and
// other chaos.* members are copied as they are. Attributes the code sets
// on the span later win. Register it with
// sdktrace.WithSpanProcessor(chaoshttp.NewBaggageSpanProcessor()), next to
// the exporter's batcher, and install a baggage propagator, e.g.
// propagation.NewCompositeTextMapPropagator(propagation.TraceContext{},
// propagation.Baggage{}).
func NewBaggageSpanProcessor() sdktrace.SpanProcessor { return baggageProcessor{} }

type baggageProcessor struct{}

var _ sdktrace.SpanProcessor = baggageProcessor{}

func (baggageProcessor) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	b := baggage.FromContext(parent)
	if b.Len() == 0 {
		return
	}
	var attrs []attribute.KeyValue
	if id, c, ok := FromBaggage(b); ok {
		attrs = append(attrs, attribute.String(telemetry.AttrExperimentID, id), attribute.String(telemetry.AttrCohort, c.String()))
	}
	for _, m := range b.Members() {
		k := m.Key()
		if !strings.HasPrefix(k, "chaos.") || k == telemetry.AttrExperimentID || k == telemetry.AttrCohort {
			continue
		}
		attrs = append(attrs, attribute.String(k, m.Value()))
	}
	if len(attrs) > 0 {
		s.SetAttributes(attrs...)
	}
}

func (baggageProcessor) OnEnd(sdktrace.ReadOnlySpan)      {}
func (baggageProcessor) Shutdown(context.Context) error   { return nil }
func (baggageProcessor) ForceFlush(context.Context) error { return nil }
