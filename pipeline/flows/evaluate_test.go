package flows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func publishFlow() *experiment.Flow {
	return &experiment.Flow{
		Name: "publish", Key: "publish_id", Within: 2 * time.Minute, Severity: experiment.SeverityPage,
		RunbookURL: "https://runbooks.example.com/publish",
		Stages: []experiment.Stage{
			{Name: "publish.received"}, {Name: "content.transformed", Deadline: 30 * time.Second},
			{Name: "content.stored"}, {Name: "cache.purged"},
		},
	}
}

func item(key string, first time.Time, mask uint64) ItemRow {
	return ItemRow{Key: key, Items: 1, InReport: true, MinFirstNs: first.UnixNano(), MaxFirstNs: first.UnixNano(), MaxLastNs: first.Add(time.Second).UnixNano(), Mask: mask}
}

func wmAt(t time.Time) *time.Time { return &t }

func TestEvaluateStates(t *testing.T) {
	f := publishFlow()
	now := t0.Add(10 * time.Minute)
	wm := now.Add(-5 * time.Second)
	complete := ItemRow{Items: 40, InReport: true, Cohort: telemetry.CohortControl, ExperimentID: "exp", MinFirstNs: t0.UnixNano(), MaxFirstNs: t0.Add(time.Minute).UnixNano(), MaxLastNs: t0.Add(2 * time.Minute).UnixNano(), Mask: 0b1111}
	rows := []ItemRow{
		complete,
		// stopped after stage 1, started long ago: stuck, last stage content.transformed
		item("a", t0, 0b0011),
		// skipped content.stored but reached cache.purged: stuck at content.stored
		item("b", t0.Add(time.Second), 0b1011),
		// started 100s before the watermark: only content.transformed (30s) is due, and it was seen
		item("c", wm.Add(-100*time.Second), 0b0011),
		// started 40s before the watermark with only the first stage: its 30s deadline passed
		item("d", wm.Add(-40*time.Second), 0b0001),
		// started after the watermark: nothing judged
		item("e", wm.Add(time.Second), 0b0001),
	}
	rows[1].Cohort, rows[1].ExperimentID = telemetry.CohortExperiment, "exp"
	rep := Evaluate(f, rows, EvalSettings{Now: now, Watermark: &wm})

	assert.Equal(t, Counts{Items: 45, Complete: 40, InFlight: 2, Stuck: 3}, rep.Counts)
	require.Len(t, rep.Stuck, 3)
	byKey := map[string]StuckItem{}
	for _, s := range rep.Stuck {
		byKey[s.Key] = s
	}
	assert.Equal(t, "content.transformed", byKey["a"].LastStage)
	assert.Equal(t, 1, byKey["a"].LastStageIndex)
	assert.Equal(t, []string{"content.stored", "cache.purged"}, byKey["a"].Missing)
	assert.Equal(t, "content.stored", byKey["a"].StuckAt)
	assert.Equal(t, "cache.purged", byKey["b"].LastStage)
	assert.Equal(t, []string{"content.stored"}, byKey["b"].Missing)
	assert.Equal(t, "publish.received", byKey["d"].LastStage)
	assert.Equal(t, "content.transformed", byKey["d"].StuckAt, "the per-stage deadline decides")
	assert.Equal(t, wm.Add(-10*time.Second), byKey["d"].Deadline)
	assert.InDelta(t, 15.0, byKey["d"].StuckForSeconds, 1e-9)
	assert.Equal(t, "experiment", byKey["a"].Cohort)
	assert.Equal(t, []string{"a", "b", "d"}, []string{rep.Stuck[0].Key, rep.Stuck[1].Key, rep.Stuck[2].Key}, "oldest first")

	assert.Equal(t, []StageCount{
		{Stage: "publish.received", Reached: 45, StuckHere: 1},
		{Stage: "content.transformed", Reached: 43, StuckHere: 1},
		{Stage: "content.stored", Reached: 40},
		{Stage: "cache.purged", Reached: 41, StuckHere: 1},
	}, rep.Funnel, "funnel")
	assert.Equal(t, StatusBroken, rep.Status)
}

func TestEvaluateUnknownWatermarkJudgesNothing(t *testing.T) {
	rep := Evaluate(publishFlow(), []ItemRow{item("a", t0, 0b0001)}, EvalSettings{Now: t0.Add(time.Hour)})
	assert.Equal(t, Counts{Items: 1, InFlight: 1}, rep.Counts)
	assert.Empty(t, rep.Stuck)
	assert.Equal(t, StatusHealthy, rep.Status)
}

func TestEvaluateDeadlineBoundary(t *testing.T) {
	f := publishFlow()
	first := t0
	// content.transformed due at first+30s; a watermark exactly there judges it stuck, 1ns before does not.
	r := []ItemRow{item("x", first, 0b0001)}
	assert.Equal(t, uint64(1), Evaluate(f, r, EvalSettings{Now: t0.Add(time.Hour), Watermark: wmAt(first.Add(30 * time.Second))}).Counts.Stuck)
	assert.Equal(t, uint64(1), Evaluate(f, r, EvalSettings{Now: t0.Add(time.Hour), Watermark: wmAt(first.Add(30*time.Second - 1))}).Counts.InFlight)
}

func TestStatusSyntheticAndAbsence(t *testing.T) {
	f := publishFlow()
	f.Absence = &experiment.Absence{Period: 5 * time.Minute, SyntheticOnly: true}
	now := t0.Add(time.Hour)
	wm := now.Add(-3 * time.Second)
	synthDone := ItemRow{Items: 12, Synthetic: true, InReport: true, MinFirstNs: now.Add(-10 * time.Minute).UnixNano(), MaxFirstNs: now.Add(-time.Minute).UnixNano(), MaxLastNs: now.Add(-50 * time.Second).UnixNano(), Mask: 0b1111}

	idle := Evaluate(f, []ItemRow{synthDone}, EvalSettings{Now: now, Watermark: &wm})
	assert.Equal(t, StatusIdle, idle.Status, idle.Reason)
	assert.Equal(t, Counts{}, idle.Counts, "synthetic items never count as business items")
	assert.Equal(t, uint64(12), idle.Synthetic.Complete)
	require.NotNil(t, idle.Absence)
	assert.False(t, idle.Absence.Firing)
	assert.Empty(t, idle.Funnel[0].Reached)

	stuckSynth := item("synth-1", now.Add(-4*time.Minute), 0b0111)
	stuckSynth.Synthetic = true
	broken := Evaluate(f, []ItemRow{synthDone, stuckSynth}, EvalSettings{Now: now, Watermark: &wm})
	assert.Equal(t, StatusBroken, broken.Status)
	assert.Equal(t, uint64(1), broken.Synthetic.Stuck)
	assert.Equal(t, uint64(0), broken.Counts.Stuck)

	// The last synthetic completion is older than the period: absence.
	old := synthDone
	old.MaxLastNs = wm.Add(-6 * time.Minute).UnixNano()
	silent := Evaluate(f, []ItemRow{old}, EvalSettings{Now: now, Watermark: &wm})
	assert.Equal(t, StatusBroken, silent.Status)
	assert.True(t, silent.Absence.Firing)
	assert.Contains(t, silent.Reason, "no synthetic item completed")

	// Absence is judged against the watermark: a lagging pipeline is no silence.
	lagWM := wm.Add(-6 * time.Minute)
	assert.False(t, Evaluate(f, []ItemRow{old}, EvalSettings{Now: now, Watermark: &lagWM}).Absence.Firing)

	nothing := Evaluate(publishFlow(), nil, EvalSettings{Now: now, Watermark: &wm})
	assert.Equal(t, StatusIdle, nothing.Status)
	assert.Contains(t, nothing.Reason, "cannot be told from dead")
}

func TestEvaluateOutOfReportRowsFeedOnlyAbsence(t *testing.T) {
	f := publishFlow()
	f.Absence = &experiment.Absence{Period: time.Hour}
	now := t0.Add(2 * time.Hour)
	wm := now
	old := item("old", now.Add(-50*time.Minute), 0b0001)
	old.InReport = false
	rep := Evaluate(f, []ItemRow{old}, EvalSettings{Now: now, Watermark: &wm})
	assert.Equal(t, Counts{}, rep.Counts)
	assert.Empty(t, rep.Stuck)
	assert.False(t, rep.Absence.Firing)
	assert.Equal(t, now.Add(-50*time.Minute), *rep.LastStarted)
}

func TestComputePipeline(t *testing.T) {
	now := t0
	cfg := NewDefaultWatermarkConfig()
	ns := func(d time.Duration) uint64 { return uint64(now.Add(d).UnixNano()) }

	p := ComputePipeline("g", nil, now, cfg)
	assert.Equal(t, PipelineUnknown, p.State)
	assert.Nil(t, p.Watermark)

	// Partition 0 busy and current, partition 1 idle (caught up, checked
	// 1s ago), partition 2 behind at max event -4s.
	rows := []ProgressRow{
		{Topic: "t", Partition: 0, MaxEventNs: ns(-time.Second), CaughtUp: 1, LastUpdateNs: ns(-500 * time.Millisecond)},
		{Topic: "t", Partition: 1, MaxEventNs: ns(-time.Hour), CaughtUp: 1, LastUpdateNs: ns(-time.Second)},
		{Topic: "t", Partition: 2, MaxEventNs: ns(-4 * time.Second), CaughtUp: 0, LastUpdateNs: ns(-500 * time.Millisecond)},
	}
	p = ComputePipeline("g", rows, now, cfg)
	require.NotNil(t, p.Watermark)
	assert.Equal(t, now.Add(-4*time.Second-cfg.Grace), *p.Watermark, "the partition that is behind decides; the idle one, caught up at its own check, does not hold the watermark back")
	assert.Equal(t, PipelineOK, p.State)

	// A caught-up claim is as old as its own check: a fresher sibling does
	// not lend it its time (records may have arrived there since).
	rows[1].LastUpdateNs = ns(-6 * time.Second)
	p = ComputePipeline("g", rows, now, cfg)
	assert.Equal(t, now.Add(-6*time.Second-cfg.Grace), *p.Watermark)

	// A partition known only by its placeholder row (nothing delivered yet,
	// not held by the writer) holds the watermark at the start of time.
	placeholder := ProgressRow{Topic: "t", Partition: 3, CommittedOffset: -1}
	p = ComputePipeline("g", append(rows[:3:3], placeholder), now, cfg)
	assert.Equal(t, time.Unix(0, 0).Add(-cfg.Grace).UTC(), *p.Watermark)
	assert.Equal(t, PipelineLagging, p.State)
	assert.Contains(t, p.Message, "t/3")
	rows[1].LastUpdateNs = ns(-time.Second)

	rows[2].MaxEventNs = ns(-time.Minute)
	p = ComputePipeline("g", rows, now, cfg)
	assert.Equal(t, PipelineLagging, p.State)
	assert.Contains(t, p.Message, "t/2")

	for i := range rows {
		rows[i].CaughtUp, rows[i].LastUpdateNs = 1, ns(-30*time.Second)
	}
	p = ComputePipeline("g", rows, now, cfg)
	assert.Equal(t, PipelineStalled, p.State)
	assert.Equal(t, now.Add(-32*time.Second), *p.Watermark, "a stopped sink freezes the watermark")
	assert.InDelta(t, 30, p.ProgressAgeSeconds, 1e-6)
}

func TestAlertsLabels(t *testing.T) {
	f := publishFlow()
	now := t0.Add(time.Hour)
	wm := now
	a1 := item("p-1", t0, 0b0011)
	a1.ExperimentID = "exp-1"
	a2 := item("p-2", t0.Add(time.Second), 0b0011)
	a2.ExperimentID = "exp-1"
	b := item("p-3", t0, 0b0111)
	s := item("synth-9", t0, 0b0111)
	s.Synthetic = true
	fr := Evaluate(f, []ItemRow{a1, a2, b, s}, EvalSettings{Now: now, Watermark: &wm})
	rep := &Report{GeneratedAt: now, Flows: []FlowReport{fr}, Pipeline: Pipeline{State: PipelineStalled, ConsumerGroup: "g", Message: "m"}}
	alerts := Alerts(rep, AlertSettings{GeneratorURL: "http://watch:9466/flows"})
	var got []map[string]string
	for _, a := range alerts {
		got = append(got, a.Labels)
	}
	assert.Equal(t, []map[string]string{
		{"alertname": "FlowBroken", "flow": "publish", "stage": "content.stored", "severity": "page", "experiment": "none"},
		{"alertname": "FlowItemsStuck", "flow": "publish", "stage": "content.transformed", "severity": "page", "experiment": "exp-1"},
		{"alertname": "FlowItemsStuck", "flow": "publish", "stage": "content.stored", "severity": "page", "experiment": "none"},
		{"alertname": "PipelineStalled", "severity": "ticket", "consumer_group": "g"},
	}, got)
	stuck := alerts[1]
	assert.Equal(t, "2 publish items stuck after content.transformed", stuck.Annotations["summary"])
	assert.Contains(t, stuck.Annotations["description"], "p-1 (stuck for")
	assert.Contains(t, stuck.Annotations["description"], "p-2 (stuck for")
	assert.Equal(t, "https://runbooks.example.com/publish", stuck.Annotations["runbook_url"])
	assert.Equal(t, "http://watch:9466/flows?flow=publish", stuck.GeneratorURL)
}
