package analysis

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// A bucket settles only once it lies wholly before the sink watermark; with
// the watermark unknown, at now - SettleAfter.
func TestSettleCutoffFollowsTheWatermark(t *testing.T) {
	now := t0.Add(10 * time.Minute)
	for _, wm := range []time.Time{t0.Add(2 * time.Minute), t0.Add(2*time.Minute + 9*time.Second), t0.Add(2*time.Minute + 10*time.Second), now.Add(-time.Second)} {
		cut := SettleCutoff(now, DefaultSettleAfter, wm, true)
		for b := t0; b.Before(now); b = b.Add(bucketWidth) {
			settled := b.Before(cut)
			assert.Equal(t, !b.Add(bucketWidth).After(wm), settled, "bucket %s, watermark %s", b.Format("15:04:05"), wm.Format("15:04:05"))
		}
	}
	assert.Equal(t, now.Truncate(bucketWidth), SettleCutoff(now, DefaultSettleAfter, now.Add(time.Hour), true), "never beyond now")
	assert.Equal(t, now.Add(-DefaultSettleAfter), SettleCutoff(now, DefaultSettleAfter, time.Time{}, false))
}

// A Monitor with the sink watermark behind now does not settle the buckets
// after it: an event the sink delivers late into such a bucket (older than
// the 30 s the monitor used to wait) is counted at the next look.
func TestMonitorSettlesAtTheSinkWatermark(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{rows: spread(telemetry.CohortControl, t0, 5*time.Minute, 3000, 30)}
	mon, err := NewMonitor(src, Request{ExperimentID: "exp-1", Window: Window{Since: t0}}, Settings{})
	require.NoError(t, err)
	wm := t0.Add(2 * time.Minute)
	mon.Watermark = func(context.Context, time.Time) (time.Time, bool, string, error) { return wm, true, "", nil }
	now := t0.Add(5 * time.Minute)
	res, err := mon.Look(ctx, now)
	require.NoError(t, err)
	assert.Equal(t, int64(3000), res.Cohorts.Control)
	assert.Contains(t, mon.SettledBy(), "the sink watermark")
	// The sink delivers an event late into the bucket at 3 min: older than
	// now - 30 s, but after the watermark.
	src.rows = append(src.rows, BucketRow{Bucket: t0.Add(3 * time.Minute), Cohort: telemetry.CohortControl, Service: "checkout", Operation: "GET /checkout", Events: 1})
	src.windows = nil
	wm = t0.Add(4 * time.Minute)
	res, err = mon.Look(ctx, now.Add(time.Second))
	require.NoError(t, err)
	assert.Equal(t, int64(3001), res.Cohorts.Control, "the late event counts: its bucket had not settled")
	require.NotEmpty(t, src.windows)
	assert.Equal(t, t0.Add(2*time.Minute), src.windows[0][0], "the second look re-read from the old watermark on")

	// Without a watermark: settled at now - 30 s, and said so.
	mon, err = NewMonitor(src, Request{ExperimentID: "exp-1", Window: Window{Since: t0}}, Settings{})
	require.NoError(t, err)
	mon.Watermark = func(context.Context, time.Time) (time.Time, bool, string, error) {
		return time.Time{}, false, "no sink progress", nil
	}
	_, err = mon.Look(ctx, now)
	require.NoError(t, err)
	src.windows = nil
	_, err = mon.Look(ctx, now.Add(time.Second))
	require.NoError(t, err)
	assert.Equal(t, now.Add(-DefaultSettleAfter), src.windows[0][0])
	assert.Equal(t, "now - 30s (the sink watermark is unknown: no sink progress)", mon.SettledBy())
}
