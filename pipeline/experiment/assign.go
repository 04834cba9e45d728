package experiment

import (
	"sort"
	"time"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Attributes is read access to the attributes of a span, log record or
// event. Callers adapt their own maps (pdata.Map, JSON objects) without
// copying; non-string values should be returned in their usual text form.
type Attributes interface {
	// Get returns the value of key and whether it is present.
	Get(key string) (string, bool)
}

// MapAttributes adapts a plain map to Attributes.
type MapAttributes map[string]string

// Get implements Attributes.
func (m MapAttributes) Get(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// attrsMatch reports whether every want[k] == attrs.Get(k).
func attrsMatch(want map[string]string, attrs Attributes) bool {
	if len(want) == 0 {
		return true
	}
	if attrs == nil {
		return false
	}
	for k, v := range want {
		if got, ok := attrs.Get(k); !ok || got != v {
			return false
		}
	}
	return true
}

// Assigner derives the experiment and cohort of telemetry that does not tag
// itself, from the cohort rules of a Spec. Build it once with NewAssigner;
// it is immutable and safe for concurrent use.
type Assigner struct {
	rules []compiledRule
}

type kv struct{ key, value string }

type compiledRule struct {
	experimentID string
	cohort       telemetry.Cohort
	service      string
	hasFlag      bool
	flagKey      string
	flagVariant  string
	flagProvider string
	attrs        []kv
}

// NewAssigner compiles the cohort rules of spec. Experiments are tried in id
// order and the rules of one experiment in file order; the first rule that
// matches wins. Rules that Validate would reject (no cohort, no condition)
// are skipped. The Assigner does not keep spec.
func NewAssigner(spec *Spec) *Assigner {
	a := &Assigner{}
	if spec == nil {
		return a
	}
	exps := make([]*Experiment, 0, len(spec.Experiments))
	for i := range spec.Experiments {
		exps = append(exps, &spec.Experiments[i])
	}
	sort.SliceStable(exps, func(i, j int) bool { return exps[i].ID < exps[j].ID })
	for _, e := range exps {
		for _, r := range e.Cohorts.Rules {
			if r.Cohort != telemetry.CohortExperiment && r.Cohort != telemetry.CohortControl {
				continue
			}
			if r.FeatureFlag == nil && len(r.Attributes) == 0 {
				continue
			}
			c := compiledRule{experimentID: e.ID, cohort: r.Cohort, service: r.Service}
			if ff := r.FeatureFlag; ff != nil {
				c.hasFlag = true
				c.flagKey, c.flagVariant, c.flagProvider = ff.Key, ff.Variant, ff.Provider
			}
			for k, v := range r.Attributes {
				c.attrs = append(c.attrs, kv{k, v})
			}
			sort.Slice(c.attrs, func(i, j int) bool { return c.attrs[i].key < c.attrs[j].key })
			a.rules = append(a.rules, c)
		}
	}
	return a
}

// flagEval is the feature-flag evaluation on one record, read lazily.
type flagEval struct {
	loaded      bool
	key         string
	hasKey      bool
	variant     string
	hasVariant  bool
	provider    string
	hasProvider bool
}

func (f *flagEval) load(attrs Attributes) {
	f.loaded = true
	if attrs == nil {
		return
	}
	f.key, f.hasKey = attrs.Get(telemetry.AttrFeatureFlagKey)
	if !f.hasKey {
		return
	}
	if f.variant, f.hasVariant = attrs.Get(telemetry.AttrFeatureFlagVariant); !f.hasVariant {
		f.variant, f.hasVariant = attrs.Get(telemetry.AttrFeatureFlagVariantOld)
	}
	if !f.hasVariant {
		// Providers without variants: the evaluated value, which the
		// OpenFeature hooks record JSON-encoded ("on" with its quotes).
		if v, ok := attrs.Get(telemetry.AttrFeatureFlagValue); ok {
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			f.variant, f.hasVariant = v, true
		}
	}
	if f.provider, f.hasProvider = attrs.Get(telemetry.AttrFeatureFlagProvider); !f.hasProvider {
		f.provider, f.hasProvider = attrs.Get(telemetry.AttrFeatureFlagProviderOld)
	}
}

// Assign returns the experiment and cohort of a record emitted by service
// with the given attributes, or ok == false when no rule matches. attrs may
// be nil. Assign does not allocate.
//
// A rule matches when all of its conditions hold: Service equals service;
// every attribute is present with the given value; and for a feature flag,
// feature_flag.key equals the key and the variant equals the rule's variant,
// where the variant is feature_flag.result.variant if present, else the
// legacy feature_flag.variant, else the evaluated value
// feature_flag.result.value (a JSON string unquoted) (likewise feature_flag.provider.name before
// feature_flag.provider_name, compared only when the rule names a provider).
func (a *Assigner) Assign(service string, attrs Attributes) (experimentID string, cohort telemetry.Cohort, ok bool) {
	if a == nil {
		return "", telemetry.CohortNone, false
	}
	var ff flagEval
rules:
	for i := range a.rules {
		r := &a.rules[i]
		if r.service != "" && r.service != service {
			continue
		}
		if r.hasFlag {
			if !ff.loaded {
				ff.load(attrs)
			}
			if !ff.hasKey || ff.key != r.flagKey || !ff.hasVariant || ff.variant != r.flagVariant {
				continue
			}
			if r.flagProvider != "" && (!ff.hasProvider || ff.provider != r.flagProvider) {
				continue
			}
		}
		if len(r.attrs) > 0 {
			if attrs == nil {
				continue
			}
			for _, p := range r.attrs {
				if v, ok := attrs.Get(p.key); !ok || v != p.value {
					continue rules
				}
			}
		}
		return r.experimentID, r.cohort, true
	}
	return "", telemetry.CohortNone, false
}

// MatchStage returns the stage of f that an event marks: the stage named
// name whose Service (if set) equals service and whose Attributes (if any)
// are all present in attrs with the same values. attrs may be nil.
func (f *Flow) MatchStage(name, service string, attrs Attributes) (stage string, ok bool) {
	for i := range f.Stages {
		st := &f.Stages[i]
		if st.Name != name {
			continue
		}
		if st.Service != "" && st.Service != service {
			continue
		}
		if !attrsMatch(st.Attributes, attrs) {
			continue
		}
		return st.Name, true
	}
	return "", false
}

// StageIndex returns the index of the named stage in f.Stages, or -1.
func (f *Flow) StageIndex(name string) int {
	for i := range f.Stages {
		if f.Stages[i].Name == name {
			return i
		}
	}
	return -1
}

// StageDeadline returns the deadline of stage i: its own Deadline if set,
// else the flow's Within.
func (f *Flow) StageDeadline(i int) time.Duration {
	if d := f.Stages[i].Deadline; d > 0 {
		return d
	}
	return f.Within
}
