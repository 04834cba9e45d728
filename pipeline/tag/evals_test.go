package tag

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// evalEvent adds a span event with the given attributes.
func evalEvent(name string, kv ...any) func(ptrace.Span) {
	return func(sp ptrace.Span) {
		ev := sp.Events().AppendEmpty()
		ev.SetName(name)
		for i := 0; i < len(kv); i += 2 {
			if err := ev.Attributes().PutEmpty(kv[i].(string)).FromRaw(kv[i+1]); err != nil {
				panic(err)
			}
		}
	}
}

func both(fs ...func(ptrace.Span)) func(ptrace.Span) {
	return func(sp ptrace.Span) {
		for _, f := range fs {
			f(sp)
		}
	}
}

// Flag evaluations recorded as span events, as the OpenFeature
// OpenTelemetry hooks record them, decide the span's cohort; current and
// older event and attribute names.
func TestFlagEvaluationSpanEvents(t *testing.T) {
	tg := newTagger(t, Config{})
	for _, tt := range []struct {
		name        string
		span        func(ptrace.Span)
		wantCohort  telemetry.Cohort
		wantSubject string
	}{
		{"current semconv (python hook)", evalEvent("feature_flag.evaluation", "feature_flag.key", "payment-chaos",
			"feature_flag.result.variant", "on", "feature_flag.result.value", `"on"`, "feature_flag.context.id", "user-7",
			"feature_flag.provider.name", "InMemoryProvider", "feature_flag.result.reason", "static"),
			telemetry.CohortExperiment, "user-7"},
		{"older event name and attributes (js hook)", evalEvent("feature_flag", "feature_flag.key", "payment-chaos",
			"feature_flag.variant", "off", "feature_flag.provider_name", "flagd"), telemetry.CohortControl, ""},
		{"value without variant", evalEvent("feature_flag.evaluation", "feature_flag.key", "payment-chaos",
			"feature_flag.result.value", `"off"`, "feature_flag.context.id", "u-1"), telemetry.CohortControl, "u-1"},
		{"second evaluation decides", both(
			evalEvent("feature_flag.evaluation", "feature_flag.key", "dark-mode", "feature_flag.result.variant", "on"),
			evalEvent("feature_flag.evaluation", "feature_flag.key", "payment-chaos", "feature_flag.result.variant", "on", "feature_flag.context.id", "u-9")),
			telemetry.CohortExperiment, "u-9"},
		{"subject on the span wins", both(attrs("enduser.id", "alice"),
			evalEvent("feature_flag.evaluation", "feature_flag.key", "payment-chaos", "feature_flag.result.variant", "on", "feature_flag.context.id", "u-9")),
			telemetry.CohortExperiment, "alice"},
		{"explicit tag on the span wins", both(attrs("chaos.experiment.id", "checkout-payment-500", "chaos.experiment.cohort", "control"),
			evalEvent("feature_flag.evaluation", "feature_flag.key", "payment-chaos", "feature_flag.result.variant", "on")),
			telemetry.CohortControl, ""},
		{"other events ignored", evalEvent("exception", "feature_flag.key", "payment-chaos", "feature_flag.result.variant", "on"),
			telemetry.CohortNone, ""},
		{"unknown flag", evalEvent("feature_flag.evaluation", "feature_flag.key", "other", "feature_flag.result.variant", "on", "feature_flag.context.id", "u-2"),
			telemetry.CohortNone, "u-2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := tg.Traces(traces(map[string]any{"service.name": "checkout"}, tt.span))
			require.NoError(t, err)
			require.Len(t, evs, 1)
			e := evs[0]
			assert.Equal(t, tt.wantCohort, e.Cohort)
			if tt.wantCohort != telemetry.CohortNone {
				assert.Equal(t, "checkout-payment-500", e.ExperimentID)
			}
			assert.Equal(t, tt.wantSubject, e.SubjectID)
		})
	}
}

// The evaluation events' attributes stay queryable on the span: the
// deciding one's flattened (without replacing the span's own), all of them
// as JSON when there are several.
func TestFlagEvaluationAttributesKept(t *testing.T) {
	tg := newTagger(t, Config{})
	evs, err := tg.Traces(traces(map[string]any{"service.name": "checkout"}, both(
		attrs("feature_flag.provider.name", "span-level"),
		evalEvent("feature_flag.evaluation", "feature_flag.key", "dark-mode", "feature_flag.result.variant", "on"),
		evalEvent("feature_flag.evaluation", "feature_flag.key", "payment-chaos", "feature_flag.result.variant", "off",
			"feature_flag.context.id", "u-3", "feature_flag.provider.name", "InMemoryProvider"))))
	require.NoError(t, err)
	require.Len(t, evs, 1)
	e := evs[0]
	assert.Equal(t, telemetry.CohortControl, e.Cohort)
	get := func(k string) string { v, _ := e.Attr(k); return v }
	assert.Equal(t, "payment-chaos", get("feature_flag.key"))
	assert.Equal(t, "off", get("feature_flag.result.variant"))
	assert.Equal(t, "u-3", get("feature_flag.context.id"))
	assert.Equal(t, "span-level", get("feature_flag.provider.name"))
	var all []map[string]string
	require.NoError(t, json.Unmarshal([]byte(get("feature_flag.evaluations")), &all))
	require.Len(t, all, 2)
	assert.Equal(t, "dark-mode", all[0]["feature_flag.key"])
	assert.Equal(t, "InMemoryProvider", all[1]["feature_flag.provider.name"])
	assert.Len(t, e.AttrKeys, len(e.AttrValues))
}

// A log record with event name feature_flag.evaluation (the OpenFeature
// EventHook, semantic conventions' evaluation event) is tagged by the rules
// from its own attributes; its targeting key becomes the subject.
func TestFlagEvaluationLogEvent(t *testing.T) {
	tg := newTagger(t, Config{})
	ld := logs([][2]string{{"service.name", "checkout"}}, func(lr plog.LogRecord) {
		lr.SetEventName("feature_flag.evaluation")
		lr.SetTraceID(traceID)
		lr.Attributes().PutStr("feature_flag.key", "payment-chaos")
		lr.Attributes().PutStr("feature_flag.result.variant", "on")
		lr.Attributes().PutStr("feature_flag.context.id", "user-42")
	})
	evs, err := tg.Logs(ld)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, "feature_flag.evaluation", evs[0].Name)
	assert.Equal(t, telemetry.CohortExperiment, evs[0].Cohort)
	assert.Equal(t, "checkout-payment-500", evs[0].ExperimentID)
	assert.Equal(t, "user-42", evs[0].SubjectID)
}
