package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// expectedErrors lists every testdata/*.bad.yaml (and directories of files
// loaded with LoadDir) with the exact error it must produce.
var expectedErrors = []struct {
	filename string
	errMsg   string
}{
	{
		filename: "unknown-key.bad.yaml",
		errMsg:   `testdata/unknown-key.bad.yaml:12:5: experiments[0]: unknown field "stop_condition", did you mean "stop_conditions"?`,
	},
	{
		filename: "duplicate-id.bad.yaml",
		errMsg:   `testdata/duplicate-id.bad.yaml:12:9: experiments[1].id: duplicate experiment id "exp-a", first defined at testdata/duplicate-id.bad.yaml:2:9`,
	},
	{
		filename: "duplicate-across-files",
		errMsg: `testdata/duplicate-across-files/b.yaml:3:12: flows[0].name: duplicate flow name "publish", first defined at testdata/duplicate-across-files/a.yaml:10:12
testdata/duplicate-across-files/b.yaml:5:9: experiments[0].id: duplicate experiment id "exp-a", first defined at testdata/duplicate-across-files/a.yaml:2:9`,
	},
	{
		filename: "bad-duration.bad.yaml",
		errMsg: `testdata/bad-duration.bad.yaml:5:13: flows[0].within: invalid duration "2 minutes" (want Go syntax like 90s, 2m, 1h30m)
testdata/bad-duration.bad.yaml:9:13: flows[1].within: invalid duration "1d" (want Go syntax like 90s, 2m, 1h30m)
testdata/bad-duration.bad.yaml:13:13: flows[2].within: want a duration like 90s or 2m, got number 120`,
	},
	{
		filename: "negative-relative-tolerance.bad.yaml",
		errMsg:   `testdata/negative-relative-tolerance.bad.yaml:16:21: experiments[0].slis[1].tolerance.relative: must be >= 0, got -0.1`,
	},
	{
		filename: "split-sum.bad.yaml",
		errMsg:   `testdata/split-sum.bad.yaml:7:23: experiments[0].cohorts.expected_split: experiment + control must sum to 1, got 0.9`,
	},
	{
		filename: "stop-unknown-sli.bad.yaml",
		errMsg:   `testdata/stop-unknown-sli.bad.yaml:15:14: experiments[0].stop_conditions[1].sli: unknown SLI "latency"`,
	},
	{
		filename: "expectation-sli-and-flow.bad.yaml",
		errMsg:   `testdata/expectation-sli-and-flow.bad.yaml:14:9: experiments[0].expectations[0]: give exactly one of sli and flow, got both`,
	},
	{
		filename: "bad-id-quote.bad.yaml",
		errMsg:   `testdata/bad-id-quote.bad.yaml:2:9: experiments[0].id: "exp-'a'" has '\'' at byte 4: allowed are letters, digits and . _ - : (not first)`,
	},
	{
		filename: "bad-id-space.bad.yaml",
		errMsg:   `testdata/bad-id-space.bad.yaml:2:9: experiments[0].id: "exp a" has ' ' at byte 3: allowed are letters, digits and . _ - : (not first)`,
	},
	{
		filename: "flow-no-stages.bad.yaml",
		errMsg: `testdata/flow-no-stages.bad.yaml:2:5: flows[0].stages: needs at least one stage
testdata/flow-no-stages.bad.yaml:7:13: flows[1].stages: needs at least one stage`,
	},
	{
		filename: "duplicate-stage.bad.yaml",
		errMsg:   `testdata/duplicate-stage.bad.yaml:7:15: flows[0].stages[2].name: duplicate stage "content.stored" (also stages[1])`,
	},
	{
		filename: "deadline-exceeds-within.bad.yaml",
		errMsg:   `testdata/deadline-exceeds-within.bad.yaml:6:42: flows[0].stages[1].deadline: 3m exceeds the flow's within (2m)`,
	},
	{
		filename: "runbook-url.bad.yaml",
		errMsg: `testdata/runbook-url.bad.yaml:6:18: flows[0].runbook_url: want an absolute http(s) URL, got "runbooks/publish.md"
testdata/runbook-url.bad.yaml:11:18: flows[1].runbook_url: want an absolute http(s) URL, got "ftp://example.com/x"`,
	},
	{
		filename: "unknown-flow.bad.yaml",
		errMsg:   `testdata/unknown-flow.bad.yaml:12:22: experiments[0].flows[1]: unknown flow "missing"`,
	},
	{
		filename: "empty-rules.bad.yaml",
		errMsg: `testdata/empty-rules.bad.yaml:8:14: experiments[0].cohorts.rules: must not be empty (leave rules out if services tag their own cohort)
testdata/empty-rules.bad.yaml:17:14: experiments[1].cohorts.expected_split: required
testdata/empty-rules.bad.yaml:29:11: experiments[2].cohorts.rules[0]: needs feature_flag or attributes
testdata/empty-rules.bad.yaml:30:11: experiments[2].cohorts.rules[1].cohort: required
testdata/empty-rules.bad.yaml:31:25: experiments[2].cohorts.rules[1].feature_flag.variant: required`,
	},
	{
		filename: "wrong-types.bad.yaml",
		errMsg: `testdata/wrong-types.bad.yaml:3:12: experiments[0].title: want a string, got a list
testdata/wrong-types.bad.yaml:5:12: experiments[0].owner: want a string, got number 42
testdata/wrong-types.bad.yaml:7:36: experiments[0].cohorts.expected_split.experiment: want a number, got "0.1"
testdata/wrong-types.bad.yaml:9:19: experiments[0].cohorts.rules[0].cohort: want experiment or control, got "both"
testdata/wrong-types.bad.yaml:14:37: experiments[0].slis[0].tolerance: duplicate field "absolute" (first at line 14)
testdata/wrong-types.bad.yaml:16:15: experiments[0].slis[1].type: want error_rate, latency, throughput or good_events, got "latncy"
testdata/wrong-types.bad.yaml:18:8: flows: want a list, got a mapping`,
	},
	{
		filename: "missing-required.bad.yaml",
		errMsg: `testdata/missing-required.bad.yaml:2:5: experiments[0].title: required
testdata/missing-required.bad.yaml:2:5: experiments[0].hypothesis: required
testdata/missing-required.bad.yaml:2:5: experiments[0].owner: required
testdata/missing-required.bad.yaml:2:5: experiments[0]: needs at least one of slis and flows
testdata/missing-required.bad.yaml:5:5: experiments[1].id: required
testdata/missing-required.bad.yaml:5:5: experiments[1].title: required
testdata/missing-required.bad.yaml:5:5: experiments[1].hypothesis: required
testdata/missing-required.bad.yaml:5:5: experiments[1].owner: required
testdata/missing-required.bad.yaml:5:5: experiments[1].cohorts.expected_split: required
testdata/missing-required.bad.yaml:6:9: experiments[1].slis[0].name: required
testdata/missing-required.bad.yaml:6:9: experiments[1].slis[0].quantile: required for latency SLIs
testdata/missing-required.bad.yaml:7:20: experiments[1].slis[0].tolerance: needs absolute or relative (or both)
testdata/missing-required.bad.yaml:8:9: experiments[1].slis[1].good: required for good_events SLIs
testdata/missing-required.bad.yaml:10:31: experiments[1].slis[1].tolerance.absolute: must be <= 1 for a good_events SLI, got 2
testdata/missing-required.bad.yaml:13:19: experiments[1].slis[2].quantile: only valid for latency SLIs
testdata/missing-required.bad.yaml:14:20: experiments[1].slis[2].objective: must be in (0, 1), got 1
testdata/missing-required.bad.yaml:15:31: experiments[1].slis[2].tolerance.absolute: a duration is only valid for latency SLIs, this one is error_rate
testdata/missing-required.bad.yaml:17:5: flows[0].name: required
testdata/missing-required.bad.yaml:17:5: flows[0].key: required
testdata/missing-required.bad.yaml:17:5: flows[0].within: required`,
	},
	{
		filename: "syntax.bad.yaml",
		errMsg:   `testdata/syntax.bad.yaml:3: yaml: did not find expected ',' or ']'`,
	},
}

func loadTestdata(name string) (*Spec, error) {
	p := filepath.Join("testdata", name)
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return LoadDir(p)
	}
	return LoadFile(p)
}

func TestLoadBad(t *testing.T) {
	for _, tc := range expectedErrors {
		t.Run(tc.filename, func(t *testing.T) {
			spec, err := loadTestdata(tc.filename)
			require.Error(t, err)
			assert.Nil(t, spec)
			assert.Equal(t, tc.errMsg, err.Error())
		})
	}
}

func TestEveryBadFileHasExpectedErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	covered := map[string]bool{}
	for _, tc := range expectedErrors {
		covered[tc.filename] = true
	}
	for _, f := range files {
		assert.True(t, covered[filepath.Base(f)], "%s has no entry in expectedErrors", f)
	}
}

func TestLoadGood(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			spec, err := LoadFile(f)
			require.NoError(t, err)
			require.NoError(t, spec.Validate())
			for i := range spec.Experiments {
				require.NoError(t, spec.Experiments[i].Validate())
			}
			for i := range spec.Flows {
				require.NoError(t, spec.Flows[i].Validate())
			}
		})
	}
}

func TestErrorsAreFieldErrors(t *testing.T) {
	_, err := LoadFile("testdata/runbook-url.bad.yaml")
	require.Error(t, err)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, Position{File: "testdata/runbook-url.bad.yaml", Line: 6, Column: 18}, fe.Pos)
	assert.Equal(t, "flows[0].runbook_url", fe.Path)
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok)
	assert.Len(t, joined.Unwrap(), 2)
}

func TestLoadMinimalFlow(t *testing.T) {
	spec, err := LoadFile("testdata/minimal-flow.good.yaml")
	require.NoError(t, err)
	require.Len(t, spec.Flows, 1)
	f, ok := spec.Flow("publish")
	require.True(t, ok)
	assert.Equal(t, "publish_id", f.Key)
	assert.Equal(t, 2*time.Minute, f.Within)
	assert.Equal(t, SeverityTicket, f.Severity, "default severity")
	assert.Equal(t, []Stage{
		{Name: "publish.received"}, {Name: "content.transformed"}, {Name: "content.stored"}, {Name: "cache.purged"},
	}, f.Stages)
	assert.Equal(t, Position{File: "testdata/minimal-flow.good.yaml", Line: 2, Column: 5}, f.Pos)
	assert.Nil(t, f.Absence)
	_, ok = spec.Flow("nope")
	assert.False(t, ok)
	assert.Empty(t, spec.Experiments)
}

func TestLoadFull(t *testing.T) {
	spec, err := LoadFile("testdata/full.good.yaml")
	require.NoError(t, err)
	e, ok := spec.Experiment("checkout-payment-500")
	require.True(t, ok)
	_, ok = spec.Experiment("nope")
	assert.False(t, ok)

	assert.Equal(t, "team-checkout", e.Owner)
	require.NotNil(t, e.Window)
	assert.True(t, e.Window.Start.Equal(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)))
	assert.True(t, e.Window.End.Equal(time.Date(2026, 11, 21, 10, 0, 0, 5e8, time.UTC)))
	assert.Equal(t, Split{Experiment: 0.05, Control: 0.95}, e.Cohorts.ExpectedSplit)
	assert.Equal(t, []Rule{
		{Cohort: telemetry.CohortExperiment, FeatureFlag: &FeatureFlagMatch{Key: "payment-chaos", Variant: "on", Provider: "flagd"}},
		{Cohort: telemetry.CohortControl, FeatureFlag: &FeatureFlagMatch{Key: "payment-chaos", Variant: "off"}},
		{Cohort: telemetry.CohortExperiment, Attributes: map[string]string{"tenant": "beta", "http.route": "/checkout", "code": "200"}, Service: "checkout"},
	}, e.Cohorts.Rules)

	require.Len(t, e.SLIs, 4)
	page := Filter{Service: "checkout", Operation: "GET /checkout", Attributes: map[string]string{"k": "v"}}
	errs := e.SLIs[0]
	assert.Equal(t, SLIErrorRate, errs.Type)
	assert.Equal(t, page, errs.Filter)
	assert.InDelta(t, 0.999, errs.Objective, 0)
	require.NotNil(t, errs.Tolerance.Absolute)
	require.NotNil(t, errs.Tolerance.Relative)
	assert.InDelta(t, 0.01, *errs.Tolerance.Absolute, 0)
	assert.InDelta(t, 0.10, *errs.Tolerance.Relative, 0)
	assert.Equal(t, LowerIsBetter, errs.Tolerance.Direction)

	lat, ok := e.SLI("latency_p95")
	require.True(t, ok)
	assert.Equal(t, page, lat.Filter, "anchor *page")
	assert.InDelta(t, 0.95, lat.Quantile, 0)
	assert.InDelta(t, 0.05, *lat.Tolerance.Absolute, 1e-12, "50ms in seconds")
	assert.Nil(t, lat.Tolerance.Relative)

	rps, _ := e.SLI("rps")
	assert.Equal(t, HigherIsBetter, rps.Tolerance.Direction, "default for throughput")
	assert.Equal(t, HigherIsBetter, rps.Better())

	good, _ := e.SLI("good")
	require.NotNil(t, good.Good)
	assert.Equal(t, telemetry.StatusOK, good.Good.Status)
	assert.Equal(t, 300*time.Millisecond, good.Good.MaxDuration)
	assert.Equal(t, HTTPStatusSet{{200, 299}, {304, 304}}, good.Good.HTTPStatus)
	assert.Equal(t, HigherIsBetter, good.Tolerance.Direction)

	assert.Equal(t, []StopCondition{
		{SLI: "checkout_errors", Op: Above, Threshold: 0.2, For: 30 * time.Second},
		{SLI: "latency_p95", Op: Above, Threshold: 2, thresholdIsDuration: true},
		{SLI: "rps", Op: Below, Threshold: 10},
	}, e.StopConditions)
	assert.Equal(t, []string{"publish"}, e.Flows)
	assert.Equal(t, []Expectation{
		{Who: "alice", SLI: "checkout_errors", Outcome: OutcomeDegrades, Note: "page still renders"},
		{Who: "bob", Flow: "publish", Outcome: OutcomeCompletes},
	}, e.Expectations)
	assert.Equal(t, []ExpectedAlert{
		{Name: "CheckoutErrorRateHigh", Within: 5 * time.Minute, Severity: "page"},
		{Name: "PublishStuck"},
	}, e.ExpectedAlerts)

	f, ok := spec.Flow("publish")
	require.True(t, ok)
	assert.Equal(t, "Article publishing", f.Description)
	assert.Equal(t, []Stage{
		{Name: "publish.received"},
		{Name: "content.transformed", Service: "transformer"},
		{Name: "content.stored", Service: "store", Attributes: map[string]string{"store.kind": "primary"}, Deadline: 90 * time.Second},
		{Name: "cache.purged"},
	}, f.Stages)
	assert.Equal(t, SeverityPage, f.Severity)
	assert.Equal(t, "team-content", f.Owner)
	assert.Equal(t, "https://runbooks.example.com/publish", f.RunbookURL)
	assert.Equal(t, &Absence{Period: 10 * time.Minute, SyntheticOnly: true}, f.Absence)
	assert.Equal(t, 2, f.StageIndex("content.stored"))
	assert.Equal(t, -1, f.StageIndex("nope"))
	assert.Equal(t, 90*time.Second, f.StageDeadline(2))
	assert.Equal(t, 2*time.Minute, f.StageDeadline(3))
}

func TestLoadDirSkipsSubdirsAndOtherFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	flow := func(name string) string {
		return "flows:\n  - {name: " + name + ", key: id, stages: [a], within: 1m}\n"
	}
	write("b.yml", flow("b"))
	write("a.yaml", flow("a"))
	write("README.md", "not yaml: [")
	write(".editor.yaml", "broken: [")
	write("examples/c.yaml", flow("a")) // would be a duplicate
	write("sub.yaml/x.yaml", "broken: [")

	spec, err := LoadDir(dir)
	require.NoError(t, err)
	require.Len(t, spec.Flows, 2)
	assert.Equal(t, "a", spec.Flows[0].Name, "sorted by file name")
	assert.Equal(t, "b", spec.Flows[1].Name)

	empty, err := LoadDir(filepath.Join(dir, "sub.yaml"))
	require.Error(t, err, "x.yaml is broken")
	assert.Nil(t, empty)

	spec, err = LoadDir(t.TempDir())
	require.NoError(t, err)
	assert.Empty(t, spec.Experiments)
	assert.Empty(t, spec.Flows)

	_, err = LoadDir(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = LoadFile(filepath.Join(dir, "missing.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestLoadFilesCrossReference(t *testing.T) {
	// An experiment may name a flow defined in another file; Load of the
	// experiment's file alone reports the dangling reference.
	dir := t.TempDir()
	exp := filepath.Join(dir, "exp.yaml")
	flows := filepath.Join(dir, "flows.yaml")
	require.NoError(t, os.WriteFile(exp, []byte(`experiments:
  - id: e
    title: T
    hypothesis: H
    owner: O
    cohorts: {expected_split: {experiment: 0.5, control: 0.5}}
    flows: [publish]
`), 0o644))
	require.NoError(t, os.WriteFile(flows, []byte("flows: [{name: publish, key: id, stages: [a], within: 1m}]\n"), 0o644))

	spec, err := LoadFiles(exp, flows)
	require.NoError(t, err)
	assert.Len(t, spec.Experiments, 1)
	assert.Len(t, spec.Flows, 1)

	_, err = LoadFile(exp)
	require.EqualError(t, err, exp+`:7:13: experiments[0].flows[0]: unknown flow "publish"`)
}

func TestLoadEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, err string
	}{
		{name: "empty", yaml: ""},
		{name: "comments only", yaml: "# nothing yet\n"},
		{name: "null document", yaml: "~\n"},
		{name: "empty lists", yaml: "experiments: []\nflows:\n"},
		{name: "top level list", yaml: "- a\n", err: "f.yaml:1:1: want a mapping, got a list"},
		{name: "unknown top level", yaml: "flow: []\n", err: `f.yaml:1:1: unknown field "flow", did you mean "flows"?`},
		{name: "two documents", yaml: "flows: []\n---\nflows: []\n", err: "f.yaml:2:1: more than one YAML document in a file is not supported"},
		{name: "scanner error line", yaml: "flows:\n  - name: a\n    key: b: c\n", err: "f.yaml:3: yaml: mapping values are not allowed in this context"},
		{name: "parser error line", yaml: "flows:\n  - name: a\n key: b\n", err: "f.yaml:3: yaml: did not find expected key"},
		{name: "merge key", yaml: "flows:\n  - <<: {name: a}\n", err: `f.yaml:2:5: flows[0]: merge keys (<<) are not supported`},
		{
			name: "duplicate top-level key",
			yaml: "flows: []\nflows: []\n",
			err:  `f.yaml:2:1: duplicate field "flows" (first at line 1)`,
		},
		{
			name: "non-finite number",
			yaml: "experiments:\n  - {id: e, title: T, hypothesis: H, owner: O, cohorts: {expected_split: {experiment: .nan, control: 0.5}}, flows: [f]}\nflows: [{name: f, key: k, stages: [a], within: 1m}]\n",
			err:  "f.yaml:2:87: experiments[0].cohorts.expected_split.experiment: must be a finite number, got .nan",
		},
		{
			name: "stage list item types",
			yaml: "flows:\n  - name: f\n    key: k\n    within: 1m\n    stages: [1, [a], {name: ok, colour: red}, \"bad name\"]\n",
			err: `f.yaml:5:14: flows[0].stages[0]: want a string, got number 1
f.yaml:5:17: flows[0].stages[1]: want a mapping, got a list
f.yaml:5:33: flows[0].stages[2]: unknown field "colour"
f.yaml:5:47: flows[0].stages[3].name: "bad name" has ' ' at byte 3: allowed are letters, digits and . _ - : (not first)`,
		},
		{
			name: "matchers and scalars",
			yaml: `experiments:
  - id: e
    title: T
    hypothesis: H
    owner: O
    window: {start: 2026-11-21, end: 10}
    cohorts:
      expected_split: {experiment: 0.5, control: 0.5}
      rules:
        - cohort: experiment
          feature_flag: {key: [x], variant: ~}
          attributes: [a]
        - cohort: control
          attributes: {"": b, c: {d: e}, c: f}
    slis:
      - name: s
        type: latency
        quantile: 0.5
        filter: {attributes: {code: 200}}
        tolerance: {absolute: fast}
        good: {status: error, http_status: 7xx}
`,
			err: `f.yaml:6:21: experiments[0].window.start: want an RFC 3339 time like 2026-11-21T10:00:00Z, got timestamp 2026-11-21
f.yaml:6:38: experiments[0].window.end: want an RFC 3339 time like 2026-11-21T10:00:00Z, got number 10
f.yaml:11:31: experiments[0].cohorts.rules[0].feature_flag.key: want a string, got a list
f.yaml:11:45: experiments[0].cohorts.rules[0].feature_flag.variant: required
f.yaml:12:23: experiments[0].cohorts.rules[0].attributes: want a mapping of names to values, got a list
f.yaml:14:28: experiments[0].cohorts.rules[1].attributes[""]: attribute name must not be empty
f.yaml:14:34: experiments[0].cohorts.rules[1].attributes["c"]: want a string, got a mapping
f.yaml:14:42: experiments[0].cohorts.rules[1].attributes: duplicate name "c" (first at line 14)
f.yaml:20:31: experiments[0].slis[0].tolerance.absolute: want a number (or a duration for latency SLIs), got "fast"
f.yaml:21:24: experiments[0].slis[0].good.status: want "ok", got "error"
f.yaml:21:44: experiments[0].slis[0].good.http_status: invalid HTTP status "7xx" (want codes, classes or ranges like 2xx, 404, 200-299, separated by commas)`,
		},
		{
			name: "stop condition above and below",
			yaml: `experiments:
  - id: e
    title: T
    hypothesis: H
    owner: O
    cohorts: {expected_split: {experiment: 0.5, control: 0.5}}
    slis: [{name: s, type: latency, quantile: 0.9, tolerance: {relative: 0.1}}]
    stop_conditions:
      - {sli: s, above: 1s, below: 0.1}
      - {sli: s, for: -1s}
      - {sli: s, below: -1}
`,
			err: `f.yaml:9:36: experiments[0].stop_conditions[0].below: give only one of above and below
f.yaml:10:9: experiments[0].stop_conditions[1]: needs above or below
f.yaml:10:23: experiments[0].stop_conditions[1].for: must be >= 0, got -1s
f.yaml:11:25: experiments[0].stop_conditions[2].below: must be >= 0, got -1`,
		},
		{
			name: "expectations and alerts",
			yaml: `experiments:
  - id: e
    title: T
    hypothesis: H
    owner: O
    cohorts: {expected_split: {experiment: 0.5, control: 0.5}}
    slis: [{name: s, type: error_rate, tolerance: {relative: 0.1, direction: up}}]
    flows: [f, f]
    expectations:
      - {who: a, sli: s, outcome: stuck}
      - {who: b, flow: f, outcome: fails}
      - {who: c, flow: g, outcome: stuck}
      - {who: d}
      - {sli: x, outcome: unaffected}
    expected_alerts:
      - {name: A, within: -5m}
      - {name: A}
      - {severity: page}
flows: [{name: f, key: k, stages: [a], within: 1m, severity: urgent, absence: {synthetic_only: yes}}]
`,
			err: `f.yaml:7:78: experiments[0].slis[0].tolerance.direction: want lower_is_better or higher_is_better, got "up"
f.yaml:8:16: experiments[0].flows[1]: duplicate flow "f"
f.yaml:10:35: experiments[0].expectations[0].outcome: want unaffected, degrades or fails for an SLI, got "stuck"
f.yaml:11:36: experiments[0].expectations[1].outcome: want completes or stuck for a flow, got "fails"
f.yaml:12:24: experiments[0].expectations[2].flow: flow "g" is not in this experiment's flows
f.yaml:13:9: experiments[0].expectations[3]: give exactly one of sli and flow
f.yaml:14:9: experiments[0].expectations[4].who: required
f.yaml:14:15: experiments[0].expectations[4].sli: unknown SLI "x"
f.yaml:16:27: experiments[0].expected_alerts[0].within: must be >= 0, got -5m
f.yaml:17:16: experiments[0].expected_alerts[1].name: duplicate alert "A"
f.yaml:18:9: experiments[0].expected_alerts[2].name: required
f.yaml:19:62: flows[0].severity: want page, ticket or info, got "urgent"
f.yaml:19:79: flows[0].absence.period: required
f.yaml:19:96: flows[0].absence.synthetic_only: want true or false, got "yes"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := Load([]byte(tc.yaml), "f.yaml")
			if tc.err == "" {
				require.NoError(t, err)
				require.NotNil(t, spec)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.err, err.Error())
		})
	}
}

func TestAliasBomb(t *testing.T) {
	// 300 aliases of an experiment holding 2000 aliases of an expectation
	// expand to millions of nodes; decoding stops at maxNodes.
	var b strings.Builder
	b.WriteString("experiments:\n  - &exp\n    id: e\n    expectations: [&x {who: a, sli: s, outcome: unaffected}")
	b.WriteString(strings.Repeat(", *x", 2000))
	b.WriteString("]\n")
	b.WriteString(strings.Repeat("  - *exp\n", 300))
	_, err := Load([]byte(b.String()), "bomb.yaml")
	require.EqualError(t, err, "bomb.yaml: more than 1048576 YAML nodes (after expanding aliases)")
}

func TestValidateBuiltInCode(t *testing.T) {
	rel := -1.0
	spec := &Spec{
		Experiments: []Experiment{{
			ID: "e", Title: "T", Hypothesis: "H", Owner: "O",
			Window:  &Window{Start: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			Cohorts: Cohorts{ExpectedSplit: Split{Experiment: 0.5, Control: 0.5}},
			SLIs:    []SLI{{Name: "s", Type: SLIErrorRate, Tolerance: Tolerance{Relative: &rel}}},
			Flows:   []string{"f"},
		}},
		Flows: []Flow{
			{Name: "f", Key: "k", Within: time.Minute, Stages: []Stage{{Name: "a"}}},
			{Name: "f", Key: "k k", Within: -time.Second, Stages: []Stage{{Name: "a", Deadline: -time.Second}}, Absence: &Absence{}},
		},
	}
	err := spec.Validate()
	require.Error(t, err)
	assert.Equal(t, `flows[1].key: must not contain whitespace, got "k k"
flows[1].within: must be > 0, got -1s
flows[1].stages[0].deadline: must be > 0, got -1s
flows[1].absence.period: required
flows[1].name: duplicate flow name "f", first defined at flows[0].name
experiments[0].window.end: must be after start (2026-01-01T01:00:00Z), got 2026-01-01T00:00:00Z
experiments[0].slis[0].tolerance.relative: must be >= 0, got -1`, err.Error())

	spec.Flows = spec.Flows[:1]
	spec.Experiments[0].Window = nil
	rel = 0.1
	require.NoError(t, spec.Validate())
	assert.Equal(t, LowerIsBetter, spec.Experiments[0].SLIs[0].Better(), "direction left empty")

	err = (&Flow{}).Validate()
	require.EqualError(t, err, "name: required\nkey: required\nwithin: required\nstages: needs at least one stage")
	err = (&Experiment{ID: "e", Title: "T", Hypothesis: "H", Owner: "O", Cohorts: Cohorts{ExpectedSplit: Split{Experiment: 1, Control: 0}}}).Validate()
	require.EqualError(t, err, "cohorts.expected_split.experiment: must be in (0, 1), got 1\ncohorts.expected_split.control: must be in (0, 1), got 0\nneeds at least one of slis and flows")
}

func TestHTTPStatusSet(t *testing.T) {
	set, err := ParseHTTPStatusSet("2xx, 304,400-403")
	require.NoError(t, err)
	assert.Equal(t, "2xx,304,400-403", set.String())
	for code, want := range map[int]bool{199: false, 200: true, 299: true, 304: true, 305: false, 402: true, 404: false} {
		assert.Equal(t, want, set.Contains(code), code)
	}
	for _, bad := range []string{"", "6xx", "0xx", "abc", "99", "600", "300-200", "2xx,"} {
		_, err := ParseHTTPStatusSet(bad)
		assert.Error(t, err, bad)
	}
}

func TestStopConditionTripped(t *testing.T) {
	above := StopCondition{Op: Above, Threshold: 0.2}
	assert.True(t, above.Tripped(0.21))
	assert.False(t, above.Tripped(0.2))
	below := StopCondition{Op: Below, Threshold: 10}
	assert.True(t, below.Tripped(9))
	assert.False(t, below.Tripped(10))
	assert.False(t, (&StopCondition{}).Tripped(1))
}

func TestFieldErrorFormat(t *testing.T) {
	assert.Equal(t, "a.yaml:1:2: x: m", (&FieldError{Pos: Position{"a.yaml", 1, 2}, Path: "x", Msg: "m"}).Error())
	assert.Equal(t, "a.yaml:1: m", (&FieldError{Pos: Position{"a.yaml", 1, 0}, Msg: "m"}).Error())
	assert.Equal(t, "x: m", (&FieldError{Path: "x", Msg: "m"}).Error())
}

func TestPickFlows(t *testing.T) {
	var none *Spec
	_, err := none.PickFlows("")
	require.ErrorIs(t, err, ErrNoFlows)
	spec := &Spec{Flows: []Flow{{Name: "publish"}, {Name: "checkout"}}}
	all, err := spec.PickFlows("")
	require.NoError(t, err)
	assert.Len(t, all, 2)
	one, err := spec.PickFlows("checkout")
	require.NoError(t, err)
	assert.Equal(t, []Flow{{Name: "checkout"}}, one)
	_, err = spec.PickFlows("nope")
	var unknown *UnknownFlowError
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, []string{"publish", "checkout"}, unknown.Defined)
}

// LoadDefinitions is the commands' --experiments: a missing directory is
// an empty spec, a broken one an error naming the directory.
func TestLoadDefinitions(t *testing.T) {
	spec, err := LoadDefinitions(filepath.Join(t.TempDir(), "missing"))
	require.NoError(t, err)
	assert.Empty(t, spec.Experiments)
	assert.Nil(t, spec.Lookup("anything"))

	spec, err = LoadDefinitions("../../experiments/examples")
	require.NoError(t, err)
	require.NotNil(t, spec.Lookup("checkout-payment-500"))
	assert.Equal(t, "checkout-payment-500", spec.Lookup("checkout-payment-500").ID)
	assert.Nil(t, spec.Lookup("nope"))

	_, err = LoadDefinitions("testdata/duplicate-across-files")
	require.ErrorContains(t, err, "loading definitions from testdata/duplicate-across-files: ")
}
