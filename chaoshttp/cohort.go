package chaoshttp

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// CohortFunc decides the cohort of a request; telemetry.CohortNone means
// the request is not in the experiment. An error leaves the request
// untagged and unfaulted (fail open) and is recorded on the active span.
type CohortFunc func(r *http.Request) (telemetry.Cohort, error)

// SubjectFunc returns the user or subject a request acts for; "" when
// unknown.
type SubjectFunc func(r *http.Request) string

// HeaderSubject reads the subject from a request header, such as
// X-User-ID.
func HeaderSubject(name string) SubjectFunc {
	return func(r *http.Request) string { return strings.TrimSpace(r.Header.Get(name)) }
}

// ByHeader takes the cohort from a request header whose value is
// "experiment" or "control" (any case). A missing or other value is
// CohortNone: the caller did not put the request in the experiment.
func ByHeader(name string) CohortFunc {
	return func(r *http.Request) (telemetry.Cohort, error) {
		c, err := telemetry.ParseCohort(strings.ToLower(strings.TrimSpace(r.Header.Get(name))))
		if err != nil {
			return telemetry.CohortNone, nil
		}
		return c, nil
	}
}

// HashPerMille places a subject on a scale of 0 to 999, the same on every
// call and in every process: the first 8 bytes, big-endian, of
// SHA-256(salt + "/" + subject), modulo 1000. Use the experiment id as the
// salt so that experiments draw independent cohorts.
func HashPerMille(salt, subject string) int {
	sum := sha256.Sum256([]byte(salt + "/" + subject))
	return int(binary.BigEndian.Uint64(sum[:8]) % 1000)
}

// ByHash puts perMille of 1000 subjects in the experiment cohort and the
// rest in control, by HashPerMille(salt, subject). Requests without a
// subject are CohortNone.
func ByHash(subject SubjectFunc, salt string, perMille int) (CohortFunc, error) {
	if perMille < 0 || perMille > 1000 {
		return nil, fmt.Errorf("hash share %d per mille: want 0 to 1000", perMille)
	}
	if subject == nil {
		return nil, fmt.Errorf("hash cohort: a subject function is required")
	}
	return func(r *http.Request) (telemetry.Cohort, error) {
		s := subject(r)
		if s == "" {
			return telemetry.CohortNone, nil
		}
		if HashPerMille(salt, s) < perMille {
			return telemetry.CohortExperiment, nil
		}
		return telemetry.CohortControl, nil
	}, nil
}

// FlagEvaluator evaluates a feature flag for a subject and returns the
// variant, in the manner of OpenFeature's client.StringValue; provider
// names the flag provider for the feature_flag.provider.name attribute.
type FlagEvaluator interface {
	Evaluate(ctx context.Context, flagKey, subject string) (variant string, err error)
	Provider() string
}

// FlagFunc adapts a function to FlagEvaluator.
type FlagFunc struct {
	Name string
	Eval func(ctx context.Context, flagKey, subject string) (string, error)
}

// Evaluate implements FlagEvaluator.
func (f FlagFunc) Evaluate(ctx context.Context, flagKey, subject string) (string, error) {
	return f.Eval(ctx, flagKey, subject)
}

// Provider implements FlagEvaluator.
func (f FlagFunc) Provider() string { return f.Name }

// ByFlag evaluates flagKey for the request's subject: the variant
// experimentVariant is the experiment cohort, any other variant control.
// The evaluation is recorded on the active span with the OpenTelemetry
// feature-flag attributes (feature_flag.key, feature_flag.result.variant,
// feature_flag.provider.name), which ingest's cohort rules can also match.
// Requests without a subject are CohortNone.
func ByFlag(eval FlagEvaluator, flagKey, experimentVariant string, subject SubjectFunc) (CohortFunc, error) {
	if eval == nil || subject == nil || flagKey == "" || experimentVariant == "" {
		return nil, fmt.Errorf("flag cohort: evaluator, flag key, experiment variant and subject function are required")
	}
	return func(r *http.Request) (telemetry.Cohort, error) {
		s := subject(r)
		if s == "" {
			return telemetry.CohortNone, nil
		}
		variant, err := eval.Evaluate(r.Context(), flagKey, s)
		if err != nil {
			return telemetry.CohortNone, fmt.Errorf("evaluate flag %s: %w", flagKey, err)
		}
		attrs := []attribute.KeyValue{
			attribute.String(telemetry.AttrFeatureFlagKey, flagKey),
			attribute.String(telemetry.AttrFeatureFlagVariant, variant),
		}
		if p := eval.Provider(); p != "" {
			attrs = append(attrs, attribute.String(telemetry.AttrFeatureFlagProvider, p))
		}
		trace.SpanFromContext(r.Context()).SetAttributes(attrs...)
		if variant == experimentVariant {
			return telemetry.CohortExperiment, nil
		}
		return telemetry.CohortControl, nil
	}, nil
}
