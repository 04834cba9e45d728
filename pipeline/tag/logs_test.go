package tag

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// logs builds one resource and scope with one record per function.
func logs(res [][2]string, recs ...func(plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	for _, kv := range res {
		rl.Resource().Attributes().PutStr(kv[0], kv[1])
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("logger")
	for _, f := range recs {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Minute)))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.Body().SetStr("hello")
		if f != nil {
			f(lr)
		}
	}
	return ld
}

func TestLogConversion(t *testing.T) {
	tg := newTagger(t, Config{})
	res := [][2]string{{"service.name", "publisher"}, {"chaos.experiment.id", "exp-1"}}
	for _, tc := range []struct {
		name  string
		rec   func(plog.LogRecord)
		check func(*testing.T, telemetry.Event)
	}{
		{"basics", func(lr plog.LogRecord) {
			lr.Attributes().PutStr("chaos.experiment.cohort", "experiment")
			lr.Attributes().PutStr("event.name", "publish.received")
			lr.Attributes().PutStr("publish_id", "p-1")
			lr.SetTraceID(traceID)
			lr.SetSpanID(spanID)
		}, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Equal(t, telemetry.KindLog, e.Kind)
			assert.Equal(t, "publisher", e.Service)
			assert.Equal(t, "publish.received", e.Name)
			assert.Equal(t, "hello", e.Body)
			assert.Equal(t, "INFO", e.Severity)
			assert.Equal(t, now.Add(-time.Minute).UnixNano(), e.TimeNs)
			assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", e.TraceID)
			assert.Equal(t, "b7ad6b7169203300"[:14]+"31", e.SpanID)
			assert.Len(t, e.ID, 32)
			assert.False(t, e.IsError)
			assert.Equal(t, "exp-1", e.ExperimentID)
			assert.Equal(t, telemetry.CohortExperiment, e.Cohort)
			assert.Equal(t, []string{"publish", "p-1", "publish.received"}, []string{e.Flow, e.FlowKey, e.Stage})
		}},
		{"observed time, EventName, derived severity", func(lr plog.LogRecord) {
			lr.SetTimestamp(0)
			lr.SetEventName("content.stored")
			lr.SetSeverityText("")
			lr.SetSeverityNumber(plog.SeverityNumberError2)
			lr.Attributes().PutStr("chaos.experiment.cohort", "control")
		}, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Equal(t, now.Add(-time.Second).UnixNano(), e.TimeNs)
			assert.Equal(t, "content.stored", e.Name)
			assert.Equal(t, "ERROR", e.Severity)
			assert.True(t, e.IsError)
			assert.Empty(t, e.TraceID)
			assert.Empty(t, e.SpanID)
		}},
		{"no times: ingest time; name from severity", func(lr plog.LogRecord) {
			lr.SetTimestamp(0)
			lr.SetObservedTimestamp(0)
			lr.SetSeverityText("WARN")
			lr.Attributes().PutStr("chaos.experiment.cohort", "control")
		}, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.Equal(t, now.UnixNano(), e.TimeNs)
			assert.Equal(t, "WARN", e.Name)
		}},
		{"error.type makes an error", func(lr plog.LogRecord) {
			lr.Attributes().PutStr("error.type", "timeout")
			lr.Attributes().PutStr("chaos.experiment.cohort", "control")
		}, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.True(t, e.IsError)
			assert.Equal(t, "timeout", e.ErrorType)
		}},
		{"severity text without number", func(lr plog.LogRecord) {
			lr.SetSeverityNumber(plog.SeverityNumberUnspecified)
			lr.SetSeverityText("error")
			lr.Attributes().PutStr("chaos.experiment.cohort", "control")
		}, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			assert.True(t, e.IsError)
		}},
		{"map body as JSON", func(lr plog.LogRecord) {
			m := lr.Body().SetEmptyMap()
			m.PutStr("z", "1")
			m.PutInt("a", 2)
			lr.Attributes().PutStr("chaos.experiment.cohort", "control")
		}, func(t *testing.T, e telemetry.Event) {
			t.Helper()
			// Byte-exact, not JSONEq: the body feeds the event id, so key order and spacing matter.
			assert.Equal(t, `{"a":2,"z":"1"}`, e.Body) //nolint:testifylint // encoded-compare: exact encoding is the contract
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := tg.Logs(logs(res, tc.rec))
			require.NoError(t, err)
			require.Len(t, events, 1)
			tc.check(t, events[0])
		})
	}
}

func TestLogIDs(t *testing.T) {
	tg := newTagger(t, Config{})
	id := func(t *testing.T, ld plog.Logs) string {
		t.Helper()
		events, err := tg.Logs(ld)
		require.NoError(t, err)
		require.Len(t, events, 1)
		return events[0].ID
	}
	base := func(lr plog.LogRecord) {
		lr.Attributes().PutStr("a", "1")
		lr.Attributes().PutInt("b", 2)
		lr.Attributes().PutStr("c", "3")
	}
	res := [][2]string{{"service.name", "s"}, {"host.name", "h"}}
	want := id(t, logs(res, base))
	assert.Regexp(t, "^[0-9a-f]{32}$", want)
	assert.Equal(t, want, id(t, logs(res, base)), "same input, same id")

	reordered := func(lr plog.LogRecord) {
		lr.Attributes().PutStr("c", "3")
		lr.Attributes().PutInt("b", 2)
		lr.Attributes().PutStr("a", "1")
	}
	assert.Equal(t, want, id(t, logs([][2]string{{"host.name", "h"}, {"service.name", "s"}}, reordered)),
		"attribute order does not matter")

	for _, tc := range []struct {
		name string
		res  [][2]string
		rec  func(plog.LogRecord)
	}{
		{"other body", res, func(lr plog.LogRecord) { base(lr); lr.Body().SetStr("bye") }},
		{"int vs string value", res, func(lr plog.LogRecord) {
			lr.Attributes().PutStr("a", "1")
			lr.Attributes().PutStr("b", "2")
			lr.Attributes().PutStr("c", "3")
		}},
		{"other attribute value", res, func(lr plog.LogRecord) { base(lr); lr.Attributes().PutStr("c", "4") }},
		{"extra attribute", res, func(lr plog.LogRecord) { base(lr); lr.Attributes().PutStr("d", "") }},
		{"other resource", [][2]string{{"service.name", "s"}, {"host.name", "h2"}}, base},
		{"other time", res, func(lr plog.LogRecord) { base(lr); lr.SetTimestamp(lr.Timestamp() + 1) }},
		{"other severity", res, func(lr plog.LogRecord) { base(lr); lr.SetSeverityNumber(plog.SeverityNumberInfo2) }},
		{"with span", res, func(lr plog.LogRecord) { base(lr); lr.SetSpanID(spanID) }},
	} {
		assert.NotEqual(t, want, id(t, logs(tc.res, tc.rec)), tc.name)
	}

	// Two identical records in one request are one event (same id).
	events, err := tg.Logs(logs(res, base, base))
	require.NoError(t, err)
	require.Len(t, events, 2)
	assert.Equal(t, events[0].ID, events[1].ID)
}

func TestLogRejections(t *testing.T) {
	tg := newTagger(t, Config{})
	ld := logs([][2]string{{"service.name", "s"}},
		func(lr plog.LogRecord) { lr.Attributes().PutStr("chaos.experiment.cohort", "experiment") },
		nil,
	)
	// A second scope whose record has a bad id.
	sl := ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.Attributes().PutStr("chaos.experiment.id", "bad id")
	lr.Attributes().PutStr("chaos.experiment.cohort", "control")
	events, err := tg.Logs(ld)
	require.Len(t, events, 1)
	re := rejectErr(t, err)
	require.Len(t, re.Errors, 2)
	assert.Equal(t, RecordError{Index: 1, Path: "resource_logs[0].scope_logs[0].log_records[0]", Field: "chaos.experiment.cohort",
		Msg: "cohort given without an experiment id (chaos.experiment.id)"}, re.Errors[0])
	assert.Equal(t, 3, re.Errors[1].Index)
	assert.Equal(t, "resource_logs[0].scope_logs[1].log_records[0]", re.Errors[1].Path)
	assert.Contains(t, re.Errors[1].Msg, `experiment id "bad id" has ' ' at byte 3`)
}
