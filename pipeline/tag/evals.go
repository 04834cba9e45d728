package tag

import (
	"encoding/json"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Flag evaluations recorded as span events (the OpenFeature OpenTelemetry
// hooks: "feature_flag.evaluation", older ones "feature_flag"). They are
// read only when a span has such events, so spans without them cost one
// loop over their (usually zero) events.

// isEvalEvent reports whether a span event records a flag evaluation.
func isEvalEvent(name string) bool {
	return name == telemetry.EventFeatureFlagEvaluation || name == telemetry.EventFeatureFlagOld
}

func (s *state) resetEvals() {
	clear(s.evals)
	s.evals = s.evals[:0]
	s.decider = -1
}

// readEvals collects the attributes of the span's flag evaluation events.
func (s *state) readEvals(evs ptrace.SpanEventSlice) {
	s.resetEvals()
	for i := 0; i < evs.Len(); i++ {
		ev := evs.At(i)
		if !isEvalEvent(ev.Name()) {
			continue
		}
		keys, vals := s.flattenRec(ev.Attributes(), nil)
		if len(keys) == 0 {
			continue
		}
		s.evals = append(s.evals, attrList{keys: keys, vals: vals})
	}
}

// evalLayer is one evaluation event's attributes over the record's and
// resource's: what a cohort rule is matched against for that evaluation.
type evalLayer struct {
	ev   *attrList
	base experiment.Attributes
}

// Get implements experiment.Attributes.
func (l *evalLayer) Get(key string) (string, bool) {
	if v, ok := l.ev.get(key); ok {
		return v, true
	}
	return l.base.Get(key)
}

// assignFromEvals tries the cohort rules on each flag evaluation event of
// the span, in order; the first that matches decides.
func (s *state) assignFromEvals(e *telemetry.Event, base experiment.Attributes) {
	for i := range s.evals {
		l := evalLayer{ev: &s.evals[i], base: base}
		if x, c, ok := s.t.assigner.Assign(e.Service, &l); ok {
			e.ExperimentID, e.Cohort = x, c
			s.decider = i
			return
		}
	}
}

// evalSubject is the targeting key (feature_flag.context.id) of the
// record, else of the deciding evaluation event, else of the first one
// that has it.
func (s *state) evalSubject() string {
	if v, ok := s.lay.Get(telemetry.AttrFeatureFlagContextID); ok && v != "" {
		return v
	}
	if s.decider >= 0 {
		if v, ok := s.evals[s.decider].get(telemetry.AttrFeatureFlagContextID); ok && v != "" {
			return v
		}
	}
	for i := range s.evals {
		if v, ok := s.evals[i].get(telemetry.AttrFeatureFlagContextID); ok && v != "" {
			return v
		}
	}
	return ""
}

// keepEvals stores the evaluation events on the span's attributes, so they
// can be queried: the deciding evaluation's (else the first one's)
// attributes are added where the span has no attribute of that name, and
// a span with more than one evaluation event also gets all of them as a
// JSON array of objects in feature_flag.evaluations.
func (s *state) keepEvals() {
	pick := s.decider
	if pick < 0 {
		pick = 0
	}
	ev := &s.evals[pick]
	keys, vals := s.rec.keys, s.rec.vals
	for i, k := range ev.keys {
		if _, ok := s.rec.get(k); !ok {
			keys = append(keys, k)
			vals = append(vals, ev.vals[i])
		}
	}
	if len(s.evals) > 1 {
		all := make([]map[string]string, len(s.evals))
		for i := range s.evals {
			m := make(map[string]string, len(s.evals[i].keys))
			for j, k := range s.evals[i].keys {
				m[k] = s.evals[i].vals[j]
			}
			all[i] = m
		}
		if b, err := json.Marshal(all); err == nil {
			if _, ok := s.rec.get(telemetry.AttrFeatureFlagEvaluations); !ok {
				keys = append(keys, telemetry.AttrFeatureFlagEvaluations)
				vals = append(vals, string(b))
			}
		}
	}
	s.rec = attrList{keys: keys, vals: vals}
}
