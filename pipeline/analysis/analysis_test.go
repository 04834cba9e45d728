package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/stats"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// fakeSource serves view rows, raw counts and samples from memory.
type fakeSource struct {
	rows    []BucketRow
	raw     map[telemetry.Cohort]RawCounts
	sample  Sample
	calls   int
	windows [][2]time.Time
	rates   []SampleRate
}

func (f *fakeSource) Buckets(_ context.Context, _ string, since, until time.Time, untagged bool) ([]BucketRow, error) {
	f.calls++
	f.windows = append(f.windows, [2]time.Time{since, until})
	var out []BucketRow
	for _, r := range f.rows {
		if r.Bucket.Before(since) || !r.Bucket.Before(until) || (!untagged && r.Cohort == telemetry.CohortNone) {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func (f *fakeSource) SLICounts(context.Context, string, Window, *SLI) (map[telemetry.Cohort]RawCounts, error) {
	return f.raw, nil
}

func (f *fakeSource) LatencySample(_ context.Context, _ string, _ Window, _ *SLI, r SampleRate) (Sample, error) {
	f.rates = append(f.rates, r)
	return f.sample, nil
}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// spread puts n events with bad of them over the buckets of [from, from+d).
func spread(c telemetry.Cohort, from time.Time, d time.Duration, n, bad int64) []BucketRow {
	k := int64(d / bucketWidth)
	out := make([]BucketRow, 0, k)
	for i := int64(0); i < k; i++ {
		ni, bi := n/k, bad/k
		if i < n%k {
			ni++
		}
		if i < bad%k {
			bi++
		}
		out = append(out, BucketRow{Bucket: from.Add(time.Duration(i) * bucketWidth), Cohort: c, Service: "checkout", Operation: "GET /checkout", Events: ni, Errors: bi})
	}
	return out
}

func latencies(r *rand.Rand, n int, mean float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = mean * (0.5 + r.ExpFloat64()*0.5)
	}
	return out
}

func spec(split float64) *experiment.Experiment {
	abs := 0.01
	return &experiment.Experiment{
		ID: "exp-1", Title: "test",
		Cohorts: experiment.Cohorts{ExpectedSplit: experiment.Split{Experiment: split, Control: 1 - split}},
		SLIs: []experiment.SLI{{
			Name: "errors", Type: experiment.SLIErrorRate, Filter: experiment.Filter{Service: "checkout"},
			Tolerance: experiment.Tolerance{Absolute: &abs, Direction: experiment.LowerIsBetter},
		}},
		StopConditions: []experiment.StopCondition{{SLI: "errors", Op: experiment.Above, Threshold: 0.2}},
	}
}

func mustJSON(t *testing.T, r *Result) string {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err, "a result with NaN or Inf cannot be encoded")
	s := string(b)
	for _, bad := range []string{"NaN", "Inf"} {
		require.NotContains(t, s, bad)
	}
	return s
}

func window() Window { return Window{Since: t0, Until: t0.Add(10 * time.Minute)} }

func TestCompareZeroErrorsInControl(t *testing.T) {
	src := &fakeSource{}
	src.rows = append(src.rows, spread(telemetry.CohortControl, t0, 10*time.Minute, 400, 0)...)
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, 400, 7)...)
	src.sample = Sample{Control: []float64{0.1, 0.2}, Experiment: []float64{0.15}}
	res, err := Compare(context.Background(), src, Request{ExperimentID: "exp-1", Window: window()}, Settings{}, t0.Add(time.Hour))
	require.NoError(t, err)
	mustJSON(t, res)

	m := res.Metrics[0]
	assert.Equal(t, "error_rate", m.Name)
	assert.Equal(t, TestFisherExact, m.Test)
	assert.Nil(t, m.Effect.Relative, "relative change against a zero control rate is null")
	assert.InDelta(t, 7.0/400, m.Experiment.Value, 1e-12)
	assert.Zero(t, m.Control.Value)
	// Fisher's exact one-sided p for 0/400 vs 7/400 is 0.0076 (scipy).
	assert.InDelta(t, 0.0076, m.PValue, 0.0005)
	assert.Positive(t, m.CI.Lower, "the Newcombe interval excludes zero: %+v", m.CI)
	// The allowance is max(0.001, 10% of 0) = 0.001, the lower bound of
	// the interval is above it and p <= alpha: fail, honestly.
	assert.Equal(t, stats.VerdictFail, m.Verdict)
	// Latency with one experiment value: no bounds, never a NaN.
	for _, lm := range res.Metrics[1:] {
		assert.NotEqual(t, stats.VerdictFail, lm.Verdict, lm.Name)
	}
	assert.Equal(t, stats.VerdictFail, res.Verdict)
}

func TestCompareNoDataIsInsufficientNotNaN(t *testing.T) {
	src := &fakeSource{}
	res, err := Compare(context.Background(), src, Request{ExperimentID: "exp-1", Window: window()}, Settings{}, t0.Add(time.Hour))
	require.NoError(t, err)
	mustJSON(t, res)
	assert.Equal(t, stats.VerdictInsufficientData, res.Verdict)
	assert.Contains(t, res.Reason, "a cohort has no events")
	for _, m := range res.Metrics {
		assert.Equal(t, stats.VerdictInsufficientData, m.Verdict, m.Name)
		assert.Equal(t, TestNone, m.Test, m.Name)
		assert.InDelta(t, 1.0, m.PValue, 0, m.Name)
	}
	var buf bytes.Buffer
	require.NoError(t, WriteTable(&buf, res))
	assert.Contains(t, buf.String(), "INSUFFICIENT_DATA")
}

func TestCompareIdenticalCohortsNeverFail(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fails := 0
	for i := 0; i < 40; i++ {
		src := &fakeSource{}
		n := int64(2000)
		ce, ee := int64(0), int64(0)
		for j := int64(0); j < n; j++ {
			if r.Float64() < 0.02 {
				ce++
			}
			if r.Float64() < 0.02 {
				ee++
			}
		}
		src.rows = append(src.rows, spread(telemetry.CohortControl, t0, 10*time.Minute, n, ce)...)
		src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, n, ee)...)
		src.sample = Sample{Control: latencies(r, 500, 0.05), Experiment: latencies(r, 500, 0.05)}
		res, err := Compare(context.Background(), src, Request{ExperimentID: "exp-1", Window: window()}, Settings{}, t0.Add(time.Hour))
		require.NoError(t, err)
		mustJSON(t, res)
		if res.Verdict == stats.VerdictFail {
			fails++
		}
	}
	// Each look is an alpha = 5% test, Holm-adjusted over 4 metrics.
	assert.LessOrEqual(t, fails, 4, "identical cohorts failed %d of 40 times", fails)
}

func TestCompareDetectsWorseCohorts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	src := &fakeSource{}
	src.rows = append(src.rows, spread(telemetry.CohortControl, t0, 10*time.Minute, 5000, 50)...)
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, 5000, 600)...)
	src.sample = Sample{Control: latencies(r, 2000, 0.040), Experiment: latencies(r, 2000, 0.090)}
	res, err := Compare(context.Background(), src, Request{ExperimentID: "exp-1", Window: window()}, Settings{}, t0.Add(time.Hour))
	require.NoError(t, err)
	mustJSON(t, res)
	assert.Equal(t, stats.VerdictFail, res.Verdict)
	for _, m := range res.Metrics {
		assert.Equal(t, stats.VerdictFail, m.Verdict, m.Name)
		assert.Positive(t, m.Effect.Absolute, m.Name)
	}
	assert.Equal(t, TestQuantileCI, res.Metrics[1].Test, "quantile SLIs are decided by the quantile interval")
	assert.InDelta(t, 0.12, res.Metrics[0].Experiment.Value, 1e-12)
	assert.InDelta(t, 11, *res.Metrics[0].Effect.Relative, 1e-9) // 12% vs 1%: +1100%
}

func TestCompareSRMIsUntrusted(t *testing.T) {
	src := &fakeSource{}
	// Planned 50/50, got 45/55: a 10% deviation.
	src.rows = append(src.rows, spread(telemetry.CohortControl, t0, 10*time.Minute, 4500, 45)...)
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, 5500, 55)...)
	res, err := Compare(context.Background(), src, Request{ExperimentID: "exp-1", Experiment: spec(0.5), Window: window()}, Settings{}, t0.Add(time.Hour))
	require.NoError(t, err)
	mustJSON(t, res)
	assert.True(t, res.SRM.Mismatch)
	assert.Equal(t, "chi_square", res.SRM.Test)
	assert.Equal(t, stats.VerdictUntrusted, res.Verdict)
	assert.Contains(t, res.Reason, "sample-ratio mismatch")
	assert.Contains(t, res.Reason, "55.00%")

	// The same counts at the planned split are trusted.
	res, err = Compare(context.Background(), src, Request{ExperimentID: "exp-1", Experiment: spec(0.55), Window: window()}, Settings{}, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, res.SRM.Mismatch)
	assert.NotEqual(t, stats.VerdictUntrusted, res.Verdict)
}

func TestBlastRadiusAndStopConditions(t *testing.T) {
	src := &fakeSource{}
	// Before the window, untagged traffic at 1%; during, control and
	// untagged at 5%: the blast radius reaches beyond the cohort.
	src.rows = append(src.rows, spread(telemetry.CohortNone, t0.Add(-10*time.Minute), 10*time.Minute, 5000, 50)...)
	src.rows = append(src.rows, spread(telemetry.CohortNone, t0, 10*time.Minute, 2500, 125)...)
	src.rows = append(src.rows, spread(telemetry.CohortControl, t0, 10*time.Minute, 2500, 125)...)
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, 2500, 750)...)
	res, err := Compare(context.Background(), src, Request{ExperimentID: "exp-1", Experiment: spec(0.5), Window: window()}, Settings{}, t0.Add(time.Hour))
	require.NoError(t, err)
	mustJSON(t, res)
	require.NotNil(t, res.BlastRadius)
	b := res.BlastRadius
	assert.Equal(t, Tally{Events: 5000, Errors: 50}, b.Before)
	assert.Equal(t, Tally{Events: 5000, Errors: 250}, b.During)
	assert.True(t, b.Degraded)
	require.Len(t, b.Services, 1)
	assert.Equal(t, "checkout", b.Services[0].Service)
	// Window [t0-10m, t0+10m) was read in one query.
	require.Len(t, src.windows, 1)
	assert.Equal(t, t0.Add(-10*time.Minute), src.windows[0][0])

	require.Len(t, res.StopConditions, 1)
	assert.True(t, res.StopConditions[0].Holds, "30%% errors > 20%%")
	assert.True(t, res.Stop)
	var buf bytes.Buffer
	require.NoError(t, WriteTable(&buf, res))
	assert.True(t, strings.HasPrefix(buf.String(), "!!! STOP THE EXPERIMENT: errors is 0.3, above 0.2"), buf.String())
	assert.Contains(t, buf.String(), "DEGRADED")
}

func TestGoodEventsAndThroughputFromRawCounts(t *testing.T) {
	abs := 0.01
	e := &experiment.Experiment{
		ID: "exp-1", Cohorts: experiment.Cohorts{ExpectedSplit: experiment.Split{Experiment: 0.2, Control: 0.8}},
		SLIs: []experiment.SLI{
			{Name: "good", Type: experiment.SLIGoodEvents, Filter: experiment.Filter{Attributes: map[string]string{"region": "eu"}},
				Good:      &experiment.GoodCriteria{Status: telemetry.StatusOK, MaxDuration: 300 * time.Millisecond, HTTPStatus: experiment.HTTPStatusSet{{Min: 200, Max: 299}}},
				Tolerance: experiment.Tolerance{Absolute: &abs, Direction: experiment.HigherIsBetter}},
			{Name: "orders", Type: experiment.SLIThroughput, Filter: experiment.Filter{Attributes: map[string]string{"region": "eu"}},
				Tolerance: experiment.Tolerance{Relative: &abs, Direction: experiment.HigherIsBetter}},
		},
	}
	src := &fakeSource{raw: map[telemetry.Cohort]RawCounts{
		telemetry.CohortControl:    {Events: 8000, Errors: 40, Good: 7900},
		telemetry.CohortExperiment: {Events: 1500, Errors: 300, Good: 1100},
	}}
	src.rows = append(src.rows, spread(telemetry.CohortControl, t0, 10*time.Minute, 8000, 40)...)
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, 2000, 300)...)
	res, err := Compare(context.Background(), src, Request{ExperimentID: "exp-1", Experiment: e, Window: window()}, Settings{}, t0.Add(time.Hour))
	require.NoError(t, err)
	mustJSON(t, res)
	good, thr := res.Metrics[0], res.Metrics[1]
	assert.InDelta(t, 7900.0/8000, good.Control.Value, 1e-12)
	assert.InDelta(t, 1100.0/1500, good.Experiment.Value, 1e-12)
	assert.Equal(t, int64(400), *good.Experiment.Bad)
	assert.Equal(t, stats.VerdictFail, good.Verdict)
	// 8000 control at 80% and 1500 experiment at 20% in 600 s: 16.7/s vs
	// 12.5/s normalised; the experiment completes 25% fewer.
	assert.InDelta(t, 8000.0/600/0.8, thr.Control.Value, 1e-9)
	assert.InDelta(t, 1500.0/600/0.2, thr.Experiment.Value, 1e-9)
	assert.InDelta(t, -0.25, *thr.Effect.Relative, 1e-9)
	assert.Equal(t, TestBinomial, thr.Test)
	assert.Equal(t, stats.VerdictFail, thr.Verdict)
	assert.Less(t, thr.CI.Upper, 0.0)
}

func TestSampleRate(t *testing.T) {
	r := sampleRate(5000, 2_000_000, 10000)
	assert.Equal(t, SampleRate{SecondPPM: 1_000_000, ControlPPM: 1_000_000, ExperimentPPM: 5000}, r, "control is kept whole, so every second is")
	r = sampleRate(100_000, 2_000_000, 10000)
	assert.Equal(t, SampleRate{SecondPPM: 200_000, ControlPPM: 500_000, ExperimentPPM: 25_000}, r)
	assert.Equal(t, SampleRate{SecondPPM: 1_000_000, ControlPPM: 1_000_000, ExperimentPPM: 1_000_000}, sampleRate(10, 0, 10000))
}

func TestMonitorCachesSettledBucketsAndIsAnytimeValid(t *testing.T) {
	src := &fakeSource{}
	src.rows = append(src.rows, spread(telemetry.CohortControl, t0, 10*time.Minute, 10000, 100)...)
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, 10000, 200)...)
	src.sample = Sample{Control: []float64{0.1}, Experiment: []float64{0.1}}
	e := spec(0.5)
	e.StopConditions[0].Threshold = 0.015
	e.StopConditions[0].For = 20 * time.Second
	small := 0.001
	e.SLIs[0].Tolerance.Absolute = &small
	mon, err := NewMonitor(src, Request{ExperimentID: "exp-1", Experiment: e, Window: Window{Since: t0}}, Settings{})
	require.NoError(t, err)

	var lastP float64 = 1
	var firstFail time.Duration
	for tick := 1; tick <= 120; tick++ {
		now := t0.Add(time.Duration(tick) * 5 * time.Second)
		res, err := mon.Look(context.Background(), now)
		require.NoError(t, err)
		mustJSON(t, res)
		m := res.Metrics[0]
		assert.Equal(t, TestMSPRT, m.Test)
		assert.LessOrEqual(t, m.PValue, lastP, "the always-valid p-value never rises")
		lastP = m.PValue
		if m.Verdict == stats.VerdictFail && firstFail == 0 {
			firstFail = now.Sub(t0)
		}
		if tick == 3 {
			assert.False(t, res.StopConditions[0].Holds, "crossed only now; must hold 20s")
		}
		if tick == 8 {
			assert.True(t, res.StopConditions[0].Holds, "2%% > 1.5%% for 20 s")
			assert.Equal(t, "sequential_dirichlet", res.SRM.Test)
		}
	}
	assert.Positive(t, firstFail, "a doubled error rate at 1000/min fails within 10 minutes")
	// After the first look, only buckets from the settle cutoff on are
	// re-read (plus the growing baseline).
	last := src.windows[len(src.windows)-1]
	assert.False(t, last[0].Before(t0.Add(10*time.Minute-DefaultSettleAfter-bucketWidth)), "last read from %s", last[0])
}

func TestMonitorProvisionalBelowMinimumSample(t *testing.T) {
	src := &fakeSource{}
	src.rows = append(src.rows, spread(telemetry.CohortControl, t0, time.Minute, 60, 0)...)
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, time.Minute, 60, 3)...)
	mon, err := NewMonitor(src, Request{ExperimentID: "exp-1", Window: Window{Since: t0}}, Settings{})
	require.NoError(t, err)
	res, err := mon.Look(context.Background(), t0.Add(time.Minute))
	require.NoError(t, err)
	mustJSON(t, res)
	assert.True(t, res.Provisional)
	m := res.Metrics[0]
	assert.True(t, m.Provisional)
	assert.Equal(t, stats.VerdictInsufficientData, m.Verdict)
	assert.Contains(t, m.Note, "provisional")
	var buf bytes.Buffer
	require.NoError(t, WriteTable(&buf, res))
	assert.Contains(t, buf.String(), "insufficient_data*")
}

func TestSanitizeRemovesNonFinite(t *testing.T) {
	inf := math.Inf(1)
	r := &Result{Metrics: []Metric{{Control: CohortValue{Value: math.NaN()}, Effect: Effect{Absolute: inf, Relative: &inf}, CI: Interval{Lower: math.NaN(), Upper: 1, LowerBounded: true, UpperBounded: true}}}}
	r.Sanitize()
	mustJSON(t, r)
	assert.False(t, r.Metrics[0].CI.LowerBounded)
	assert.Nil(t, r.Metrics[0].Effect.Relative)
}

// A fault that stops the experiment cohort's requests from reaching
// downstream services leaves it with fewer events per user. The split is
// judged on the SLI's entry-point events, so the fault itself is not
// mistaken for a broken assignment; a real imbalance there still is.
func TestSRMCountsEntryPointEventsNotDownstreamOnes(t *testing.T) {
	downstream := func(rows []BucketRow) []BucketRow {
		for i := range rows {
			rows[i].Service, rows[i].Operation = "payment", "POST /pay"
		}
		return rows
	}
	src := &fakeSource{}
	// Entry point at the planned 50/50; downstream the experiment cohort
	// produces a fifth of control's events.
	src.rows = append(src.rows, spread(telemetry.CohortControl, t0, 10*time.Minute, 5000, 50)...)
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, 5000, 50)...)
	src.rows = append(src.rows, downstream(spread(telemetry.CohortControl, t0, 10*time.Minute, 5000, 0))...)
	src.rows = append(src.rows, downstream(spread(telemetry.CohortExperiment, t0, 10*time.Minute, 1000, 0))...)
	res, err := Compare(context.Background(), src, Request{ExperimentID: "exp-1", Experiment: spec(0.5), Window: window()}, Settings{}, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, res.SRM.Mismatch, "reason: %s", res.Reason)
	assert.Equal(t, int64(5000), res.SRM.Control)
	assert.Equal(t, int64(5000), res.SRM.Experiment)
	assert.Contains(t, res.SRM.Basis, "service checkout")
	assert.Equal(t, CohortSizes{Control: 10000, Experiment: 6000}, res.Cohorts)

	// 45/55 at the entry point is a mismatch whatever happens downstream.
	src = &fakeSource{}
	src.rows = append(src.rows, spread(telemetry.CohortControl, t0, 10*time.Minute, 4500, 45)...)
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, 5500, 55)...)
	src.rows = append(src.rows, downstream(spread(telemetry.CohortControl, t0, 10*time.Minute, 5500, 0))...)
	src.rows = append(src.rows, downstream(spread(telemetry.CohortExperiment, t0, 10*time.Minute, 4500, 0))...)
	res, err = Compare(context.Background(), src, Request{ExperimentID: "exp-1", Experiment: spec(0.5), Window: window()}, Settings{}, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, res.SRM.Mismatch)
	assert.Equal(t, stats.VerdictUntrusted, res.Verdict)
}

// A quantile SLI is decided by its interval: where that interval gives no
// p-value below 0.45 the table prints "-", not a meaningless p=1.
func TestPTextForQuantileAndRatio(t *testing.T) {
	assert.Equal(t, "-", PText(&Metric{Test: TestQuantileCI, AdjustedPValue: 1}))
	assert.Equal(t, "0.003", PText(&Metric{Test: TestQuantileCI, AdjustedPValue: 0.003}))
	assert.Equal(t, "1", PText(&Metric{Test: TestFisherExact, AdjustedPValue: 1}))
	assert.Equal(t, "-", PText(&Metric{Test: TestNone, AdjustedPValue: 1}))
	res := &Result{ExperimentID: "e", Unit: "subject", Metrics: []Metric{
		{Name: "p99", Unit: "s", Test: TestQuantileCI, AdjustedPValue: 1, Verdict: "pass"},
		{Name: "errors", Unit: "ratio", Test: TestDeltaMethod, AdjustedPValue: 0.2, Verdict: "pass",
			Control: CohortValue{N: 500, Units: 100}, Experiment: CohortValue{N: 50, Units: 10}},
	}}
	var buf bytes.Buffer
	require.NoError(t, WriteTable(&buf, res))
	var p99, errs string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(l, "p99 ") {
			p99 = l
		}
		if strings.HasPrefix(l, "errors ") {
			errs = l
		}
	}
	assert.Regexp(t, `quantile_interval\s+-\s`, p99, buf.String())
	assert.Contains(t, errs, "n=500/100u")
	assert.Contains(t, buf.String(), "unit     subject")
}

// The baseline grows backwards a few seconds per look; a monitor reads it
// a minute ahead, so looks every 5 s read it about once a minute instead
// of every look, and each look's blast radius is still the one a fresh
// monitor computes from the exact baseline window.
func TestMonitorReadsTheBaselineAhead(t *testing.T) {
	src := &fakeSource{}
	for _, c := range []telemetry.Cohort{telemetry.CohortNone, telemetry.CohortControl} {
		src.rows = append(src.rows, spread(c, t0.Add(-20*time.Minute), 30*time.Minute, 30000, 300)...)
	}
	src.rows = append(src.rows, spread(telemetry.CohortExperiment, t0, 10*time.Minute, 1000, 30)...)
	req := Request{ExperimentID: "exp-1", Window: Window{Since: t0}}
	mon, err := NewMonitor(src, req, Settings{})
	require.NoError(t, err)
	looks := 0
	for at := 2 * time.Minute; at <= 5*time.Minute; at += 5 * time.Second {
		res, err := mon.Look(context.Background(), t0.Add(at))
		require.NoError(t, err)
		looks++
		fresh, err := NewMonitor(&fakeSource{rows: src.rows}, req, Settings{})
		require.NoError(t, err)
		want, err := fresh.Look(context.Background(), t0.Add(at))
		require.NoError(t, err)
		require.Positive(t, want.BlastRadius.Before.Events)
		assert.Equal(t, want.BlastRadius, res.BlastRadius, "at %s", at)
	}
	baseline := 0
	for _, w := range src.windows {
		if !w[1].After(t0) {
			baseline++
		}
	}
	assert.LessOrEqual(t, baseline, 5, "baseline reads in %d looks over 3 minutes", looks)
}
