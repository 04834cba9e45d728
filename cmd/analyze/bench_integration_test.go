//go:build integration

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/fixture"
	"github.com/steadystate/steadystate/pipeline/export"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/report"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// bigRun stores a one-hour run with an hour before it: n events of the
// checkout page (experiment 5% of traffic failing a fifth of the time,
// control 1%, untagged traffic), in batches, without holding them all.
func bigRun(ctx context.Context, b *testing.B, db *testDB, n int) fixture.Options {
	b.Helper()
	fx := fixture.DefaultOptions()
	fx.ExperimentID = "bench-exp"
	fx.Run, fx.Before = time.Hour, time.Hour
	r := rand.New(rand.NewPCG(1, 2))
	start := fx.Start.Add(-fx.Before)
	span := fx.Run + fx.Before
	batch := make([]telemetry.Event, 0, 100_000)
	for i := 0; i < n; i++ {
		t := start.Add(time.Duration(int64(span) / int64(n) * int64(i)))
		e := telemetry.Event{
			ID: fmt.Sprintf("b-%08d", i), TimeNs: t.UnixNano(), IngestNs: t.UnixNano(), Kind: telemetry.KindSpan,
			Service: "checkout", Name: "GET /checkout", TraceID: fmt.Sprintf("%032x", r.Uint64()), Status: telemetry.StatusOK, HTTPStatus: 200,
			DurationNs: uint64(40e6 * (0.5 + r.ExpFloat64())), AttrKeys: []string{"region"}, AttrValues: []string{[]string{"eu", "us"}[i%2]},
		}
		errRate := 0.01
		if !t.Before(fx.Start) {
			e.ExperimentID = fx.ExperimentID
			switch {
			case i%20 == 0:
				e.Cohort, errRate = telemetry.CohortExperiment, 0.2
			case i%3 == 0:
				e.ExperimentID = ""
			default:
				e.Cohort = telemetry.CohortControl
			}
		}
		if r.Float64() < errRate {
			e.Status, e.HTTPStatus, e.IsError = telemetry.StatusError, 500, true
		}
		batch = append(batch, e)
		if len(batch) == cap(batch) || i == n-1 {
			db.insert(ctx, b, batch)
			batch = batch[:0]
		}
	}
	db.run(ctx, b, fx.ExperimentID, "r1", fx.Start, fx.Start.Add(fx.Run))
	return fx
}

// BenchmarkReportOneMillionEvents prints how long analyze report takes
// for a run of 1M stored events (gathering from ClickHouse, analysis,
// rendering md/html/json and the PNG charts):
//
//	go test -tags integration -run '^$' -bench ReportOneMillion -benchtime 1x ./cmd/analyze
func BenchmarkReportOneMillionEvents(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	db := newTestDB(b)
	n := 1_000_000
	if v := os.Getenv("STEADYSTATE_BENCH_EVENTS"); v != "" {
		_, _ = fmt.Sscan(v, &n)
	}
	t0 := time.Now()
	fx := bigRun(ctx, b, db, n)
	b.Logf("stored %d events in %s", n, time.Since(t0).Round(time.Millisecond))
	spec := filepath.Join(b.TempDir(), "bench.yaml")
	if err := os.WriteFile(spec, []byte(`experiments:
  - id: bench-exp
    title: Benchmark run
    hypothesis: The page stays within tolerance.
    owner: team-bench
    cohorts: {expected_split: {experiment: 0.05, control: 0.95}}
    slis:
      - {name: checkout_errors, type: error_rate, filter: {service: checkout, operation: "GET /checkout"}, objective: 0.999, tolerance: {absolute: 0.01}}
    expected_alerts:
      - {name: CheckoutErrorRateHigh, within: 5m, severity: page}
`), 0o600); err != nil {
		b.Fatal(err)
	}
	f, _ := db.factory(filepath.Dir(spec))
	out := b.TempDir()
	now := fx.Start.Add(fx.Run + time.Minute)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		target := runRead{f: f, Experiment: fx.ExperimentID, Now: func() time.Time { return now }}
		in, err := target.loadReport(ctx, false)
		if err != nil {
			b.Fatal(err)
		}
		gathered := time.Since(start)
		if _, err := report.Build(in).WriteDir(out); err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		b.ReportMetric(total.Seconds(), "s/report")
		fmt.Printf("report of a run of %d events: %s (reading ClickHouse %s, analysis and rendering %s)\n",
			n, total.Round(time.Millisecond), gathered.Round(time.Millisecond), (total - gathered).Round(time.Millisecond))

		// The export of the same run: time and the peak Go heap while it
		// streams (bounded by one batch, not by the run).
		runtime.GC()
		var peak atomic.Uint64
		done := make(chan struct{})
		go func() {
			// Live heap after each collection: what the export holds on to,
			// not the garbage waiting for the next collection.
			sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			for {
				metrics.Read(sample)
				if v := sample[0].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		start = time.Now()
		res, err := exportEvents(ctx, query.New(db.c), &exportOptions{f: f, Now: func() time.Time { return now },
			Request: export.Request{ExperimentID: fx.ExperimentID, Format: export.Parquet, Path: filepath.Join(out, "run.parquet"), BatchRows: 65536}})
		close(done)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := os.Stat(res.Path)
		fmt.Printf("export of %d events to Parquet: %s, %.1f MB file, peak live Go heap %.0f MB\n",
			res.Rows, time.Since(start).Round(time.Millisecond), float64(st.Size())/1e6, float64(peak.Load())/1e6)
	}
}
