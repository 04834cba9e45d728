// Package chaoshttp injects faults into HTTP traffic for the experiment
// cohort of a chaos experiment and tags the telemetry of every request in
// the experiment, so that Steadystate can compare the cohorts.
//
// An Injector is built once from a Config (New) and is safe for concurrent
// use. It offers two wrappers:
//
//   - Handler wraps a server's http.Handler: the service that receives the
//     request decides the cohort, or takes it from the caller's baggage;
//   - Transport wraps an http.RoundTripper: outgoing calls carry the cohort
//     to the next service in W3C baggage, and the client can fail the call
//     itself (the dependency "returns 500" without touching it).
//
// # Cohort
//
// For each request the cohort comes from, in order:
//
//  1. W3C baggage: the members chaos.experiment.id and
//     chaos.experiment.cohort, from the request's context (an upstream
//     propagator already extracted them) or its baggage header. Baggage
//     naming this experiment decides; baggage naming another experiment
//     leaves the request alone (a request is in one experiment at a time).
//  2. Config.Cohort, a CohortFunc: ByFlag (a feature-flag evaluation, e.g.
//     through OpenFeature), ByHeader (the caller says), ByHash (a stable
//     share of subjects, in per mille) or any function of the request.
//
// telemetry.CohortNone (no decision) passes the request through untouched.
// A request in either cohort is tagged: the attributes chaos.experiment.id
// and chaos.experiment.cohort are set on the active span
// (trace.SpanFromContext), and the same two baggage members are put in the
// request's context, so that spans started below it (with
// NewBaggageSpanProcessor) and outgoing calls through Transport carry them.
// Ingest reads the attributes: the span's own attributes are step 1 of its
// tagging precedence (see pipeline/tag).
//
// # Faults
//
// A request in the experiment cohort gets Config.Fault with probability
// Config.FaultPerMille / 1000 (0 means every one). Control requests are
// never faulted. A fault is added latency, followed by at most one of:
//
//   - Status: the handler answers this status code without calling the
//     wrapped handler; the transport returns a response with it without
//     calling the server;
//   - Error: the transport returns this error without calling the server;
//     the handler answers Status (default 500) with the error text;
//   - Drop: the handler closes the connection without an answer (the
//     client sees EOF); the transport calls the server, then discards its
//     response and returns an error (the answer was lost on the way back).
//
// A faulted request also gets the attribute chaos.fault (status, error,
// drop or latency) and, for status codes of 500 and above, errors and
// drops, an error status on the active span.
//
// # Other languages
//
// Nothing here is Go-specific: any service is tagged when its spans, log
// records or JSON events carry chaos.experiment.id and
// chaos.experiment.cohort, whether it sets them itself, copies them from
// baggage, or records its feature-flag evaluations
// (feature_flag.key, feature_flag.result.variant) and lets the cohort rules
// of the experiment definition decide at ingest. HashPerMille documents the
// hash so that other implementations can split subjects the same way.
package chaoshttp
