//go:build integration

package analysis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/chtest"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// sampleSpans is one tagged checkout span a second from start for n
// seconds, one user in four in the experiment cohort, durations varying
// with the second (so a sample that lost or doubled an event shows in its
// quantiles as well as its size).
func sampleSpans(exp, prefix string, start time.Time, n int) []telemetry.Event {
	var out []telemetry.Event
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i)*time.Second + 300*time.Millisecond)
		cohort := telemetry.CohortControl
		if i%4 == 0 {
			cohort = telemetry.CohortExperiment
		}
		out = append(out, telemetry.Event{
			ID: fmt.Sprintf("%s-%d", prefix, i), TimeNs: ts.UnixNano(), IngestNs: ts.UnixNano(), Kind: telemetry.KindSpan,
			Service: "checkout", Name: "GET /checkout", ExperimentID: exp, Cohort: cohort,
			DurationNs: uint64(10+i%37) * uint64(time.Millisecond), SubjectID: fmt.Sprintf("user-%d", i%40),
		})
	}
	return out
}

// A live monitor keeps its latency sample per event, settled at the second
// the sink watermark reached rather than at the start of the watermark's
// bucket: each look re-reads the sample only from the previous look's
// watermark second on, and its sample is a fresh monitor's at every look,
// events arriving look by look, one of them late (after the previous
// look's watermark, in a bucket that had not settled).
func TestLiveSampleSettlesAtTheWatermarkSecond(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := chtest.Open(t)
	const exp = "sample-watermark"
	// The looks' now is about the real time (their buckets too young for
	// the settled cache).
	start := time.Now().Add(-330 * time.Second).Truncate(10 * time.Second)
	load(ctx, t, c, sampleSpans(exp, "first", start, 300))
	src := &analysis.Store{C: c}
	req := analysis.Request{ExperimentID: exp, Window: analysis.Window{Since: start}}
	var wm time.Time
	watermark := func(context.Context, time.Time) (time.Time, bool, string, error) { return wm, true, "", nil }
	mon, err := analysis.NewMonitor(src, req, analysis.Settings{})
	require.NoError(t, err)
	mon.Watermark = watermark
	logged := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
	now := start.Add(300*time.Second + 4*time.Second)
	for look := 0; look < 6; look++ {
		prev := wm
		wm = now.Add(-1500 * time.Millisecond)
		t0 := time.Now().Add(-time.Second)
		res, err := mon.Look(logged, now)
		require.NoError(t, err)
		t1 := time.Now().Add(time.Second)
		fresh, err := analysis.NewMonitor(src, req, analysis.Settings{})
		require.NoError(t, err)
		fresh.Watermark = watermark
		want, err := fresh.Look(ctx, now)
		require.NoError(t, err)
		for i := 1; i < len(want.Metrics); i++ {
			assert.Equal(t, want.Metrics[i].Control.N, res.Metrics[i].Control.N, "%s, look %d", want.Metrics[i].Name, look)
			assert.Equal(t, want.Metrics[i].Experiment.N, res.Metrics[i].Experiment.N, "%s, look %d", want.Metrics[i].Name, look)
			assert.InDelta(t, want.Metrics[i].Control.Value, res.Metrics[i].Control.Value, 1e-12, "%s, look %d", want.Metrics[i].Name, look)
			assert.InDelta(t, want.Metrics[i].Experiment.Value, res.Metrics[i].Experiment.Value, 1e-12, "%s, look %d", want.Metrics[i].Name, look)
		}
		if look > 0 {
			from := prev.Truncate(time.Second).Unix()
			assert.Positive(t, statementsLike(ctx, t, c, t0, t1, fmt.Sprintf("%%duration_ns%%event_time >= toDateTime(%d)%%", from)),
				"look %d read the sample from the previous watermark's second %d on", look, from)
			assert.Zero(t, statementsLike(ctx, t, c, t0, t1, fmt.Sprintf("%%duration_ns%%event_time >= toDateTime(%d)%%", prev.Truncate(10*time.Second).Unix())),
				"look %d did not read from the previous watermark's bucket start", look)
		}
		// The next 5 s of traffic, and at look 2 a late event after this
		// look's watermark (in its unsettled bucket).
		load(ctx, t, c, sampleSpans(exp, fmt.Sprintf("look%d", look), now.Truncate(time.Second), 5))
		if look == 2 {
			load(ctx, t, c, sampleSpans(exp, "late", wm.Add(200*time.Millisecond).Truncate(time.Second), 1))
		}
		now = now.Add(5 * time.Second)
	}
}
