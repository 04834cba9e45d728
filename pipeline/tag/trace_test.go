package tag

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// withTrace sets the span's trace id to the n-th test trace.
func withTrace(n byte) func(ptrace.Span) {
	return func(sp ptrace.Span) {
		tid := traceID
		tid[15] = n
		sp.SetTraceID(tid)
	}
}

var flagOnEvent = evalEvent("feature_flag.evaluation", "feature_flag.key", "payment-chaos", "feature_flag.result.variant", "on")

func source(e *telemetry.Event) string { v, _ := e.Attr(telemetry.AttrCohortSource); return v }

// Every span of a trace gets the cohort the flag evaluation decided, in
// any order within a request, across requests and services once the
// decision was seen; those tagged by trace say so.
func TestTraceCohorts(t *testing.T) {
	tc := NewTraceCohorts(0, 0, nil)
	tg := newTagger(t, Config{Traces: tc})

	// One request: the child (payment, no flag) comes before its root.
	evs, err := tg.Traces(traces(map[string]any{"service.name": "checkout"},
		both(withTrace(1)), both(withTrace(1), flagOnEvent), both(withTrace(2))))
	require.NoError(t, err)
	require.Len(t, evs, 3)
	assert.Equal(t, telemetry.CohortExperiment, evs[0].Cohort)
	assert.Equal(t, "checkout-payment-500", evs[0].ExperimentID)
	assert.Equal(t, "trace", source(&evs[0]))
	assert.Equal(t, telemetry.CohortExperiment, evs[1].Cohort)
	assert.Empty(t, source(&evs[1]), "the deciding span is tagged directly")
	assert.Equal(t, telemetry.CohortNone, evs[2].Cohort, "another trace stays untagged")

	// A later request from a downstream service, no flag, no baggage.
	evs, err = tg.Traces(traces(map[string]any{"service.name": "payment"}, withTrace(1)))
	require.NoError(t, err)
	assert.Equal(t, telemetry.CohortExperiment, evs[0].Cohort)
	assert.Equal(t, "trace", source(&evs[0]))

	// An explicit tag on the record is never replaced by the trace's.
	evs, err = tg.Traces(traces(map[string]any{"service.name": "payment"},
		both(withTrace(1), attrs("chaos.experiment.id", "checkout-payment-500", "chaos.experiment.cohort", "control"))))
	require.NoError(t, err)
	assert.Equal(t, telemetry.CohortControl, evs[0].Cohort)
	assert.Empty(t, source(&evs[0]))

	// Without the cache nothing is tagged by trace.
	plain := newTagger(t, Config{})
	evs, err = plain.Traces(traces(map[string]any{"service.name": "payment"}, withTrace(1)))
	require.NoError(t, err)
	assert.Equal(t, telemetry.CohortNone, evs[0].Cohort)
}

// Memory is bounded: at most two generations of Size traces; a decision
// outlives one rotation and is forgotten after two.
func TestTraceCohortsBounded(t *testing.T) {
	clock := time.Unix(1000, 0)
	tc := NewTraceCohorts(16*4, time.Minute, func() time.Time { return clock })
	for i := 0; i < 10_000; i++ {
		var k traceKey
		k[0], k[1], k[15] = byte(i), byte(i>>8), byte(i)
		tc.remember(k, traceTag{experimentID: "x", cohort: telemetry.CohortControl}, clock)
	}
	assert.LessOrEqual(t, tc.Len(), 2*16*4)
	var k traceKey
	k[15] = 0xee
	tc.remember(k, traceTag{experimentID: "x", cohort: telemetry.CohortExperiment}, clock)
	clock = clock.Add(61 * time.Second)
	var other traceKey
	other[15] = 0xee
	other[0] = 1
	tc.remember(other, traceTag{experimentID: "x"}, clock) // rotates the shard
	_, ok := tc.lookup(k)
	assert.True(t, ok, "remembered through one rotation")
	clock = clock.Add(61 * time.Second)
	other[0] = 2
	tc.remember(other, traceTag{experimentID: "x"}, clock)
	_, ok = tc.lookup(k)
	assert.False(t, ok, "forgotten after two")
}

// benchTraceRequest is a request of n spans in n/8 traces; the first span
// of each trace carries the flag evaluation.
func benchTraceRequest(n int) ptrace.Traces {
	fs := make([]func(ptrace.Span), n)
	for i := range fs {
		i := i
		set := func(sp ptrace.Span) {
			var tid pcommon.TraceID
			copy(tid[:], fmt.Sprintf("%016d", i/8))
			sp.SetTraceID(tid)
			sp.Attributes().PutStr("http.route", "/checkout/{id}")
			sp.Attributes().PutInt("http.response.status_code", 200)
			sp.Attributes().PutStr("server.address", "checkout.internal")
		}
		if i%8 == 0 {
			fs[i] = both(set, flagOnEvent)
		} else {
			fs[i] = set
		}
	}
	return traces(map[string]any{"service.name": "checkout", "service.version": "1.4.2", "host.name": "node-7"}, fs...)
}

// BenchmarkTraceTagging measures the tag path on a request of 512 spans in
// 64 traces (the first span of each carries the flag evaluation, the other
// seven are tagged by their trace), with and without trace-level tagging:
// process CPU per span (ns/event), less disturbed by other load than wall
// time, and allocations.
func BenchmarkTraceTagging(b *testing.B) {
	td := benchTraceRequest(512)
	for _, on := range []bool{false, true} {
		name := "trace_cache=off"
		cfg := Config{}
		if on {
			name = "trace_cache=on"
			cfg.Traces = NewTraceCohorts(0, 0, nil)
		}
		b.Run(name, func(b *testing.B) {
			tg := newTagger(b, cfg)
			b.ReportAllocs()
			b.ResetTimer()
			m := stagecpu.Start()
			for i := 0; i < b.N; i++ {
				if _, err := tg.Traces(td); err != nil {
					b.Fatal(err)
				}
			}
			m.Report(b, b.N*td.SpanCount())
		})
	}
}

// BenchmarkTraceTaggingInterleaved is BenchmarkTraceTagging's comparison
// within one loop: every iteration tags the same request once without and
// once with the trace cache, alternating which goes first, and charges
// each its own process CPU time, so a slow second of a shared machine
// hits both alike. It reports CPU ns per span of each and their ratio
// (on/off); run it with -count=6 and take the median of the ratios.
func BenchmarkTraceTaggingInterleaved(b *testing.B) {
	td := benchTraceRequest(512)
	off := newTagger(b, Config{})
	on := newTagger(b, Config{Traces: NewTraceCohorts(0, 0, nil)})
	var cpuOff, cpuOn time.Duration
	run := func(tg *Tagger, sum *time.Duration) {
		t0 := stagecpu.ProcessCPU()
		if _, err := tg.Traces(td); err != nil {
			b.Fatal(err)
		}
		*sum += stagecpu.ProcessCPU() - t0
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			run(off, &cpuOff)
			run(on, &cpuOn)
		} else {
			run(on, &cpuOn)
			run(off, &cpuOff)
		}
		i++
	}
	spans := float64(i * td.SpanCount())
	b.ReportMetric(float64(cpuOff.Nanoseconds())/spans, "off-ns/span")
	b.ReportMetric(float64(cpuOn.Nanoseconds())/spans, "on-ns/span")
	if cpuOff > 0 {
		b.ReportMetric(float64(cpuOn)/float64(cpuOff), "on/off")
	}
}

// The fixed tables keep every decision's texts exactly, across rotations
// (a cleared generation's arena is reused) and with the first decision
// winning; a generation whose texts fill its arena rotates early.
func TestTraceCohortsTexts(t *testing.T) {
	clock := time.Unix(1000, 0)
	tc := NewTraceCohorts(16*64, time.Hour, func() time.Time { return clock })
	key := func(i int) traceKey {
		var k traceKey
		k[0], k[1], k[2], k[15] = byte(i), byte(i>>8), byte(i>>16), byte(i*7)
		return k
	}
	want := func(i int) traceTag {
		c := telemetry.CohortControl
		if i%3 == 0 {
			c = telemetry.CohortExperiment
		}
		subj := ""
		if i%5 != 0 {
			subj = fmt.Sprintf("user-%d", i)
		}
		return traceTag{experimentID: fmt.Sprintf("exp-%d", i%4), cohort: c, subject: subj}
	}
	for i := 0; i < 5000; i++ {
		tc.remember(key(i), want(i), clock)
		// A later, different decision for a trace already known is ignored.
		tc.remember(key(i), traceTag{experimentID: "other", cohort: telemetry.CohortControl, subject: "x"}, clock)
		if i >= 50 {
			j := i - 50 // still in one of the two generations
			got, ok := tc.lookup(key(j))
			require.True(t, ok, "trace %d", j)
			require.Equal(t, want(j), got, "trace %d", j)
		}
	}
	require.LessOrEqual(t, tc.Len(), 2*16*64)

	// Long subjects: a generation holds at most traceTextPerEntry bytes
	// per entry on average, so it rotates before its table is full.
	tc = NewTraceCohorts(16*8, time.Hour, func() time.Time { return clock })
	long := strings.Repeat("s", 1000)
	var k traceKey
	for i := 0; i < 8; i++ {
		k[0] = byte(i)
		tc.remember(k, traceTag{experimentID: "x", cohort: telemetry.CohortControl, subject: long}, clock)
	}
	sh := &tc.shards[0]
	assert.LessOrEqual(t, len(sh.cur.text), 8*traceTextPerEntry)
	assert.Less(t, sh.cur.n, 8, "rotated on text, not on count")
	got, ok := tc.lookup(k)
	require.True(t, ok)
	assert.Equal(t, long, got.subject)
}

// Trace ids that are not 32 hex digits are never remembered.
func TestParseTraceKey(t *testing.T) {
	k, ok := parseTraceKey("0123456789abcdefABCDEF0123456789")
	require.True(t, ok)
	assert.Equal(t, traceKey{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89}, k)
	for _, bad := range []string{"", "0123", "0123456789abcdefABCDEF012345678g", "0123456789abcdefABCDEF01234567 9", "0123456789abcdefABCDEF0123456789a"} {
		_, ok := parseTraceKey(bad)
		assert.False(t, ok, bad)
	}
}

// A generation's probe reads a slot only where its ctrl byte matches, and
// then still compares the key: keys of the same hash (the same start slot
// and the same seven ctrl bits) each find their own slot, a key whose
// ctrl bits differ is not found, the probe wraps at the table's end, and
// a cleared generation finds nothing.
func TestTraceGenFindComparesKeys(t *testing.T) {
	g := &traceGen{slots: make([]traceSlot, 8), ctrl: make([]uint8, 8)}
	key := func(n byte) traceKey { var k traceKey; k[0] = n; return k }
	const h = 0xAB00_0000_0000_0007 // start slot 7, the last: probes wrap to 0
	for n := byte(1); n <= 3; n++ {
		i, ok := g.find(key(n), h)
		require.False(t, ok, "key %d before it is put", n)
		require.Equal(t, (7+int(n)-1)%8, i, "key %d goes to the next free slot", n)
		g.put(i, key(n), h, traceTag{experimentID: "exp", cohort: telemetry.CohortExperiment, subject: fmt.Sprint("u", n)})
	}
	for n := byte(1); n <= 3; n++ {
		i, ok := g.find(key(n), h)
		require.True(t, ok, "key %d", n)
		require.Equal(t, (7+int(n)-1)%8, i, "key %d", n)
		var s traceShard
		assert.Equal(t, fmt.Sprint("u", n), s.tag(g, i).subject, "key %d reads its own decision", n)
	}
	i, ok := g.find(key(4), h)
	assert.False(t, ok, "a key of the same hash that was never put")
	assert.Equal(t, 2, i)
	_, ok = g.find(key(1), h^1<<60)
	assert.False(t, ok, "the same key under other ctrl bits is another key's probe")
	g.clear()
	for n := byte(1); n <= 3; n++ {
		_, ok := g.find(key(n), h)
		assert.False(t, ok, "key %d after clear", n)
	}
}

// JSON events record their traces' decisions as each is decoded (note),
// not in a pass of their own after the request: the events, the
// rejections and what later requests are tagged with stay exactly those
// of the two passes over the decoded request (applyTraces without a
// state), on random requests mixing tagged, untagged and refused records
// of a few traces (refused before and after they were tagged), with a
// cache small enough to rotate.
func TestJSONTraceStepAsTwoPasses(t *testing.T) {
	clock := func() time.Time { return time.Unix(5000, 0) }
	inline := newTagger(t, Config{Traces: NewTraceCohorts(16*2, time.Hour, clock), MaxEventBytes: 4096})
	plain := newTagger(t, Config{MaxEventBytes: 4096})
	twoPass := NewTraceCohorts(16*2, time.Hour, clock)
	r := rand.New(rand.NewPCG(5, 6))
	traceIDs := make([]string, 40)
	for i := range traceIDs {
		traceIDs[i] = fmt.Sprintf("%016x%016x", r.Uint64(), uint64(i))
		if i%7 == 0 {
			traceIDs[i] = strings.ToUpper(traceIDs[i])
		}
	}
	tagged := 0
	for req := range 400 {
		var lines []string
		for range 1 + r.IntN(20) {
			tid := traceIDs[r.IntN(len(traceIDs))]
			name := `"name":"n",`
			switch r.IntN(10) {
			case 0:
				name = "" // refused before it is tagged
			case 1:
				name = `"name":"n","body":"` + strings.Repeat("b", 5000) + `",` // refused once tagged: too large
			}
			rec := `{"service":"s",` + name + `"trace_id":"` + tid + `"`
			switch r.IntN(5) {
			case 0, 1:
				rec += fmt.Sprintf(`,"experiment_id":"exp-%d","cohort":"%s"`, r.IntN(3), []string{"control", "experiment"}[r.IntN(2)])
				if r.IntN(2) == 0 {
					rec += fmt.Sprintf(`,"subject_id":"u%d"`, r.IntN(9))
				}
			case 2:
				rec += fmt.Sprintf(`,"attributes":{"chaos.experiment.id":"exp-%d","chaos.experiment.cohort":"control"}`, r.IntN(3))
			case 3:
				rec = `{"service":"s",` + name + `"span_id":"0123456789abcdef"` // no trace
			}
			lines = append(lines, rec+"}")
		}
		body := strings.Join(lines, "\n")
		if req%5 == 0 {
			body = "[" + strings.Join(lines, ",") + "]"
		}
		got, gotErr := inline.JSONEvents([]byte(body))
		want, wantErr := plain.JSONEvents([]byte(body))
		twoPass.applyTraces(want, nil)
		require.Equal(t, wantErr, gotErr, body)
		require.Equal(t, want, got, body)
		for _, e := range got {
			if source(&e) == "trace" {
				tagged++
			}
		}
	}
	assert.Greater(t, tagged, 100, "events tagged by their trace")
	assert.Equal(t, twoPass.Len(), inline.traces.Len())

	// Within one request the first decision of a trace wins, wherever
	// its untagged events are.
	tid := "00112233445566778899aabbccddeeff"
	evs := jsonEvents(t, newTagger(t, Config{Traces: NewTraceCohorts(0, 0, nil)}),
		`{"service":"s","name":"n","trace_id":"`+tid+`"}
{"service":"s","name":"n","trace_id":"`+tid+`","experiment_id":"first","cohort":"control"}
{"service":"s","name":"n","trace_id":"`+strings.Replace(tid, "0", "1", 1)+`","experiment_id":"other","cohort":"control"}
{"service":"s","name":"n","trace_id":"`+tid+`","experiment_id":"second","cohort":"experiment"}
{"service":"s","name":"n","trace_id":"`+tid+`"}`)
	require.Len(t, evs, 5)
	for _, i := range []int{0, 4} {
		assert.Equal(t, "first", evs[i].ExperimentID, i)
		assert.Equal(t, telemetry.CohortControl, evs[i].Cohort, i)
	}
}
