// Package experiment loads and validates chaos-experiment definitions (the
// YAML files under experiments/), derives the cohort of untagged telemetry
// from their rules, and matches events to the stages of business flows.
//
// A definition file holds an "experiments:" list, a "flows:" list, or both.
// Parsing is strict: unknown fields, wrong types, bad durations, values out
// of range and dangling references are all reported, every one of them, as
// "file:line:col: field.path: message" (see FieldError). The reference for
// every field is experiments/README.md.
//
// The package does no I/O beyond reading the files it is asked to load, and
// Assigner and Flow.MatchStage are safe for concurrent use once built.
package experiment

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Spec is the merged content of one or more definition files.
type Spec struct {
	// Experiments in file order (files in the order they were loaded).
	Experiments []Experiment
	// Flows in file order.
	Flows []Flow
}

// Experiment is one chaos experiment: what is broken, for whom, what should
// happen, and how to tell.
type Experiment struct {
	// ID identifies the experiment (telemetry.ValidateID); telemetry carries
	// it in chaos.experiment.id.
	ID string
	// Title is a one-line summary.
	Title string
	// Hypothesis is what the team believes will happen.
	Hypothesis string
	// Owner is the team or person responsible.
	Owner string
	// Window is when the fault is active; nil means the window is taken from
	// run records.
	Window *Window
	// Cohorts holds the expected split and the rules that derive the cohort
	// of untagged telemetry.
	Cohorts Cohorts
	// SLIs compared between the cohorts.
	SLIs []SLI
	// StopConditions abort the run when an SLI crosses a threshold.
	StopConditions []StopCondition
	// Flows names the flows (Spec.Flows) expected to keep working.
	Flows []string
	// Expectations are predictions recorded before the run.
	Expectations []Expectation
	// ExpectedAlerts are the alerts the team expects to fire.
	ExpectedAlerts []ExpectedAlert
	// Pos is where the experiment is defined; zero when built in code.
	Pos Position

	src *source
}

// Window is a closed-open time interval [Start, End).
type Window struct {
	Start time.Time
	End   time.Time
}

// Cohorts describes how traffic is split between the cohorts.
type Cohorts struct {
	// ExpectedSplit is the share of traffic expected in each cohort; used to
	// detect a broken assignment (sample ratio mismatch).
	ExpectedSplit Split
	// Rules derive the cohort of telemetry that does not carry
	// chaos.experiment.cohort; first match wins. Nil when every service tags
	// its own telemetry.
	Rules []Rule
	// Unit is the randomization unit: "" or UnitSubject for the events'
	// subject (enduser.id, user.id or the flag's feature_flag.context.id,
	// stored as the subject), UnitEvent to treat every event as
	// independent, or the name of any attribute (e.g. tenant.id,
	// session.id).
	Unit string
}

// Randomization units with a meaning of their own (Cohorts.Unit).
const (
	UnitSubject = "subject"
	UnitEvent   = "event"
)

// UnitAttribute returns the attribute that holds the unit ("" for the
// subject) and false when the analysis is per event.
func (c Cohorts) UnitAttribute() (string, bool) {
	switch c.Unit {
	case "", UnitSubject:
		return "", true
	case UnitEvent:
		return "", false
	}
	return c.Unit, true
}

// Split is the expected share of traffic per cohort; the two sum to 1.
type Split struct {
	Experiment float64
	Control    float64
}

// Rule assigns a cohort to telemetry matching all of its conditions. At least
// one of FeatureFlag and Attributes is set.
type Rule struct {
	// Cohort is CohortExperiment or CohortControl.
	Cohort telemetry.Cohort
	// FeatureFlag matches an OpenTelemetry feature-flag evaluation.
	FeatureFlag *FeatureFlagMatch
	// Attributes must all be present with exactly these (string) values.
	Attributes map[string]string
	// Service, if set, must equal the emitting service.name.
	Service string
}

// FeatureFlagMatch matches the OpenTelemetry feature-flag semantic
// conventions: feature_flag.key equals Key and the variant
// (feature_flag.result.variant, else the older feature_flag.variant) equals
// Variant. Provider, if set, must equal feature_flag.provider.name (else the
// older feature_flag.provider_name).
type FeatureFlagMatch struct {
	Key      string
	Variant  string
	Provider string
}

// SLIType is the kind of service level indicator.
type SLIType string

// SLI types.
const (
	// SLIErrorRate is errors / events, a ratio in [0, 1].
	SLIErrorRate SLIType = "error_rate"
	// SLILatency is a quantile of the duration, in seconds.
	SLILatency SLIType = "latency"
	// SLIThroughput is events per second.
	SLIThroughput SLIType = "throughput"
	// SLIGoodEvents is good events / events, a ratio in [0, 1].
	SLIGoodEvents SLIType = "good_events"
)

// IsRatio reports whether values of the type are ratios in [0, 1].
func (t SLIType) IsRatio() bool { return t == SLIErrorRate || t == SLIGoodEvents }

// Valid reports whether t is one of the SLI types.
func (t SLIType) Valid() bool {
	switch t {
	case SLIErrorRate, SLILatency, SLIThroughput, SLIGoodEvents:
		return true
	}
	return false
}

// SLI is one indicator compared between the cohorts.
type SLI struct {
	// Name identifies the SLI within its experiment (telemetry.ValidateID).
	Name string
	// Type says what is measured.
	Type SLIType
	// Filter selects the events the SLI is computed over.
	Filter Filter
	// Quantile, for latency SLIs only, in (0, 1), e.g. 0.95.
	Quantile float64
	// Good defines a good event, for good_events SLIs only.
	Good *GoodCriteria
	// Objective is the SLO objective in (0, 1) for ratio SLIs; 0 means none.
	// For error_rate it bounds the success ratio (1 - error rate).
	Objective float64
	// Tolerance is how far the experiment cohort may drift from control.
	Tolerance Tolerance
}

// Better returns the direction in which the SLI improves: the tolerance's
// direction if set, else lower for error_rate and latency and higher for
// throughput and good_events.
func (s *SLI) Better() Direction {
	if s.Tolerance.Direction != "" {
		return s.Tolerance.Direction
	}
	return defaultDirection(s.Type)
}

func defaultDirection(t SLIType) Direction {
	if t == SLIThroughput || t == SLIGoodEvents {
		return HigherIsBetter
	}
	return LowerIsBetter
}

// Filter selects events; empty fields match everything.
type Filter struct {
	// Service must equal service.name.
	Service string
	// Operation must equal the span name (or event name).
	Operation string
	// Attributes must all be present with exactly these values.
	Attributes map[string]string
}

// Matches reports whether an event with this service, operation and
// attributes passes the filter. attrs may be nil.
func (f *Filter) Matches(service, operation string, attrs Attributes) bool {
	if f.Service != "" && f.Service != service {
		return false
	}
	if f.Operation != "" && f.Operation != operation {
		return false
	}
	return attrsMatch(f.Attributes, attrs)
}

// GoodCriteria defines a good event; every set criterion must hold.
type GoodCriteria struct {
	// Status is telemetry.StatusOK to require that the event is not an
	// error (status OK or unset), or StatusUnset for no condition.
	Status telemetry.Status
	// MaxDuration bounds the duration; 0 means no bound.
	MaxDuration time.Duration
	// HTTPStatus lists accepted HTTP status codes; empty means any.
	HTTPStatus HTTPStatusSet
}

// HTTPStatusSet is a set of HTTP status code ranges, written in YAML as a
// comma-separated list of codes and classes: "2xx", "200", "2xx,304".
type HTTPStatusSet []HTTPStatusRange

// HTTPStatusRange is the inclusive range Min..Max.
type HTTPStatusRange struct {
	Min, Max int
}

// Contains reports whether code is in the set.
func (s HTTPStatusSet) Contains(code int) bool {
	for _, r := range s {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}

// String returns the set in its YAML form.
func (s HTTPStatusSet) String() string {
	out := ""
	for i, r := range s {
		if i > 0 {
			out += ","
		}
		switch {
		case r.Min == r.Max:
			out += fmt.Sprint(r.Min)
		case r.Min%100 == 0 && r.Max == r.Min+99:
			out += fmt.Sprintf("%dxx", r.Min/100)
		default:
			out += fmt.Sprintf("%d-%d", r.Min, r.Max)
		}
	}
	return out
}

// Direction says which way an SLI gets better.
type Direction string

// Directions.
const (
	LowerIsBetter  Direction = "lower_is_better"
	HigherIsBetter Direction = "higher_is_better"
)

// Tolerance is how far the experiment cohort's SLI may be worse than the
// control cohort's before the hypothesis is rejected. With both bounds set,
// a difference fails only when it exceeds both.
type Tolerance struct {
	// Absolute is the allowed difference in the SLI's unit (a ratio for
	// error_rate and good_events, seconds for latency, events per second for
	// throughput); nil means not set.
	Absolute *float64
	// Relative is the allowed difference as a fraction of the control value
	// (0.10 = 10%); nil means not set.
	Relative *float64
	// Direction is the way the SLI gets better; Load fills in the default
	// for the SLI type (see SLI.Better).
	Direction Direction

	absoluteIsDuration bool
}

// Comparison is the side of a threshold that trips a stop condition.
type Comparison string

// Comparisons.
const (
	Above Comparison = "above"
	Below Comparison = "below"
)

// StopCondition aborts the run when an SLI of the experiment cohort crosses
// Threshold and stays there For a while.
type StopCondition struct {
	// SLI names an SLI of the same experiment.
	SLI string
	// Op is Above or Below.
	Op Comparison
	// Threshold in the SLI's unit (seconds for latency).
	Threshold float64
	// For is how long the condition must hold; 0 means at once.
	For time.Duration

	thresholdIsDuration bool
}

// Tripped reports whether value crosses the threshold (strictly).
func (c *StopCondition) Tripped(value float64) bool {
	switch c.Op {
	case Above:
		return value > c.Threshold
	case Below:
		return value < c.Threshold
	}
	return false
}

// Outcome is a predicted result for an SLI or a flow.
type Outcome string

// Outcomes. Unaffected, Degrades and Fails apply to SLIs; Completes and
// Stuck to flows.
const (
	OutcomeUnaffected Outcome = "unaffected"
	OutcomeDegrades   Outcome = "degrades"
	OutcomeFails      Outcome = "fails"
	OutcomeCompletes  Outcome = "completes"
	OutcomeStuck      Outcome = "stuck"
)

// Expectation is one person's prediction, recorded before the run, about
// one SLI or one flow (exactly one of SLI and Flow is set).
type Expectation struct {
	Who     string
	SLI     string
	Flow    string
	Outcome Outcome
	Note    string
}

// ExpectedAlert is an alert the team expects to fire during the run.
type ExpectedAlert struct {
	// Name is the Alertmanager alertname.
	Name string
	// Within is the expected time to fire after the run starts; 0 means any
	// time during the run.
	Within time.Duration
	// Severity is the expected severity label, free-form; "" means any.
	Severity string
}

// Severity is how a flow alert notifies.
type Severity string

// Severities.
const (
	SeverityPage   Severity = "page"
	SeverityTicket Severity = "ticket"
	SeverityInfo   Severity = "info"
)

// Flow is a business flow: every item (keyed by Key) must pass all Stages
// within Within of its first event, or it is stuck.
type Flow struct {
	// Name identifies the flow (telemetry.ValidateID).
	Name string
	// Key is the attribute or JSON field whose value identifies one item.
	Key string
	// Stages in the order items pass them.
	Stages []Stage
	// Within bounds the time from an item's first event to its last stage.
	Within time.Duration
	// Severity of the stuck-item alert; Load fills in SeverityTicket.
	Severity Severity
	// Owner is the team or person responsible.
	Owner string
	// RunbookURL is an absolute http(s) URL, or "".
	RunbookURL string
	// Absence, if set, also alerts when items stop arriving at all.
	Absence *Absence
	// Description is free text.
	Description string
	// Pos is where the flow is defined; zero when built in code.
	Pos Position

	src *source
}

// Stage is one step of a flow.
type Stage struct {
	// Name is the event or span name that marks the stage.
	Name string
	// Service, if set, must equal the emitting service.name.
	Service string
	// Attributes must all be present with exactly these values.
	Attributes map[string]string
	// Deadline bounds the time from the item's first event to this stage;
	// 0 means the flow's Within.
	Deadline time.Duration
}

// Absence alerts when a flow goes quiet.
type Absence struct {
	// Period is how long without a started item (or, with SyntheticOnly,
	// without a completed synthetic item) before alerting.
	Period time.Duration
	// SyntheticOnly watches synthetic (chaos.synthetic) items only.
	SyntheticOnly bool
}

// Experiment returns the experiment with the given id.
func (s *Spec) Experiment(id string) (*Experiment, bool) {
	if s == nil {
		return nil, false
	}
	for i := range s.Experiments {
		if s.Experiments[i].ID == id {
			return &s.Experiments[i], true
		}
	}
	return nil, false
}

// Flow returns the flow with the given name.
func (s *Spec) Flow(name string) (*Flow, bool) {
	if s == nil {
		return nil, false
	}
	for i := range s.Flows {
		if s.Flows[i].Name == name {
			return &s.Flows[i], true
		}
	}
	return nil, false
}

// SLI returns the SLI with the given name.
func (e *Experiment) SLI(name string) (*SLI, bool) {
	for i := range e.SLIs {
		if e.SLIs[i].Name == name {
			return &e.SLIs[i], true
		}
	}
	return nil, false
}

// Position is a place in a definition file.
type Position struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
}

// String returns "file:line:col", dropping unknown parts.
func (p Position) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
}

// FieldError is one problem in a definition. Load and Validate return all
// problems joined with errors.Join; use errors.As to get at one.
type FieldError struct {
	// Pos is where the problem is; zero for specs built in code.
	Pos Position
	// Path is the field, e.g. "experiments[0].slis[1].tolerance.relative";
	// "" for YAML syntax errors.
	Path string
	// Msg says what is wrong.
	Msg string
}

// Error returns "file:line:col: path: message".
func (e *FieldError) Error() string {
	s := ""
	if p := e.Pos.String(); p != "" {
		s = p + ": "
	}
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Msg
}

// ErrNoFlows: the definitions define no flow.
var ErrNoFlows = errors.New("no flows defined")

// UnknownFlowError names a flow the definitions do not define, and the
// ones they do.
type UnknownFlowError struct {
	Name    string
	Defined []string
}

func (e *UnknownFlowError) Error() string {
	return fmt.Sprintf("no such flow %q; defined: %s", e.Name, strings.Join(e.Defined, ", "))
}

// PickFlows returns the flow called name, or every flow when name is "".
// No flows at all is ErrNoFlows; an unknown name an *UnknownFlowError.
func (s *Spec) PickFlows(name string) ([]Flow, error) {
	if s == nil || len(s.Flows) == 0 {
		return nil, ErrNoFlows
	}
	if name == "" {
		return s.Flows, nil
	}
	if fl, ok := s.Flow(name); ok {
		return []Flow{*fl}, nil
	}
	names := make([]string, len(s.Flows))
	for i := range s.Flows {
		names[i] = s.Flows[i].Name
	}
	return nil, &UnknownFlowError{Name: name, Defined: names}
}
