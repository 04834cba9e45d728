package tag

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
)

// stageBody is a request of `make bench-ingest`'s generator: n NDJSON
// events with an explicit experiment and cohort and two attributes.
func stageBody(n int) []byte {
	var b strings.Builder
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < n; i++ {
		cohort := "control"
		if i%20 == 0 {
			cohort = "experiment"
		}
		fmt.Fprintf(&b, `{"event_id":"tput-%09d","time":%d,"service":"checkout","name":"GET /checkout","experiment_id":"tput","cohort":"%s","http_status":200,"duration_ms":%d.5,"trace_id":"%032x","attributes":{"region":"eu","tenant":"t%d"}}`+"\n",
			i, t0+int64(i), cohort, i%700, i, i%50)
	}
	return []byte(b.String())
}

// BenchmarkStageDecodeTag is ingest serve's decode and tagging of a JSON
// events request (1000 events), as `ingest serve` runs it (no experiment
// definitions; the body handed over, the events handed back once
// published; the trace step is BenchmarkStageTraceCache): one op is one
// request.
func BenchmarkStageDecodeTag(b *testing.B) {
	tg, err := New(Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := stageBody(1000)
	m := stagecpu.Start()
	n := 0
	for b.Loop() {
		events, err := tg.JSONEventsOwned(body) // never written to
		if err != nil || len(events) != 1000 {
			b.Fatal(err, len(events))
		}
		n += len(events)
		tg.Recycle(events)
	}
	m.Report(b, n)
}

// BenchmarkStageTraceCache is ingest serve's trace step over a request's
// events (1000, each of its own trace and tagged, as the bench generator
// sends them): every event records its trace's decision, as `ingest serve`
// does with its default trace cache. Every op brings 1000 new traces, so
// the cache rotates as it does under a long run.
func BenchmarkStageTraceCache(b *testing.B) {
	tg, err := New(Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	events, err := tg.JSONEvents(stageBody(1000))
	if err != nil {
		b.Fatal(err)
	}
	const distinct = 300_000
	ids := make([]string, distinct)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15)
	}
	tc := NewTraceCohorts(0, 0, nil)
	m := stagecpu.Start()
	n, next := 0, 0
	for b.Loop() {
		for i := range events {
			events[i].TraceID = ids[next]
			next = (next + 1) % distinct
		}
		tc.applyTraces(events, nil)
		n += len(events)
	}
	m.Report(b, n)
}

// BenchmarkJSONSmallRequest is decode and tag of the latency run's small
// requests (100 events): what a request costs beyond its events, in
// bytes allocated per op above all.
func BenchmarkJSONSmallRequest(b *testing.B) {
	tg, err := New(Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := stageBody(100)
	b.ReportAllocs()
	for b.Loop() {
		events, err := tg.JSONEventsOwned(body)
		if err != nil || len(events) != 100 {
			b.Fatal(err, len(events))
		}
		tg.Recycle(events)
	}
}
