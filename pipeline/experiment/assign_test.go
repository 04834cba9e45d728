package experiment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// The experiments are listed out of id order on purpose: "z-late" comes
// first in the file but "m-early" is tried first.
const assignSpec = `
experiments:
  - id: z-late
    title: Shares the flag with m-early
    hypothesis: never wins for flag shared
    owner: t
    cohorts:
      expected_split: {experiment: 0.5, control: 0.5}
      rules:
        - cohort: control
          feature_flag: {key: shared, variant: "on"}
        - cohort: experiment
          feature_flag: {key: late-only, variant: "on"}
    slis: [{name: s, type: error_rate, tolerance: {absolute: 0.1}}]
  - id: m-early
    title: Flags
    hypothesis: h
    owner: t
    cohorts:
      expected_split: {experiment: 0.05, control: 0.95}
      rules:
        - cohort: experiment
          feature_flag: {key: payment-chaos, variant: "on"}
        - cohort: control
          feature_flag: {key: payment-chaos, variant: "off"}
        - cohort: experiment
          feature_flag: {key: shared, variant: "on"}
        - cohort: experiment
          feature_flag: {key: provided, variant: "on", provider: flagd}
    slis: [{name: s, type: error_rate, tolerance: {absolute: 0.1}}]
  - id: p-attrs
    title: Attributes
    hypothesis: h
    owner: t
    cohorts:
      expected_split: {experiment: 0.1, control: 0.9}
      rules:
        - cohort: experiment
          service: checkout
          attributes: {tenant: beta, "http.route": /checkout}
        - cohort: control
          attributes: {tenant: beta}
        - cohort: experiment
          service: cart
          feature_flag: {key: cart-chaos, variant: "true"}
          attributes: {region: eu}
    slis: [{name: s, type: error_rate, tolerance: {absolute: 0.1}}]
`

type assignment struct {
	id     string
	cohort telemetry.Cohort
	ok     bool
}

func TestAssign(t *testing.T) {
	spec, err := Load([]byte(assignSpec), "assign.yaml")
	require.NoError(t, err)
	a := NewAssigner(spec)

	exp := func(id string) assignment { return assignment{id, telemetry.CohortExperiment, true} }
	ctl := func(id string) assignment { return assignment{id, telemetry.CohortControl, true} }
	none := assignment{"", telemetry.CohortNone, false}

	for _, tc := range []struct {
		name    string
		service string
		attrs   Attributes
		want    assignment
	}{
		{"flag new variant name", "web", MapAttributes{
			"feature_flag.key": "payment-chaos", "feature_flag.result.variant": "on"}, exp("m-early")},
		{"flag new variant name, off", "web", MapAttributes{
			"feature_flag.key": "payment-chaos", "feature_flag.result.variant": "off"}, ctl("m-early")},
		{"flag legacy variant name", "web", MapAttributes{
			"feature_flag.key": "payment-chaos", "feature_flag.variant": "on"}, exp("m-early")},
		{"new variant name wins over legacy", "web", MapAttributes{
			"feature_flag.key": "payment-chaos", "feature_flag.result.variant": "off", "feature_flag.variant": "on"}, ctl("m-early")},
		{"flag unknown variant", "web", MapAttributes{
			"feature_flag.key": "payment-chaos", "feature_flag.result.variant": "maybe"}, none},
		{"flag without variant", "web", MapAttributes{"feature_flag.key": "payment-chaos"}, none},
		{"variant without key", "web", MapAttributes{"feature_flag.result.variant": "on"}, none},
		{"provider ignored when rule has none", "web", MapAttributes{
			"feature_flag.key": "payment-chaos", "feature_flag.result.variant": "on", "feature_flag.provider.name": "other"}, exp("m-early")},
		{"provider new name", "web", MapAttributes{
			"feature_flag.key": "provided", "feature_flag.result.variant": "on", "feature_flag.provider.name": "flagd"}, exp("m-early")},
		{"provider legacy name", "web", MapAttributes{
			"feature_flag.key": "provided", "feature_flag.variant": "on", "feature_flag.provider_name": "flagd"}, exp("m-early")},
		{"provider mismatch", "web", MapAttributes{
			"feature_flag.key": "provided", "feature_flag.result.variant": "on", "feature_flag.provider.name": "launchdarkly"}, none},
		{"provider missing", "web", MapAttributes{
			"feature_flag.key": "provided", "feature_flag.result.variant": "on"}, none},
		{"experiments in id order", "web", MapAttributes{
			"feature_flag.key": "shared", "feature_flag.result.variant": "on"}, exp("m-early")},
		{"later experiment still reachable", "web", MapAttributes{
			"feature_flag.key": "late-only", "feature_flag.result.variant": "on"}, exp("z-late")},
		{"attributes and service", "checkout", MapAttributes{
			"tenant": "beta", "http.route": "/checkout", "other": "x"}, exp("p-attrs")},
		{"rules in file order: first match wins", "checkout", MapAttributes{
			"tenant": "beta", "http.route": "/checkout"}, exp("p-attrs")},
		{"service mismatch falls through to next rule", "search", MapAttributes{
			"tenant": "beta", "http.route": "/checkout"}, ctl("p-attrs")},
		{"one attribute differs", "web", MapAttributes{"tenant": "gamma"}, none},
		{"flag and attributes together", "cart", MapAttributes{
			"feature_flag.key": "cart-chaos", "feature_flag.result.variant": "true", "region": "eu"}, exp("p-attrs")},
		{"flag and attributes: attribute missing", "cart", MapAttributes{
			"feature_flag.key": "cart-chaos", "feature_flag.result.variant": "true"}, none},
		{"flag and attributes: wrong service", "web", MapAttributes{
			"feature_flag.key": "cart-chaos", "feature_flag.result.variant": "true", "region": "eu"}, none},
		{"no attributes at all", "checkout", MapAttributes{}, none},
		{"nil attributes", "checkout", nil, none},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, cohort, ok := a.Assign(tc.service, tc.attrs)
			assert.Equal(t, tc.want, assignment{id, cohort, ok})
		})
	}
}

func TestAssignerEdgeCases(t *testing.T) {
	for _, a := range []*Assigner{nil, NewAssigner(nil), NewAssigner(&Spec{})} {
		id, c, ok := a.Assign("svc", MapAttributes{"feature_flag.key": "x"})
		assert.Equal(t, assignment{"", telemetry.CohortNone, false}, assignment{id, c, ok})
	}
	// Rules Validate would reject are skipped, not matched.
	a := NewAssigner(&Spec{Experiments: []Experiment{{ID: "e", Cohorts: Cohorts{Rules: []Rule{
		{Cohort: telemetry.CohortExperiment},
		{Cohort: telemetry.CohortNone, Attributes: map[string]string{"a": "b"}},
		{Cohort: telemetry.CohortControl, Attributes: map[string]string{"a": "b"}},
	}}}}})
	id, c, ok := a.Assign("svc", MapAttributes{"a": "b"})
	assert.Equal(t, assignment{"e", telemetry.CohortControl, true}, assignment{id, c, ok})
}

func TestAssignDoesNotAllocate(t *testing.T) {
	spec, err := Load([]byte(assignSpec), "assign.yaml")
	require.NoError(t, err)
	a := NewAssigner(spec)
	hit := MapAttributes{"feature_flag.key": "cart-chaos", "feature_flag.result.variant": "true", "region": "eu"}
	miss := MapAttributes{"http.route": "/", "tenant": "alpha"}
	allocs := testing.AllocsPerRun(100, func() {
		a.Assign("cart", hit)
		a.Assign("cart", miss)
	})
	assert.Zero(t, allocs)
}

func BenchmarkAssign(b *testing.B) {
	spec, err := Load([]byte(assignSpec), "assign.yaml")
	require.NoError(b, err)
	a := NewAssigner(spec)
	attrs := MapAttributes{"feature_flag.key": "cart-chaos", "feature_flag.result.variant": "true", "region": "eu",
		"http.route": "/cart", "http.response.status_code": "200"}
	b.ReportAllocs()
	for b.Loop() {
		a.Assign("cart", attrs)
	}
}

func TestMatchStage(t *testing.T) {
	spec, err := LoadFile("testdata/full.good.yaml")
	require.NoError(t, err)
	f, ok := spec.Flow("publish")
	require.True(t, ok)

	for _, tc := range []struct {
		name, event, service string
		attrs                Attributes
		want                 string
	}{
		{"plain stage, any service", "publish.received", "cms", nil, "publish.received"},
		{"service condition met", "content.transformed", "transformer", nil, "content.transformed"},
		{"service condition not met", "content.transformed", "store", nil, ""},
		{"attributes met", "content.stored", "store", MapAttributes{"store.kind": "primary", "x": "y"}, "content.stored"},
		{"attribute differs", "content.stored", "store", MapAttributes{"store.kind": "replica"}, ""},
		{"attribute missing", "content.stored", "store", MapAttributes{}, ""},
		{"nil attributes", "content.stored", "store", nil, ""},
		{"unknown event", "content.deleted", "store", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stage, ok := f.MatchStage(tc.event, tc.service, tc.attrs)
			assert.Equal(t, tc.want, stage)
			assert.Equal(t, tc.want != "", ok)
		})
	}
}

func TestFilterMatches(t *testing.T) {
	f := Filter{Service: "checkout", Operation: "GET /checkout", Attributes: map[string]string{"k": "v"}}
	assert.True(t, f.Matches("checkout", "GET /checkout", MapAttributes{"k": "v"}))
	assert.False(t, f.Matches("cart", "GET /checkout", MapAttributes{"k": "v"}))
	assert.False(t, f.Matches("checkout", "GET /", MapAttributes{"k": "v"}))
	assert.False(t, f.Matches("checkout", "GET /checkout", nil))
	assert.True(t, (&Filter{}).Matches("any", "thing", nil))
}
