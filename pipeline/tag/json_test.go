package tag

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

func jsonEvents(t *testing.T, tg *Tagger, body string) []telemetry.Event {
	t.Helper()
	events, err := tg.JSONEvents([]byte(body))
	require.NoError(t, err)
	return events
}

func TestJSONShapes(t *testing.T) {
	tg := newTagger(t, Config{})
	for _, tc := range []struct {
		name  string
		body  string
		names []string
	}{
		{"single object", `{"service":"s","name":"a"}`, []string{"a"}},
		{"single object, multi-line", "{\n  \"service\": \"s\",\n  \"name\": \"a\"\n}\n", []string{"a"}},
		{"array", `[{"service":"s","name":"a"}, {"service":"s","name":"b"}]`, []string{"a", "b"}},
		{"array, multi-line", "[\n {\"service\":\"s\",\n  \"name\":\"a\"},\n {\"service\":\"s\",\"name\":\"b\"}\n]\n", []string{"a", "b"}},
		{"empty array", `[]`, nil},
		{"NDJSON with blank lines and CRLF", "{\"service\":\"s\",\"name\":\"a\"}\r\n\r\n  \n{\"service\":\"s\",\"name\":\"b\"}\r\n{\"service\":\"s\",\"name\":\"c\"}", []string{"a", "b", "c"}},
		{"multi-line objects in a row", "{\n\"service\":\"s\",\"name\":\"a\"}\n{\"service\":\"s\",\n\"name\":\"b\"}", []string{"a", "b"}},
		{"byte order mark", "\xef\xbb\xbf{\"service\":\"s\",\"name\":\"a\"}", []string{"a"}},
		{"empty body", "  \n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := jsonEvents(t, tg, tc.body)
			var names []string
			for _, e := range events {
				names = append(names, e.Name)
				assert.Equal(t, telemetry.KindEvent, e.Kind)
				assert.Equal(t, "s", e.Service)
			}
			assert.Equal(t, tc.names, names)
		})
	}
}

func TestJSONFields(t *testing.T) {
	tg := newTagger(t, Config{})
	events := jsonEvents(t, tg, `{
		"event_id": "evt-1", "time": "2026-11-21T09:59:58.5Z", "service": "checkout", "name": "order.paid",
		"flow": "orders", "flow_key": "o-17", "stage": "paid", "experiment_id": "exp-1", "cohort": "control",
		"synthetic": true, "status": "ERROR", "http_status": 503, "duration_ms": 12.5, "error_type": "timeout",
		"subject_id": 42, "trace_id": "0AF7651916CD43DD8448EB211C80319C", "span_id": "b7ad6b7169203331",
		"severity": "warn", "body": "payment failed",
		"attributes": {"tenant": "beta", "n": 1.50, "ok": false, "nested": {"b": [1, 2], "a": null}, "gone": null},
		"region": "eu", "retries": 3, "tags": ["x", "y"], "meta": {"k": "v"}
	}`)
	require.Len(t, events, 1)
	e := events[0]
	assert.Equal(t, "evt-1", e.ID)
	assert.Equal(t, time.Date(2026, 11, 21, 9, 59, 58, 5e8, time.UTC).UnixNano(), e.TimeNs)
	assert.Equal(t, now.UnixNano(), e.IngestNs)
	assert.Equal(t, "checkout", e.Service)
	assert.Equal(t, "order.paid", e.Name)
	assert.Equal(t, []string{"orders", "o-17", "paid"}, []string{e.Flow, e.FlowKey, e.Stage})
	assert.Equal(t, "exp-1", e.ExperimentID)
	assert.Equal(t, telemetry.CohortControl, e.Cohort)
	assert.True(t, e.Synthetic)
	assert.Equal(t, telemetry.StatusError, e.Status)
	assert.Equal(t, uint16(503), e.HTTPStatus)
	assert.True(t, e.IsError)
	assert.Equal(t, uint64(12_500_000), e.DurationNs)
	assert.Equal(t, "timeout", e.ErrorType)
	assert.Equal(t, "42", e.SubjectID)
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", e.TraceID)
	assert.Equal(t, "b7ad6b7169203331", e.SpanID)
	assert.Equal(t, "warn", e.Severity)
	assert.Equal(t, "payment failed", e.Body)
	assert.Equal(t, []string{"meta", "n", "nested", "ok", "region", "retries", "tags", "tenant"}, e.AttrKeys, "sorted, nulls dropped")
	assert.Equal(t, []string{`{"k":"v"}`, "1.50", `{"b":[1,2],"a":null}`, "false", "eu", "3", `["x","y"]`, "beta"}, e.AttrValues)
	assert.Empty(t, e.ResKeys)
}

func TestJSONHTTPStatusIsError(t *testing.T) {
	tg := newTagger(t, Config{})
	events := jsonEvents(t, tg, "{\"service\":\"s\",\"name\":\"a\",\"http_status\":503}\n{\"service\":\"s\",\"name\":\"b\",\"http_status\":404}\n{\"service\":\"s\",\"name\":\"c\",\"status\":\"ok\"}")
	require.Len(t, events, 3)
	assert.True(t, events[0].IsError)
	assert.False(t, events[1].IsError)
	assert.False(t, events[2].IsError)
	assert.Equal(t, telemetry.StatusOK, events[2].Status)
}

func TestJSONTime(t *testing.T) {
	tg := newTagger(t, Config{})
	sec := int64(1795255198) // 2026-11-21T09:59:58Z
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{`"2026-11-21T09:59:58Z"`, sec * 1e9},
		{`"2026-11-21T10:59:58.123456789+01:00"`, sec*1e9 + 123456789},
		{`1795255198`, sec * 1e9},
		{`1795255198.25`, sec*1e9 + 25e7},
		{`1795255198123`, sec*1e9 + 123e6},
		{`1795255198123.5`, sec*1e9 + 123e6 + 5e5},
		{`1795255198123456`, sec*1e9 + 123456e3},
		{`1795255198123456789`, sec*1e9 + 123456789},
		{`1.795255198e9`, sec * 1e9},
		{`0`, 0},
		{`null`, now.UnixNano()},
	} {
		t.Run(tc.in, func(t *testing.T) {
			events := jsonEvents(t, tg, `{"service":"s","name":"n","time":`+tc.in+`}`)
			require.Len(t, events, 1)
			assert.Equal(t, tc.want, events[0].TimeNs)
		})
	}
	events := jsonEvents(t, tg, `{"service":"s","name":"n"}`)
	assert.Equal(t, now.UnixNano(), events[0].TimeNs, "default: ingest time")
}

func TestJSONRecordErrors(t *testing.T) {
	tg := newTagger(t, Config{})
	for _, tc := range []struct {
		name, fields, field, msg string
	}{
		{"duration string", `"duration_ms":"fast"`, "duration_ms", "want a number, got string"},
		{"duration negative", `"duration_ms":-1`, "duration_ms", "-1: must not be negative"},
		{"service missing", `"service":null`, "service", "required"},
		{"service number", `"service":5`, "service", "want a string, got number"},
		{"name empty", `"name":""`, "name", "required"},
		{"time bool", `"time":true`, "time", "want an RFC 3339 time or a unix number, got boolean"},
		{"time garbage", `"time":"yesterday"`, "time", `want an RFC 3339 time or a unix number, got "yesterday"`},
		{"time negative", `"time":-5`, "time", "-5: must not be negative"},
		{"time overflow", `"time":99999999999999999999999`, "time", "out of range"},
		{"synthetic string", `"synthetic":"yes"`, "synthetic", "want a boolean, got string"},
		{"status", `"status":"fine"`, "status", `want "ok", "error" or "unset", got "fine"`},
		{"http_status string", `"http_status":"503"`, "http_status", "want a number, got string"},
		{"http_status range", `"http_status":700`, "http_status", "want an HTTP status code (100 to 599), got 700"},
		{"http_status fraction", `"http_status":200.5`, "http_status", "want an HTTP status code"},
		{"trace_id", `"trace_id":"xyz"`, "trace_id", `want 32 hex digits, got "xyz"`},
		{"span_id", `"span_id":"0af7651916cd43dd8448eb211c80319c"`, "span_id", "want 16 hex digits"},
		{"attributes array", `"attributes":[1]`, "attributes", "want an object, got array"},
		{"subject bool", `"subject_id":true`, "subject_id", "want a string or a number, got boolean"},
		{"event_id quote", `"event_id":"a\"b"`, "event_id", `"a\"b" has '"' at byte 1`},
		{"event_id NUL", `"event_id":"a\u0000b"`, "event_id", `"a\x00b" has '\x00' at byte 1`},
		{"event_id CRLF", `"event_id":"a\r\nb"`, "event_id", `'\r' at byte 1`},
		{"event_id space", `"event_id":"a b"`, "event_id", "want printable ASCII without spaces, quotes or backslashes"},
		{"event_id long", `"event_id":"` + strings.Repeat("a", 129) + `"`, "event_id", "129 bytes long, at most 128 allowed"},
		{"experiment_id quote", `"experiment_id":"exp\"x","cohort":"control"`, "experiment_id", `experiment id "exp\"x" has '"'`},
		{"experiment_id NUL", `"experiment_id":"exp\u0000","cohort":"control"`, "experiment_id", `"exp\x00"`},
		{"experiment_id CRLF", `"experiment_id":"e\r\n","cohort":"control"`, "experiment_id", `"e\r\n"`},
		{"experiment_id 10 KB", `"experiment_id":"` + strings.Repeat("e", 10<<10) + `","cohort":"control"`, "experiment_id", "10240 bytes long"},
		{"bad cohort", `"experiment_id":"e","cohort":"Experiment"`, "cohort", `cohort "Experiment": want "experiment" or "control"`},
		{"cohort without id", `"cohort":"control"`, "cohort", "cohort given without an experiment id (experiment_id)"},
		{"id without cohort", `"experiment_id":"e"`, "experiment_id", "experiment id given without a cohort (cohort)"},
		{"cohort attribute bad", `"chaos.experiment.id":"e","chaos.experiment.cohort":"x"`, "chaos.experiment.cohort", `cohort "x"`},
		{"bad flow", `"flow":"a/b","flow_key":"k","stage":"s"`, "flow", `flow name "a/b"`},
		{"stage without flow", `"stage":"s"`, "stage", "flow stage given without a flow name (flow)"},
		{"key without match", `"key":"k"`, "key", "flow key given without a flow name (flow)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := `{"service":"s","name":"ok"}`
			bad := `{"service":"s","name":"n",` + tc.fields + `}`
			body := good + "\n\n" + bad + "\n" + good + "\n"
			events, err := tg.JSONEvents([]byte(body))
			require.Len(t, events, 2, "the good lines are kept")
			re := rejectErr(t, err)
			require.Len(t, re.Errors, 1)
			r := re.Errors[0]
			assert.Equal(t, 3, r.Index)
			assert.Equal(t, "line 3", r.Path)
			assert.Equal(t, tc.field, r.Field)
			assert.Contains(t, r.Msg, tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), `tag: 1 record rejected: line 3: field "`+tc.field+`": `), err.Error())
			assert.Less(t, len(err.Error()), 1000)
		})
	}
}

func TestJSONLineErrorFormat(t *testing.T) {
	tg := newTagger(t, Config{})
	body := `{"service":"s","name":"a"}
{"service":"s","name":"b"}
{"service":"s","name":"c","duration_ms":"fast"}
{"service":"s","name":
[1,2]
"just a string"
null
{"service":"s","name":"d"}`
	events, err := tg.JSONEvents([]byte(body))
	require.Len(t, events, 3)
	assert.Equal(t, []string{"a", "b", "d"}, []string{events[0].Name, events[1].Name, events[2].Name})
	re := rejectErr(t, err)
	require.Len(t, re.Errors, 5)
	assert.Equal(t, `line 3: field "duration_ms": want a number, got string`, re.Errors[0].Error())
	assert.Equal(t, "line 4: invalid JSON: unexpected end of JSON input", re.Errors[1].Error())
	assert.Equal(t, "line 5: want a JSON object, got array", re.Errors[2].Error())
	assert.Equal(t, "line 6: want a JSON object, got string", re.Errors[3].Error())
	assert.Equal(t, "line 7: want a JSON object, got null", re.Errors[4].Error())
}

func TestJSONSyntaxErrors(t *testing.T) {
	tg := newTagger(t, Config{})
	t.Run("array", func(t *testing.T) {
		events, err := tg.JSONEvents([]byte(`[{"service":"s","name":"a"}, {"service":"s","name":"b","duration_ms":"x"}, {"service":"s","name":"c"}, {"service": }]`))
		require.Len(t, events, 2)
		re := rejectErr(t, err)
		require.Len(t, re.Errors, 2)
		assert.Equal(t, `record 2: field "duration_ms": want a number, got string`, re.Errors[0].Error())
		assert.Equal(t, 4, re.Errors[1].Index)
		assert.Contains(t, re.Errors[1].Msg, "invalid JSON")
		assert.Contains(t, re.Errors[1].Msg, "the rest of the body was not read")
	})
	t.Run("array element not an object", func(t *testing.T) {
		events, err := tg.JSONEvents([]byte(`[{"service":"s","name":"a"}, 7]`))
		require.Len(t, events, 1)
		assert.Equal(t, "record 2: want a JSON object, got number", rejectErr(t, err).Errors[0].Error())
	})
	t.Run("trailing data after array", func(t *testing.T) {
		events, err := tg.JSONEvents([]byte(`[{"service":"s","name":"a"}] {}`))
		require.Len(t, events, 1)
		assert.Contains(t, rejectErr(t, err).Errors[0].Msg, "after the closing bracket")
	})
	t.Run("multi-line stream", func(t *testing.T) {
		body := "{\n\"service\":\"s\",\n\"name\":\"a\"\n}\n{\n\"service\":\"s\",\n\"name\": nope\n}"
		events, err := tg.JSONEvents([]byte(body))
		require.Len(t, events, 1)
		re := rejectErr(t, err)
		assert.Equal(t, 5, re.Errors[0].Index)
		assert.Contains(t, re.Errors[0].Msg, "(line 7)")
	})
	t.Run("not JSON", func(t *testing.T) {
		events, err := tg.JSONEvents([]byte("hello"))
		assert.Empty(t, events)
		assert.Contains(t, rejectErr(t, err).Errors[0].Error(), "line 1: invalid JSON")
	})
}

func TestJSONIDs(t *testing.T) {
	tg := newTagger(t, Config{})
	id := func(body string) string {
		t.Helper()
		events := jsonEvents(t, tg, body)
		require.Len(t, events, 1)
		return events[0].ID
	}
	want := id(`{"service":"s","name":"n","time":1795255198,"region":"eu","attributes":{"a":1,"b":"x"}}`)
	assert.Regexp(t, "^[0-9a-f]{32}$", want)
	for _, same := range []string{
		`{"service":"s","name":"n","time":1795255198,"region":"eu","attributes":{"a":1,"b":"x"}}`,
		`{"attributes":{"b":"x","a":1},"region":"eu","name":"n","service":"s","time":1795255198}`,
		"{ \"service\" : \"s\",\n \"name\":\"n\", \"time\":1795255198000,  \"region\":\"eu\",\"attributes\":{\"a\":1,\"b\":\"x\"}}",
		`{"service":"s","name":"n","time":"2026-11-21T09:59:58Z","region":"eu","attributes":{"a":1,"b":"x"}}`,
		`{"service":"s","name":"n","time":1795255198,"attributes":{"a":1,"b":"x","region":"eu"}}`,
	} {
		assert.Equal(t, want, id(same), same)
	}
	for _, other := range []string{
		`{"service":"s","name":"n","time":1795255199,"region":"eu","attributes":{"a":1,"b":"x"}}`,
		`{"service":"s","name":"n","time":1795255198,"region":"us","attributes":{"a":1,"b":"x"}}`,
		`{"service":"s","name":"n","time":1795255198,"region":"eu","attributes":{"a":2,"b":"x"}}`,
		`{"service":"s","name":"n","region":"eu","attributes":{"a":1,"b":"x"}}`,
		`{"service":"s","name":"n","time":1795255198,"region":"eu","attributes":{"a":1,"b":"x"},"status":"error"}`,
	} {
		assert.NotEqual(t, want, id(other), other)
	}
	assert.Equal(t, "given-id", id(`{"service":"s","name":"n","event_id":"given-id"}`))

	// Retries dedup even without a time: the ingest time is not hashed.
	tg2 := newTagger(t, Config{Now: func() time.Time { return now.Add(time.Hour) }})
	e2, err := tg2.JSONEvents([]byte(`{"service":"s","name":"n"}`))
	require.NoError(t, err)
	assert.Equal(t, id(`{"service":"s","name":"n"}`), e2[0].ID)
}

func TestJSONTagging(t *testing.T) {
	tg := newTagger(t, Config{})
	for _, tc := range []struct {
		name, body           string
		exp                  string
		cohort               telemetry.Cohort
		synthetic            bool
		flow, flowKey, stage string
	}{
		{name: "explicit fields", body: `"experiment_id":"e1","cohort":"experiment","synthetic":false`, exp: "e1", cohort: telemetry.CohortExperiment},
		{name: "chaos attributes", body: `"attributes":{"chaos.experiment.id":"e2","chaos.experiment.cohort":"control","chaos.synthetic":"true"}`,
			exp: "e2", cohort: telemetry.CohortControl, synthetic: true},
		{name: "top-level chaos attributes", body: `"chaos.experiment.id":"e3","chaos.experiment.cohort":"control","chaos.synthetic":1`,
			exp: "e3", cohort: telemetry.CohortControl, synthetic: true},
		{name: "field beats attribute", body: `"experiment_id":"e1","cohort":"experiment","attributes":{"chaos.experiment.id":"e2","chaos.experiment.cohort":"control"}`,
			exp: "e1", cohort: telemetry.CohortExperiment},
		{name: "synthetic field beats attribute", body: `"synthetic":false,"chaos.synthetic":"true"`},
		{name: "feature flag rule", body: `"attributes":{"feature_flag.key":"payment-chaos","feature_flag.result.variant":"off"}`,
			exp: "checkout-payment-500", cohort: telemetry.CohortControl},
		{name: "attribute rule, top level", body: `"tenant":"beta"`, exp: "checkout-payment-500", cohort: telemetry.CohortExperiment},
		{name: "explicit flow", body: `"flow":"orders","key":"o-1","stage":"paid"`, flow: "orders", flowKey: "o-1", stage: "paid"},
		{name: "flow_key beats key", body: `"flow":"orders","flow_key":"o-2","key":"o-1","stage":"paid"`, flow: "orders", flowKey: "o-2", stage: "paid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := jsonEvents(t, tg, `{"service":"checkout","name":"n",`+tc.body+`}`)
			require.Len(t, events, 1)
			e := events[0]
			assert.Equal(t, tc.exp, e.ExperimentID)
			assert.Equal(t, tc.cohort, e.Cohort)
			assert.Equal(t, tc.synthetic, e.Synthetic)
			assert.Equal(t, []string{tc.flow, tc.flowKey, tc.stage}, []string{e.Flow, e.FlowKey, e.Stage})
		})
	}
}

func TestJSONFlowFromSpec(t *testing.T) {
	tg := newTagger(t, Config{})
	body := strings.Join([]string{
		`{"service":"publisher","name":"publish.received","publish_id":"p-1"}`,
		`{"service":"transformer","name":"content.transformed","attributes":{"publish_id":12345}}`,
		`{"service":"store","name":"content.stored","key":"p-3"}`,
		`{"service":"cdn","name":"cache.purged"}`,
		`{"service":"cdn","name":"unrelated","publish_id":"p-5"}`,
		`{"service":"publisher","name":"publish.received","flow":"publish","publish_id":"p-6"}`,
	}, "\n")
	events := jsonEvents(t, tg, body)
	require.Len(t, events, 6)
	var got [][3]string
	for _, e := range events {
		got = append(got, [3]string{e.Flow, e.FlowKey, e.Stage})
	}
	assert.Equal(t, [][3]string{
		{"publish", "p-1", "publish.received"},
		{"publish", "12345", "content.transformed"},
		{"publish", "p-3", "content.stored"},
		{},
		{},
		{"publish", "p-6", "publish.received"},
	}, got)
	v, ok := events[0].Attr("publish_id")
	assert.True(t, ok, "the key stays an attribute")
	assert.Equal(t, "p-1", v)
}

func TestJSONOversize(t *testing.T) {
	tg := newTagger(t, Config{MaxEventBytes: 2048, MaxAttrValueBytes: 100})
	body := fmt.Sprintf("{\"service\":\"s\",\"name\":\"a\"}\n{\"service\":\"s\",\"name\":\"b\",\"body\":%q}\n{\"service\":\"s\",\"name\":\"c\",\"attributes\":{\"x\":%q}}",
		strings.Repeat("b", 3000), strings.Repeat("x", 3000))
	events, err := tg.JSONEvents([]byte(body))
	require.Len(t, events, 2)
	assert.Equal(t, "a", events[0].Name)
	x, _ := events[1].Attr("x")
	assert.Len(t, x, 100, "attributes are truncated, not rejected")
	re := rejectErr(t, err)
	assert.Equal(t, 2, re.Errors[0].Index)
	assert.Contains(t, re.Errors[0].Msg, "in its wire form, at most 2048 allowed")
}

// benchBody is 100 NDJSON events of a typical size.
func benchBody(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"time":"2026-11-21T10:00:%02d.%03dZ","service":"checkout","name":"order.paid","status":"ok","http_status":200,`+
			`"duration_ms":%d.5,"subject_id":"user-%d","publish_id":"p-%d","region":"eu-west-1","attributes":{"tenant":"beta",`+
			`"feature_flag.key":"payment-chaos","feature_flag.result.variant":"on","http.route":"/checkout/{id}","retries":%d}}`+"\n",
			i%60, i%1000, i%300, i, i, i%3)
	}
	return []byte(b.String())
}

func BenchmarkJSONEvents(b *testing.B) {
	tg := newTagger(b, Config{})
	body := benchBody(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		events, err := tg.JSONEvents(body)
		if err != nil || len(events) != 100 {
			b.Fatal(err, len(events))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
}

func BenchmarkTraces(b *testing.B) {
	tg := newTagger(b, Config{})
	td := benchTraces(100)
	b.ReportAllocs()
	for b.Loop() {
		events, err := tg.Traces(td)
		if err != nil || len(events) != 100 {
			b.Fatal(err, len(events))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
}

// FuzzJSONEvents checks that no body panics and that every accepted event
// is complete; run with -fuzz=FuzzJSONEvents for more than the seeds.
func FuzzJSONEvents(f *testing.F) {
	for _, seed := range []string{
		`{"service":"s","name":"n"}`,
		`[{"service":"s","name":"n","attributes":{"a":[1,{"b":"}"}]}}, 1, "x"]`,
		"{\"service\":\"s\",\n\"name\":\"n\"}\n{\"service\":\"s\"",
		`{"service":"s","name":"n","time":1e30,"duration_ms":0.0000001,"http_status":599}`,
		`{"service":"s","name":"n","k\u00e9y":"v\"","flow":"publish","key":7}`,
		"\xef\xbb\xbf[ ] ",
		`{"service":"s","name":"content.stored","publish_id":"p"}`,
	} {
		f.Add([]byte(seed))
	}
	tg := newTagger(f, Config{MaxEventBytes: 4096, MaxAttrValueBytes: 64})
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := tg.JSONEvents(body)
		if err != nil {
			var re *RejectError
			require.ErrorAs(t, err, &re)
			require.NotEmpty(t, re.Errors)
			for _, r := range re.Errors {
				require.Positive(t, r.Index)
				require.NotEmpty(t, r.Msg)
			}
		}
		for _, e := range events {
			require.NotEmpty(t, e.ID)
			require.NotEmpty(t, e.Service)
			require.NotEmpty(t, e.Name)
			require.Len(t, e.AttrValues, len(e.AttrKeys))
			require.True(t, slices.IsSorted(e.AttrKeys))
			require.LessOrEqual(t, len(e.AppendJSON(nil)), 4096)
			for _, v := range e.AttrValues {
				require.LessOrEqual(t, len(v), 64)
			}
			var back telemetry.Event
			require.NoError(t, telemetry.DecodeJSON(e.AppendJSON(nil), &back))
		}
	})
}

// A recycled events array is reused by the next conversion, which gives
// exactly the events a fresh Tagger gives: nothing of the earlier request
// shows through.
func TestRecycleReusesArrayOnly(t *testing.T) {
	tg := newTagger(t, Config{})
	first := []byte(`{"event_id":"a1","service":"checkout","name":"GET /a","experiment_id":"x1","cohort":"control","flow":"f","flow_key":"k","stage":"s","error_type":"boom","subject_id":"u1","severity":"warn","body":"hello","attributes":{"region":"eu","tenant":"t1","z":"last"}}
{"event_id":"a2","service":"checkout","name":"GET /a","trace_id":"0123456789abcdef0123456789abcdef","span_id":"0123456789abcdef","attributes":{"k":"v"}}
`)
	second := []byte(`{"service":"payment","name":"POST /b","time":1700000000}
`)
	want, err := newTagger(t, Config{Now: tg.now}).JSONEvents(second)
	require.NoError(t, err)
	want[0].IngestNs = 0
	reused := 0
	for range 20 { // sync.Pool may drop an item (under -race, a quarter of them)
		evs, err := tg.JSONEventsOwned(first)
		require.NoError(t, err)
		require.Len(t, evs, 2)
		arr := &evs[:1][0]
		tg.Recycle(evs)
		got, err := tg.JSONEventsOwned(second)
		require.NoError(t, err)
		require.Len(t, got, 1)
		if &got[:1][0] == arr {
			reused++
		}
		got[0].IngestNs = 0
		require.Equal(t, want[0], got[0])
		tg.Recycle(got)
	}
	assert.Positive(t, reused, "the array was reused")
}

// Every string field and attribute reads as encoding/json reads it, when
// the record holds an escape or a non-ASCII byte (valid UTF-8 or not)
// anywhere, before or after the field, and when it holds none (the plain
// records read every string as it is).
func TestJSONStringsAsEncodingJSON(t *testing.T) {
	tg := newTagger(t, Config{})
	texts := []string{`plain`, `a\"b`, `tab\tnew\nline`, `\u00e9t\u00e9`, "\u00e9t\u00e9", "bad\xffutf8", "cut\xc3", `\ud83d\ude00`, `\ud83d`, `back\\slash`, `sl\/ash`}
	unq := func(lit string) string {
		var v string
		require.NoError(t, json.Unmarshal([]byte(`"`+lit+`"`), &v), lit)
		return v
	}
	for _, a := range texts {
		for _, b := range texts {
			body := `{"service":"` + a + `","name":"n","error_type":"` + b + `","trace_id":"0123456789abcdef0123456789abcdef",` +
				`"attributes":{"k` + a + `":"v` + b + `","z":"` + a + `"},"body":"` + b + `"}`
			ev := jsonEvents(t, tg, body)
			require.Len(t, ev, 1)
			e := ev[0]
			assert.Equal(t, unq(a), e.Service, body)
			assert.Equal(t, unq(b), e.ErrorType, body)
			assert.Equal(t, unq(b), e.Body, body)
			require.Equal(t, []string{unq("k" + a), "z"}, e.AttrKeys, body)
			assert.Equal(t, []string{unq("v" + b), unq(a)}, e.AttrValues, body)
		}
	}
}

// numberScaled reads the fraction exactly and an exponent (either case)
// through float64, in milliseconds here.
func TestNumberScaledMs(t *testing.T) {
	for lit, want := range map[string]int64{
		"0": 0, "7": 7e6, "1.5": 1_500_000, "0.000001": 1, "0.0000001": 0, "12.250": 12_250_000,
		"2e3": 2e9, "2E3": 2e9, "1.5e1": 15e6, "1.5E-1": 150_000, "25e-1": 2_500_000,
	} {
		got, msg := numberScaled([]byte(lit), msScale)
		assert.Empty(t, msg, lit)
		assert.Equal(t, want, got, lit)
	}
	_, msg := numberScaled([]byte("-1"), msScale)
	assert.Equal(t, "must not be negative", msg)
	_, msg = numberScaled([]byte("1e300"), msScale)
	assert.Equal(t, "out of range", msg)
}

// A top-level key with an escape is read unescaped (an attribute, as any
// unknown key), and one without is taken as it is, whether the record
// holds escapes elsewhere or not.
func TestJSONEscapedTopLevelKey(t *testing.T) {
	tg := newTagger(t, Config{})
	for body, want := range map[string][]string{
		`{"service":"s","name":"n","x\u0041":"v"}`:            {"xA"},
		`{"service":"s\n","name":"n","x\u0041":"v","yB":"w"}`: {"xA", "yB"},
		`{"service":"s","name":"n","x\"q":"v","zC":"w"}`:      {"x\"q", "zC"},
		`{"service":"s","name":"n","plain":"v"}`:              {"plain"},
	} {
		ev := jsonEvents(t, tg, body)
		require.Len(t, ev, 1, body)
		assert.Equal(t, want, ev[0].AttrKeys, body)
	}
}
