// Package telemetry holds the vocabulary every other stage shares: the
// attribute keys that tag telemetry with an experiment and a cohort, the
// cohort and kind enums, validation of identifiers, and the row shape of the
// events table. It does no I/O.
package telemetry

import (
	"errors"
	"fmt"
)

// Attribute keys Steadystate reads from spans, log records, resources and
// JSON events.
const (
	// AttrExperimentID names the experiment a span, log or event belongs to.
	AttrExperimentID = "chaos.experiment.id"
	// AttrCohort is "experiment" or "control".
	AttrCohort = "chaos.experiment.cohort"
	// AttrSynthetic marks synthetic (test) traffic: "true" or "1".
	AttrSynthetic = "chaos.synthetic"
	// AttrFlow, AttrFlowKey and AttrFlowStage place an event in a business flow.
	AttrFlow      = "flow.name"
	AttrFlowKey   = "flow.key"
	AttrFlowStage = "flow.stage"
	// AttrSubjectID identifies the user or subject a request acts for.
	AttrSubjectID = "enduser.id"

	// OpenTelemetry semantic conventions for feature flags.
	AttrFeatureFlagKey         = "feature_flag.key"
	AttrFeatureFlagVariant     = "feature_flag.result.variant"
	AttrFeatureFlagVariantOld  = "feature_flag.variant"
	AttrFeatureFlagProvider    = "feature_flag.provider.name"
	AttrFeatureFlagProviderOld = "feature_flag.provider_name"
	AttrFeatureFlagValue       = "feature_flag.result.value"
	AttrFeatureFlagContextID   = "feature_flag.context.id"
	// EventFeatureFlagEvaluation is the span event and log event name of a
	// flag evaluation; EventFeatureFlagOld the span event name of older
	// instrumentation (OpenFeature hooks before the evaluation event).
	EventFeatureFlagEvaluation = "feature_flag.evaluation"
	EventFeatureFlagOld        = "feature_flag"
	// AttrFeatureFlagEvaluations holds, as a JSON array of objects, every
	// flag evaluation span event of a span that had more than one.
	AttrFeatureFlagEvaluations = "feature_flag.evaluations"
	// AttrCohortSource is set by ingest to CohortSourceTrace on events
	// whose experiment and cohort were taken from another event of the
	// same trace; events tagged by their own record, resource or the
	// cohort rules do not carry it.
	AttrCohortSource      = "chaos.cohort.source"
	CohortSourceTrace     = "trace"
	AttrServiceName       = "service.name"
	AttrHTTPStatusCode    = "http.response.status_code"
	AttrHTTPStatusCodeOld = "http.status_code"
	AttrErrorType         = "error.type"
	AttrEventName         = "event.name"
)

// Cohort is the side of an experiment an event belongs to.
type Cohort uint8

// Cohorts; the numeric values match the Enum8 in queries/schema.
const (
	CohortNone       Cohort = 0
	CohortControl    Cohort = 1
	CohortExperiment Cohort = 2
)

// String returns the cohort name used in attributes, SQL and JSON.
func (c Cohort) String() string {
	switch c {
	case CohortControl:
		return "control"
	case CohortExperiment:
		return "experiment"
	default:
		return "none"
	}
}

// ParseCohort parses "experiment" or "control" ("" and "none" give CohortNone).
func ParseCohort(s string) (Cohort, error) {
	switch s {
	case "experiment":
		return CohortExperiment, nil
	case "control":
		return CohortControl, nil
	case "", "none":
		return CohortNone, nil
	default:
		return CohortNone, fmt.Errorf("cohort %q: want %q or %q", truncate(s), "experiment", "control")
	}
}

// ParseKind parses a kind's name (span, log, event or alert).
func ParseKind(s string) (Kind, error) {
	for _, c := range []Kind{KindSpan, KindLog, KindEvent, KindAlert} {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("kind %q: want span, log, event or alert", truncate(s))
}

// ParseStatus parses a status's name (unset, ok or error).
func ParseStatus(s string) (Status, error) {
	for _, c := range []Status{StatusUnset, StatusOK, StatusError} {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("status %q: want unset, ok or error", truncate(s))
}

// SimpleEscape is the byte a one-character JSON escape (\" \\ \/ \b \f \n
// \r \t) stands for; false for \u and anything else.
func SimpleEscape(e byte) (byte, bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// Kind is the signal an event row came from.
type Kind uint8

// Kinds; the numeric values match the Enum8 in queries/schema.
const (
	KindSpan  Kind = 1
	KindLog   Kind = 2
	KindEvent Kind = 3
	KindAlert Kind = 4
)

// String returns the kind name used in SQL and JSON.
func (k Kind) String() string {
	switch k {
	case KindSpan:
		return "span"
	case KindLog:
		return "log"
	case KindEvent:
		return "event"
	case KindAlert:
		return "alert"
	default:
		return "unknown"
	}
}

// Status is the outcome of the operation an event describes.
type Status uint8

// Statuses; the numeric values match the Enum8 in queries/schema.
const (
	StatusUnset Status = 0
	StatusOK    Status = 1
	StatusError Status = 2
)

// String returns the status name used in SQL and JSON.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusError:
		return "error"
	default:
		return "unset"
	}
}

// MaxIDLen bounds experiment ids, flow names and similar identifiers.
const MaxIDLen = 128

var errEmptyID = errors.New("must not be empty")

// ValidateID checks an identifier (experiment id, flow name, run id): 1 to
// MaxIDLen characters from [A-Za-z0-9._:-], starting with a letter or digit.
// Identifiers reach SQL only as bound values, but a strict alphabet keeps
// them safe in file names, labels and URLs too.
func ValidateID(s string) error {
	if s == "" {
		return errEmptyID
	}
	if len(s) > MaxIDLen {
		return fmt.Errorf("%q is %d bytes long, at most %d allowed", truncate(s), len(s), MaxIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if alnum || (i > 0 && (c == '.' || c == '_' || c == '-' || c == ':')) {
			continue
		}
		return fmt.Errorf("%q has %q at byte %d: allowed are letters, digits and . _ - : (not first)", truncate(s), rune(c), i)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
