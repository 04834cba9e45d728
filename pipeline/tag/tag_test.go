package tag

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

var now = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

const specYAML = `
experiments:
  - id: checkout-payment-500
    title: Payment API returns 500
    hypothesis: checkout degrades gracefully
    owner: team-checkout
    cohorts:
      expected_split: {experiment: 0.05, control: 0.95}
      rules:
        - cohort: experiment
          feature_flag: {key: payment-chaos, variant: "on"}
        - cohort: control
          feature_flag: {key: payment-chaos, variant: "off"}
        - cohort: experiment
          attributes: {tenant: beta}
    slis:
      - name: errors
        type: error_rate
        tolerance: {absolute: 0.01}
flows:
  - name: publish
    key: publish_id
    stages: [publish.received, content.transformed, content.stored, cache.purged]
    within: 2m
`

func loadSpec(tb testing.TB) *experiment.Spec {
	tb.Helper()
	spec, err := experiment.Load([]byte(specYAML), "test.yaml")
	require.NoError(tb, err)
	return spec
}

func newTagger(tb testing.TB, cfg Config) *Tagger {
	tb.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	tg, err := New(cfg, loadSpec(tb))
	require.NoError(tb, err)
	return tg
}

func rejectErr(t *testing.T, err error) *RejectError {
	t.Helper()
	var re *RejectError
	require.ErrorAs(t, err, &re)
	require.Equal(t, len(re.Errors), re.Rejected)
	return re
}

var (
	traceID = pcommon.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	spanID  = pcommon.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}
)

// traces builds one resource with one scope and the given spans; attrs
// fills the resource attributes.
func traces(res map[string]any, spans ...func(ptrace.Span)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if err := rs.Resource().Attributes().FromRaw(res); err != nil {
		panic(err)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test")
	for i, f := range spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(traceID)
		sid := spanID
		sid[7] = byte(i)
		sp.SetSpanID(sid)
		sp.SetName("GET /checkout")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second + 250*time.Millisecond)))
		if f != nil {
			f(sp)
		}
	}
	return td
}

func attrs(kv ...any) func(ptrace.Span) {
	return func(sp ptrace.Span) {
		for i := 0; i < len(kv); i += 2 {
			if err := sp.Attributes().PutEmpty(kv[i].(string)).FromRaw(kv[i+1]); err != nil {
				panic(err)
			}
		}
	}
}

func TestNew(t *testing.T) {
	tg, err := New(Config{}, nil)
	require.NoError(t, err)
	assert.Equal(t, DefaultMaxAttrValueBytes, tg.maxAttr)
	assert.Equal(t, 900*1024, tg.maxEvent)
	assert.NotNil(t, tg.now)

	for _, tc := range []struct {
		name string
		cfg  Config
		spec *experiment.Spec
		want string
	}{
		{"attr too small", Config{MaxAttrValueBytes: 8}, nil, "MaxAttrValueBytes 8"},
		{"attr negative", Config{MaxAttrValueBytes: -1}, nil, "MaxAttrValueBytes -1"},
		{"event too small", Config{MaxEventBytes: 100}, nil, "MaxEventBytes 100"},
		{"bad flow name", Config{}, &experiment.Spec{Flows: []experiment.Flow{{Name: `a"b`, Key: "k"}}}, `flows[0]: name "a\"b"`},
		{"bad experiment id", Config{}, &experiment.Spec{Experiments: []experiment.Experiment{{ID: "x\x00"}}}, `experiments[0]: id "x\x00"`},
		{"duplicate flow", Config{}, &experiment.Spec{Flows: []experiment.Flow{{Name: "f", Key: "k"}, {Name: "f", Key: "k"}}}, `flow "f" defined twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, tc.spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestSpanConversion(t *testing.T) {
	tg := newTagger(t, Config{})
	parent := pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8}
	td := traces(map[string]any{"service.name": "checkout", "host.name": "h1"}, func(sp ptrace.Span) {
		sp.SetParentSpanID(parent)
		sp.Status().SetCode(ptrace.StatusCodeError)
		attrs("http.response.status_code", 502, "enduser.id", "u-17", "error.type", "timeout",
			"list", []any{1, "a"}, "map", map[string]any{"b": 2, "a": true}, "pi", 3.5, "ok", true)(sp)
	})
	events, err := tg.Traces(td)
	require.NoError(t, err)
	require.Len(t, events, 1)
	e := events[0]
	sid := spanID
	sid[7] = 0
	assert.Equal(t, hex.EncodeToString(traceID[:])+hex.EncodeToString(sid[:]), e.ID)
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", e.TraceID)
	assert.Equal(t, "b7ad6b7169203300", e.SpanID)
	assert.Equal(t, "0102030405060708", e.ParentSpanID)
	assert.Equal(t, telemetry.KindSpan, e.Kind)
	assert.Equal(t, "checkout", e.Service)
	assert.Equal(t, "GET /checkout", e.Name)
	assert.Equal(t, now.Add(-time.Second).UnixNano(), e.TimeNs)
	assert.Equal(t, now.UnixNano(), e.IngestNs)
	assert.Equal(t, uint64(250*time.Millisecond), e.DurationNs)
	assert.Equal(t, telemetry.StatusError, e.Status)
	assert.Equal(t, uint16(502), e.HTTPStatus)
	assert.True(t, e.IsError)
	assert.Equal(t, "timeout", e.ErrorType)
	assert.Equal(t, "u-17", e.SubjectID)
	assert.Equal(t, []string{"http.response.status_code", "enduser.id", "error.type", "list", "map", "pi", "ok"}, e.AttrKeys)
	assert.Equal(t, []string{"502", "u-17", "timeout", `[1,"a"]`, `{"a":true,"b":2}`, "3.5", "true"}, e.AttrValues)
	assert.ElementsMatch(t, []string{"service.name", "host.name"}, e.ResKeys)
	assert.Len(t, e.ResValues, 2)
	assert.Empty(t, e.ExperimentID)
	assert.Equal(t, telemetry.CohortNone, e.Cohort)
	assert.False(t, e.Synthetic)
}

func TestSpanFields(t *testing.T) {
	tg := newTagger(t, Config{})
	for _, tc := range []struct {
		name  string
		span  func(ptrace.Span)
		check func(*testing.T, telemetry.Event)
	}{
		{"legacy http status as string, 503 is an error", attrs("http.status_code", "503"), func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Equal(t, uint16(503), e.HTTPStatus)
			assert.True(t, e.IsError)
			assert.Equal(t, telemetry.StatusUnset, e.Status)
		}},
		{"404 is not an error", attrs("http.response.status_code", 404), func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Equal(t, uint16(404), e.HTTPStatus)
			assert.False(t, e.IsError)
		}},
		{"garbage http status ignored", attrs("http.response.status_code", "teapot"), func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Zero(t, e.HTTPStatus)
		}},
		{"status ok", func(sp ptrace.Span) { sp.Status().SetCode(ptrace.StatusCodeOk) }, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Equal(t, telemetry.StatusOK, e.Status)
			assert.False(t, e.IsError)
		}},
		{"exception event gives the error type", func(sp ptrace.Span) {
			ev := sp.Events().AppendEmpty()
			ev.SetName("exception")
			ev.Attributes().PutStr("exception.type", "java.io.IOException")
		}, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Equal(t, "java.io.IOException", e.ErrorType)
		}},
		{"negative duration is zero", func(sp ptrace.Span) {
			sp.SetEndTimestamp(sp.StartTimestamp() - 5)
		}, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Zero(t, e.DurationNs)
		}},
		{"no start time: ingest time", func(sp ptrace.Span) { sp.SetStartTimestamp(0) }, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Equal(t, now.UnixNano(), e.TimeNs)
			assert.Zero(t, e.DurationNs)
		}},
		{"user.id as subject", attrs("user.id", "u9"), func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Equal(t, "u9", e.SubjectID)
		}},
		{"synthetic 1", attrs("chaos.synthetic", "1"), func(t *testing.T, e telemetry.Event) { t.Helper(); assert.True(t, e.Synthetic) }},
		{"synthetic bool", attrs("chaos.synthetic", true), func(t *testing.T, e telemetry.Event) { t.Helper(); assert.True(t, e.Synthetic) }},
		{"synthetic false", attrs("chaos.synthetic", "false"), func(t *testing.T, e telemetry.Event) { t.Helper(); assert.False(t, e.Synthetic) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := tg.Traces(traces(map[string]any{"service.name": "checkout"}, tc.span))
			require.NoError(t, err)
			require.Len(t, events, 1)
			tc.check(t, events[0])
		})
	}
}

func TestTaggingPrecedence(t *testing.T) {
	tg := newTagger(t, Config{})
	flagOn := []any{"feature_flag.key", "payment-chaos", "feature_flag.result.variant", "on"}
	for _, tc := range []struct {
		name   string
		res    map[string]any
		span   []any
		wantID string
		want   telemetry.Cohort
	}{
		{"record tags", nil,
			[]any{"chaos.experiment.id", "exp-record", "chaos.experiment.cohort", "control"}, "exp-record", telemetry.CohortControl},
		{"record beats resource",
			map[string]any{"chaos.experiment.id": "exp-res", "chaos.experiment.cohort": "experiment"},
			[]any{"chaos.experiment.id", "exp-record", "chaos.experiment.cohort", "control"}, "exp-record", telemetry.CohortControl},
		{"resource tags", map[string]any{"chaos.experiment.id": "exp-res", "chaos.experiment.cohort": "experiment"},
			nil, "exp-res", telemetry.CohortExperiment},
		{"resource beats rules", map[string]any{"chaos.experiment.id": "exp-res", "chaos.experiment.cohort": "control"},
			flagOn, "exp-res", telemetry.CohortControl},
		{"record beats rules", nil,
			append([]any{"chaos.experiment.id", "exp-record", "chaos.experiment.cohort", "control"}, flagOn...), "exp-record", telemetry.CohortControl},
		{"id on resource, cohort on span", map[string]any{"chaos.experiment.id": "exp-res"},
			[]any{"chaos.experiment.cohort", "experiment"}, "exp-res", telemetry.CohortExperiment},
		{"feature flag rule: on", nil, flagOn, "checkout-payment-500", telemetry.CohortExperiment},
		{"feature flag rule: off (legacy variant key)", nil,
			[]any{"feature_flag.key", "payment-chaos", "feature_flag.variant", "off"}, "checkout-payment-500", telemetry.CohortControl},
		{"flag on the resource, rules see record over resource",
			map[string]any{"feature_flag.key": "payment-chaos", "feature_flag.result.variant": "off"},
			[]any{"feature_flag.result.variant", "on"}, "checkout-payment-500", telemetry.CohortExperiment},
		{"attribute rule", map[string]any{"tenant": "beta"}, nil, "checkout-payment-500", telemetry.CohortExperiment},
		{"no match", nil, []any{"feature_flag.key", "other", "feature_flag.result.variant", "on"}, "", telemetry.CohortNone},
		{"empty values are absent", nil,
			append([]any{"chaos.experiment.id", "", "chaos.experiment.cohort", ""}, flagOn...), "checkout-payment-500", telemetry.CohortExperiment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := map[string]any{"service.name": "checkout"}
			for k, v := range tc.res {
				res[k] = v
			}
			events, err := tg.Traces(traces(res, attrs(tc.span...)))
			require.NoError(t, err)
			require.Len(t, events, 1)
			assert.Equal(t, tc.wantID, events[0].ExperimentID)
			assert.Equal(t, tc.want, events[0].Cohort)
		})
	}
}

func TestBadTagsRejected(t *testing.T) {
	tg := newTagger(t, Config{})
	long := strings.Repeat("x", 10<<10)
	for _, tc := range []struct {
		name      string
		res       map[string]any
		span      []any
		field     string
		wantInMsg []string
	}{
		{"quote", nil, []any{"chaos.experiment.id", `exp"1`, "chaos.experiment.cohort", "experiment"},
			"chaos.experiment.id", []string{`experiment id "exp\"1"`, `'"' at byte 3`}},
		{"NUL", nil, []any{"chaos.experiment.id", "exp\x00", "chaos.experiment.cohort", "experiment"},
			"chaos.experiment.id", []string{`"exp\x00"`}},
		{"CRLF", nil, []any{"chaos.experiment.id", "exp\r\nX-Injected: 1", "chaos.experiment.cohort", "experiment"},
			"chaos.experiment.id", []string{`"exp\r\nX-Injected: 1"`}},
		{"10 KB", nil, []any{"chaos.experiment.id", long, "chaos.experiment.cohort", "experiment"},
			"chaos.experiment.id", []string{`"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."`, "10240 bytes long"}},
		{"bad cohort", nil, []any{"chaos.experiment.id", "exp", "chaos.experiment.cohort", "treatment"},
			"chaos.experiment.cohort", []string{`cohort "treatment": want "experiment" or "control"`}},
		{"cohort none", nil, []any{"chaos.experiment.id", "exp", "chaos.experiment.cohort", "none"},
			"chaos.experiment.cohort", []string{`cohort "none"`}},
		{"cohort without id", nil, []any{"chaos.experiment.cohort", "control"},
			"chaos.experiment.cohort", []string{"cohort given without an experiment id"}},
		{"id without cohort", nil, []any{"chaos.experiment.id", "exp"},
			"chaos.experiment.id", []string{"experiment id given without a cohort (chaos.experiment.cohort)"}},
		{"bad id on the resource", map[string]any{"chaos.experiment.id": "a'b", "chaos.experiment.cohort": "control"}, nil,
			"chaos.experiment.id", []string{"on the resource: experiment id \"a'b\""}},
		{"flow stage without name", nil, []any{"flow.stage", "s1", "flow.key", "k"},
			"flow.stage", []string{"flow stage given without a flow name (flow.name)"}},
		{"bad flow name", nil, []any{"flow.name", "a b", "flow.key", "k", "flow.stage", "s"},
			"flow.name", []string{`flow name "a b"`}},
		{"flow without key", nil, []any{"flow.name", "other", "flow.stage", "s"},
			"flow.name", []string{`flow "other": no key given`}},
		{"flow key too long", nil, []any{"flow.name", "other", "flow.stage", "s", "flow.key", strings.Repeat("k", 300)},
			"flow.key", []string{"flow key", "300 bytes long, at most 256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := map[string]any{"service.name": "checkout"}
			for k, v := range tc.res {
				res[k] = v
			}
			good := attrs("chaos.experiment.id", "good", "chaos.experiment.cohort", "control")
			if tc.res != nil {
				good = nil
			}
			td := traces(res, good, attrs(tc.span...), nil)
			events, err := tg.Traces(td)
			re := rejectErr(t, err)
			if tc.res != nil {
				// A bad resource tag rejects every span of the resource.
				require.Empty(t, events)
				require.Equal(t, 3, re.Rejected)
			} else {
				require.Len(t, events, 2, "the good spans are kept")
				require.Equal(t, 1, re.Rejected)
				assert.Equal(t, "good", events[0].ExperimentID)
			}
			rec := re.Errors[0]
			if tc.res == nil {
				rec = re.Errors[0]
				assert.Equal(t, 2, rec.Index)
				assert.Equal(t, "resource_spans[0].scope_spans[0].spans[1]", rec.Path)
			}
			assert.Equal(t, tc.field, rec.Field)
			for _, w := range tc.wantInMsg {
				assert.Contains(t, rec.Msg, w)
			}
			assert.Contains(t, err.Error(), rec.Path+`: field "`+tc.field+`": `)
			assert.Less(t, len(err.Error()), 2000, "bad values are truncated in messages")
			var one *RecordError
			require.ErrorAs(t, err, &one)
			assert.Equal(t, rec.Msg, one.Msg)
		})
	}
}

func TestEmptyTraceIDRejected(t *testing.T) {
	tg := newTagger(t, Config{})
	td := traces(nil, func(sp ptrace.Span) { sp.SetTraceID(pcommon.TraceID{}) })
	events, err := tg.Traces(td)
	assert.Empty(t, events)
	re := rejectErr(t, err)
	assert.Equal(t, "trace_id", re.Errors[0].Field)
}

func TestSpanIDsDeterministic(t *testing.T) {
	tg := newTagger(t, Config{})
	build := func() ptrace.Traces {
		return traces(map[string]any{"service.name": "a"}, attrs("k", "v"), attrs("k", "v"))
	}
	e1, err := tg.Traces(build())
	require.NoError(t, err)
	e2, err := tg.Traces(build())
	require.NoError(t, err)
	require.Len(t, e1, 2)
	assert.Equal(t, e1[0].ID, e2[0].ID)
	assert.Equal(t, e1[1].ID, e2[1].ID)
	assert.NotEqual(t, e1[0].ID, e1[1].ID, "different spans, different ids")
	assert.Len(t, e1[0].ID, 48)
	assert.Equal(t, e1[0].TraceID+e1[0].SpanID, e1[0].ID)
}

func TestSpanFlows(t *testing.T) {
	tg := newTagger(t, Config{})
	for _, tc := range []struct {
		name                   string
		res                    map[string]any
		spanName               string
		span                   []any
		flow, flowKey, stage   string
		wantErrField, wantErrM string
	}{
		{name: "spec stage and key attribute", spanName: "content.stored", span: []any{"publish_id", "p-42"},
			flow: "publish", flowKey: "p-42", stage: "content.stored"},
		{name: "key attribute on the resource", res: map[string]any{"publish_id": "p-7"}, spanName: "cache.purged",
			flow: "publish", flowKey: "p-7", stage: "cache.purged"},
		{name: "int key attribute", spanName: "publish.received", span: []any{"publish_id", 42},
			flow: "publish", flowKey: "42", stage: "publish.received"},
		{name: "stage but no key: no flow", spanName: "content.stored"},
		{name: "key but no stage: no flow", spanName: "GET /", span: []any{"publish_id", "p-1"}},
		{name: "explicit attributes win", spanName: "content.stored",
			span: []any{"publish_id", "p-1", "flow.name", "orders", "flow.key", "o-1", "flow.stage", "paid"},
			flow: "orders", flowKey: "o-1", stage: "paid"},
		{name: "explicit name, stage and key from the definition", spanName: "content.stored",
			span: []any{"publish_id", "p-1", "flow.name", "publish"}, flow: "publish", flowKey: "p-1", stage: "content.stored"},
		{name: "explicit key replaces the key attribute", spanName: "content.stored",
			span: []any{"publish_id", "p-1", "flow.key", "other"}, flow: "publish", flowKey: "other", stage: "content.stored"},
		{name: "explicit key, nothing matches", spanName: "GET /", span: []any{"flow.key", "k"},
			wantErrField: "flow.key", wantErrM: "flow key given without a flow name"},
		{name: "key too long", spanName: "content.stored", span: []any{"publish_id", strings.Repeat("p", 257)},
			wantErrField: "publish_id", wantErrM: "257 bytes long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := map[string]any{"service.name": "store"}
			for k, v := range tc.res {
				res[k] = v
			}
			events, err := tg.Traces(traces(res, func(sp ptrace.Span) {
				sp.SetName(tc.spanName)
				attrs(tc.span...)(sp)
			}))
			if tc.wantErrField != "" {
				re := rejectErr(t, err)
				assert.Equal(t, tc.wantErrField, re.Errors[0].Field)
				assert.Contains(t, re.Errors[0].Msg, tc.wantErrM)
				return
			}
			require.NoError(t, err)
			require.Len(t, events, 1)
			e := events[0]
			assert.Equal(t, []string{tc.flow, tc.flowKey, tc.stage}, []string{e.Flow, e.FlowKey, e.Stage})
		})
	}
}

func TestAttributeTruncation(t *testing.T) {
	tg := newTagger(t, Config{MaxAttrValueBytes: 64})
	long := strings.Repeat("é", 100) // 200 bytes
	events, err := tg.Traces(traces(map[string]any{"service.name": "s", "big": long},
		attrs("big", long, "small", "v", "publish_id", strings.Repeat("p", 100)),
		attrs("chaos.experiment.id", strings.Repeat("e", 100), "chaos.experiment.cohort", "control")))
	require.NoError(t, err)
	require.Len(t, events, 2)
	v, _ := events[0].Attr("big")
	assert.LessOrEqual(t, len(v), 64)
	assert.True(t, strings.HasSuffix(v, TruncationMarker))
	assert.True(t, strings.HasPrefix(v, "éé"))
	assert.NotContains(t, v, "\uFFFD")
	assert.Equal(t, strings.Repeat("é", (64-len(TruncationMarker))/2)+TruncationMarker, v, "cut at a rune boundary")
	small, _ := events[0].Attr("small")
	assert.Equal(t, "v", small)
	i := slices.Index(events[0].ResKeys, "big")
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, v, events[0].ResValues[i])
	assert.Equal(t, strings.Repeat("e", 100), events[1].ExperimentID, "tagging sees the full value")
}

func TestOversizeEventRejected(t *testing.T) {
	tg := newTagger(t, Config{MaxEventBytes: 4096})
	var kv []any
	for i := 0; i < 100; i++ {
		kv = append(kv, fmt.Sprintf("attr.%03d", i), strings.Repeat("v", 30))
	}
	events, err := tg.Traces(traces(map[string]any{"service.name": "s"}, attrs("a", "b"), attrs(kv...)))
	require.Len(t, events, 1)
	re := rejectErr(t, err)
	assert.Equal(t, 2, re.Errors[0].Index)
	assert.Contains(t, re.Errors[0].Msg, "in its wire form, at most 4096 allowed")
	assert.LessOrEqual(t, len(events[0].AppendJSON(nil)), 4096)

	// The default limit: a 1 MB log body.
	tg = newTagger(t, Config{})
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr(strings.Repeat("x", 1<<20))
	events, err = tg.Logs(ld)
	assert.Empty(t, events)
	re = rejectErr(t, err)
	assert.Equal(t, "resource_logs[0].scope_logs[0].log_records[0]", re.Errors[0].Path)
	assert.Contains(t, re.Errors[0].Msg, fmt.Sprintf("at most %d allowed", 900<<10))
}

func TestConcurrentUse(t *testing.T) {
	tg := newTagger(t, Config{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				events, err := tg.Traces(traces(map[string]any{"service.name": "s"},
					attrs("feature_flag.key", "payment-chaos", "feature_flag.result.variant", "on")))
				if !assert.NoError(t, err) || !assert.Len(t, events, 1) {
					return
				}
				assert.Equal(t, telemetry.CohortExperiment, events[0].Cohort)
				jev, err := tg.JSONEvents([]byte(`{"service":"s","name":"n","i":` + fmt.Sprint(i) + `}`))
				assert.NoError(t, err)
				assert.Len(t, jev, 1)
			}
		}()
	}
	wg.Wait()
}

func TestRejectErrorMessage(t *testing.T) {
	re := &RejectError{}
	for i := 1; i <= 25; i++ {
		re.Errors = append(re.Errors, RecordError{Index: i, Path: fmt.Sprintf("line %d", i), Field: "f", Msg: "bad"})
	}
	re.Rejected = len(re.Errors)
	msg := re.Error()
	assert.True(t, strings.HasPrefix(msg, `tag: 25 records rejected: line 1: field "f": bad; line 2:`), msg)
	assert.Contains(t, msg, "line 20: ")
	assert.NotContains(t, msg, "line 21: ")
	assert.True(t, strings.HasSuffix(msg, "; and 5 more"), msg)
	assert.Equal(t, "record 4: oops", (&RecordError{Index: 4, Msg: "oops"}).Error())
	var target *RecordError
	require.ErrorAs(t, re, &target)
	assert.Equal(t, 1, target.Index)
}

// benchTraces is n spans of a typical size under one resource.
func benchTraces(n int) ptrace.Traces {
	fs := make([]func(ptrace.Span), n)
	for i := range fs {
		fs[i] = attrs("http.request.method", "GET", "http.route", "/checkout/{id}", "http.response.status_code", 200,
			"enduser.id", fmt.Sprintf("user-%d", i), "feature_flag.key", "payment-chaos",
			"feature_flag.result.variant", "on", "server.address", "checkout.internal")
	}
	return traces(map[string]any{"service.name": "checkout", "service.version": "1.4.2", "host.name": "node-7",
		"k8s.pod.name": "checkout-6d9f7c-abcde", "deployment.environment": "prod"}, fs...)
}
