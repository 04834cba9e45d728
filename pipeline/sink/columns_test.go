package sink

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Every column gets its own field, in telemetry.Columns order, for each
// row of the range, also after the batch was recycled and with the insert
// columns kept from the insert before.
func TestAppendColumnsMapsEveryField(t *testing.T) {
	s := &Sink{cfg: NewDefaultConfig(), m: newMetrics(nil), seen: newRecentIDs(1 << 10)}
	b := newBatch()
	var cols insertColumns
	for round := 0; round < 2; round++ {
		e := telemetry.Event{
			ID: fmt.Sprintf("id-%d", round), TimeNs: 1_700_000_000_123_456_789, IngestNs: 1_700_000_001_000_000_000, Kind: telemetry.KindLog,
			Service: "svc", Name: "op", TraceID: "t", SpanID: "s", ParentSpanID: "p", Flow: "f", FlowKey: "fk", Stage: "st",
			ExperimentID: "exp", Cohort: telemetry.CohortExperiment, Synthetic: true, Status: telemetry.StatusOK, IsError: true,
			ErrorType: "et", HTTPStatus: 503, DurationNs: 42, SubjectID: "sub", Severity: "WARN",
			AttrKeys: []string{"a", "b"}, AttrValues: []string{"1", "2"}, Body: "body",
		}
		other := telemetry.Event{ID: "other", TimeNs: e.TimeNs, IngestNs: e.IngestNs, Kind: telemetry.KindSpan}
		for i, ev := range []telemetry.Event{other, e, other} {
			require.NoError(t, s.accept(context.Background(), b, &kgo.Record{Partition: 2, Offset: int64(10 + i), Value: ev.AppendJSON(nil)}))
		}
		// The kept columns first take a larger insert, then this one in a
		// freshly prepared block: reset, refilled and handed over.
		require.NoError(t, cols.fill(newBlockAppender(t), b, 0, 3))
		ap := newBlockAppender(t)
		require.NoError(t, cols.fill(ap, b, 1, 2))
		want := map[string]any{
			"event_id": e.ID, "event_time": time.Unix(1_700_000_000, 0).UTC(), "event_time_ns": uint64(e.TimeNs),
			"ingest_time": time.Unix(1_700_000_001, 0).UTC(), "ingest_time_ns": uint64(e.IngestNs), "kind": "log",
			"service": "svc", "name": "op", "trace_id": "t", "span_id": "s", "parent_span_id": "p", "flow": "f", "flow_key": "fk",
			"stage": "st", "experiment_id": "exp", "cohort": "experiment", "synthetic": uint8(1), "status": "ok", "is_error": uint8(1),
			"error_type": "et", "http_status": uint16(503), "duration_ns": uint64(42), "subject_id": "sub", "severity": "WARN",
			"attr_keys": []string{"a", "b"}, "attr_values": []string{"1", "2"}, "res_keys": []string{}, "res_values": []string{},
			"body": "body", "kafka_partition": int32(2), "kafka_offset": int64(11),
		}
		require.Len(t, want, len(telemetry.Columns))
		got := ap.roundTrip(t)
		for i, name := range telemetry.Columns {
			col := got.Columns[i]
			require.Equal(t, name, col.Name())
			require.Equal(t, 1, col.Rows(), name)
			got := col.Row(0, false)
			if tm, ok := got.(time.Time); ok {
				got = tm.UTC()
			}
			assert.Equal(t, want[name], got, "round %d column %s", round, name)
		}
		b.reset()
	}
}

func TestRecentIDsCountsRepeatsWithinTheWindow(t *testing.T) {
	r := newRecentIDs(1000)
	for i := 0; i < 1000; i++ {
		require.False(t, r.seenOrAdd(fmt.Sprint(i)), "first sight of %d", i)
	}
	for i := 0; i < 1000; i++ {
		require.True(t, r.seenOrAdd(fmt.Sprint(i)), "repeat of %d", i)
	}
	// Two more generations push the first ids out of the window.
	for i := 1000; i < 3001; i++ {
		r.seenOrAdd(fmt.Sprint(i))
	}
	assert.False(t, r.seenOrAdd("0"), "ids older than two generations are forgotten (memory stays fixed)")
	assert.True(t, r.seenOrAdd("3000"))
}

// recentIDs answers as two plain generations of sets do: an id is seen
// when either generation holds it, and a full current generation becomes
// the previous one. Ids repeat at every distance, within a generation,
// across one and beyond two.
func TestRecentIDsAnswersAsTwoGenerations(t *testing.T) {
	const generation = 500
	r := newRecentIDs(generation)
	cur, prev := map[string]bool{}, map[string]bool{}
	model := func(id string) bool {
		if cur[id] || prev[id] {
			return true
		}
		if len(cur) >= generation {
			prev, cur = cur, map[string]bool{}
		}
		cur[id] = true
		return false
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seen, forgotten := 0, 0
	for i := range 20_000 {
		id, repeat := fmt.Sprint(i), false
		if i > 0 && rng.IntN(3) == 0 {
			id, repeat = fmt.Sprint(i-1-rng.IntN(min(i, 2_500))), true
		}
		want := model(id)
		require.Equal(t, want, r.seenOrAdd(id), "lookup %d of id %s", i, id)
		switch {
		case want:
			seen++
		case repeat:
			forgotten++
		}
	}
	// Both kinds of repeat happen: within the window and beyond it.
	require.Greater(t, seen, 1_500)
	require.Greater(t, forgotten, 1_500)
}

func BenchmarkRecentIDs(b *testing.B) {
	r := newRecentIDs(1 << 19)
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("tput-%09d", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.seenOrAdd(ids[i&(len(ids)-1)])
	}
}

// BenchmarkRecentIDsWindow looks up a million distinct ids in turn: the
// sink's case, where nearly every lookup misses the cache.
func BenchmarkRecentIDsWindow(b *testing.B) {
	r := newRecentIDs(1 << 19)
	ids := make([]string, 1<<20)
	for i := range ids {
		ids[i] = fmt.Sprintf("tput-%09d", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.seenOrAdd(ids[i&(len(ids)-1)])
	}
}

// BenchmarkCountSeenWindow is BenchmarkRecentIDsWindow a batch of 10,000
// ids at a time (countSeen), as the sink counts them.
func BenchmarkCountSeenWindow(b *testing.B) {
	r := newRecentIDs(1 << 19)
	ids := make([]string, 1<<20)
	for i := range ids {
		ids[i] = fmt.Sprintf("tput-%09d", i)
	}
	const batch = 10_000
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		lo := n % (len(ids) - batch)
		r.countSeen(batch, func(i int) string { return ids[lo+i] })
		n += batch
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/id")
}

// A batch reserved with the size of an earlier one takes the same rows
// without growing any slice.
func TestReserveTakesABatchWithoutGrowing(t *testing.T) {
	s := &Sink{cfg: NewDefaultConfig(), m: newMetrics(nil), seen: newRecentIDs(1 << 12)}
	fill := func(b *batch) {
		for i := range 500 {
			require.NoError(t, s.accept(context.Background(), b, &kgo.Record{Partition: int32(i % 3), Offset: int64(i), Value: benchWire(i)}))
		}
	}
	first := newBatch()
	fill(first)
	b := newBatch()
	b.rows.reserve(first.rows.size())
	before := b.rows.capacities()
	fill(b)
	assert.Equal(t, before, b.rows.capacities(), "no slice grew")
	assert.Equal(t, first.rows.size(), b.rows.size())
}

// The process's first batch, once it holds firstBatchSample rows, gets
// the capacity of a full batch of records like those at once: MaxRows
// rows, or fewer when MaxBytes of records is reached first.
func TestFirstBatchReservesAFullBatch(t *testing.T) {
	record := func(i int) *kgo.Record {
		e := telemetry.Event{
			ID: fmt.Sprintf("id-%07d", i), TimeNs: 1_700_000_000_000_000_000 + int64(i), Kind: telemetry.KindEvent, Service: "checkout",
			TraceID: fmt.Sprintf("%032x", i), AttrKeys: []string{"tenant"}, AttrValues: []string{fmt.Sprintf("t%03d", i%1000)},
		}
		return &kgo.Record{Partition: int32(i % 3), Offset: int64(i), Value: e.AppendJSON(nil)}
	}
	recordBytes := len(record(0).Value)
	for _, tc := range []struct {
		name     string
		maxBytes int
		rows     int // what a full batch holds
	}{
		{"by rows", 1 << 30, 5_000},
		{"by bytes", 3_000 * recordBytes, 3_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			cfg.MaxRows, cfg.MaxBytes = 5_000, tc.maxBytes
			s := &Sink{cfg: cfg, m: newMetrics(nil), seen: newRecentIDs(1 << 12)}
			b := newBatch()
			var sampled []int
			for i := range tc.rows {
				require.NoError(t, s.accept(context.Background(), b, record(i)))
				if i+1 == firstBatchSample {
					sampled = b.rows.capacities()
				}
			}
			assert.Equal(t, sampled, b.rows.capacities(), "no slice grew after the sample")
			assert.LessOrEqual(t, cap(b.rows.offsets), tc.rows+tc.rows/20, "no more capacity than a full batch")
		})
	}
}

// capacities are the capacities of every slice of r, in a fixed order.
func (r *rows) capacities() []int {
	var out []int
	for i := range r.strs {
		out = append(out, cap(r.strs[i]), cap(r.bufs[i]))
	}
	for i := range r.flat {
		out = append(out, cap(r.flat[i]), cap(r.flatBuf[i]), cap(r.ends[i]))
	}
	out = append(out, cap(r.ns[0]), cap(r.ns[1]), cap(r.u8[0]), cap(r.u8[1]), cap(r.enums[0]), cap(r.enums[1]), cap(r.enums[2]))
	return append(out, cap(r.dur), cap(r.http), cap(r.parts), cap(r.offsets), cap(r.values))
}

// The insert hands the batch's string bytes to the driver's String columns
// as they are: this driver version keeps its values where setColStr
// expects them, and a filled column shares the batch's buffer.
func TestStringColumnsShareTheBatchBytes(t *testing.T) {
	require.NotEqual(t, ^uintptr(0), colStrOffset, "clickhouse-go's String no longer keeps a proto.ColStr in field col")
	s := &Sink{cfg: NewDefaultConfig(), m: newMetrics(nil), seen: newRecentIDs(1 << 10)}
	b := newBatch()
	e := telemetry.Event{ID: "id-1", TimeNs: 1_700_000_000_000_000_000, Kind: telemetry.KindLog, Service: "svc", AttrKeys: []string{"k"}, AttrValues: []string{"v"}}
	require.NoError(t, s.accept(context.Background(), b, &kgo.Record{Value: e.AppendJSON(nil)}))
	var cols insertColumns
	ap := newBlockAppender(t)
	require.NoError(t, cols.fill(ap, b, 0, 1))
	cs := colStr(ap.block.Columns[telemetry.ColService])
	require.NotNil(t, cs)
	require.Equal(t, "svc", string(cs.Buf[cs.Pos[0].Start:cs.Pos[0].End]))
	assert.Same(t, &b.rows.bufs[1][0], &cs.Buf[0], "the service column reads the batch's buffer")
}

// countSeen gives the count that seenOrAdd of the same ids in turn gives,
// call after call, and leaves the same ids remembered: chunks of every
// length, repeats within a chunk and across chunks, and generations so
// small that they turn over once or many times within a chunk.
func TestCountSeenMatchesOneByOne(t *testing.T) {
	for _, generation := range []int{1, 3, 100, 700, 5000} {
		t.Run(fmt.Sprint("generation=", generation), func(t *testing.T) {
			bulk := newRecentIDs(generation)
			one := newRecentIDs(generation)
			one.seed = bulk.seed
			rng := rand.New(rand.NewPCG(uint64(generation), 7))
			next := 0
			total := 0
			for call := range 200 {
				ids := make([]string, rng.IntN(3*seenChunk))
				for i := range ids {
					if next > 0 && rng.IntN(3) == 0 {
						ids[i] = fmt.Sprint(next - 1 - rng.IntN(min(next, 2*generation+10)))
						continue
					}
					ids[i] = fmt.Sprint(next)
					next++
				}
				want := 0
				for _, id := range ids {
					if one.seenOrAdd(id) {
						want++
					}
				}
				got := bulk.countSeen(len(ids), func(i int) string { return ids[i] })
				require.Equal(t, want, got, "call %d of %d ids", call, len(ids))
				total += want
			}
			require.Positive(t, total)
			require.Equal(t, one.n, bulk.n)
			require.Equal(t, one.cur, bulk.cur)
			require.Equal(t, one.prev, bulk.prev)
		})
	}
}

// The array columns, set in bulk (arrayOffsets), read back as the rows'
// arrays, for every sub-range an insert may take (a retry's halves) of
// rows with arrays of 0 to 5 values, and after a larger insert into the
// same kept columns.
func TestArrayColumnsHoldEveryRowsValues(t *testing.T) {
	require.NotNil(t, arrayOffsets(newBlockAppender(t).block.Columns[telemetry.ColAttrKeys]), "clickhouse-go's Array no longer keeps its offsets in offsets[0].values.col")
	s := &Sink{cfg: NewDefaultConfig(), m: newMetrics(nil), seen: newRecentIDs(1 << 10)}
	b := newBatch()
	rng := rand.New(rand.NewPCG(3, 4))
	var events []telemetry.Event
	for i := range 40 {
		e := telemetry.Event{ID: fmt.Sprint("id-", i), TimeNs: 1_700_000_000_000_000_000, Kind: telemetry.KindSpan}
		vals := func(tag string) []string {
			v := make([]string, rng.IntN(6))
			for k := range v {
				v[k] = fmt.Sprintf("%s-%d-%d\n\"é", tag, i, k)
			}
			return v
		}
		e.AttrKeys = vals("ak")
		e.AttrValues = vals("av")[:0]
		for range e.AttrKeys {
			e.AttrValues = append(e.AttrValues, fmt.Sprint("v", rng.IntN(100)))
		}
		e.ResKeys = vals("rk")
		e.ResValues = make([]string, len(e.ResKeys))
		events = append(events, e)
		require.NoError(t, s.accept(context.Background(), b, &kgo.Record{Offset: int64(i), Value: e.AppendJSON(nil)}))
	}
	var cols insertColumns
	for _, r := range [][2]int{{0, 40}, {0, 20}, {20, 40}, {7, 8}, {13, 31}, {39, 40}, {0, 1}} {
		ap := newBlockAppender(t)
		require.NoError(t, cols.fill(ap, b, r[0], r[1]))
		out := ap.roundTrip(t)
		for i := r[0]; i < r[1]; i++ {
			e := events[i]
			for c, want := range map[telemetry.Col][]string{telemetry.ColAttrKeys: e.AttrKeys, telemetry.ColAttrValues: e.AttrValues, telemetry.ColResKeys: e.ResKeys, telemetry.ColResValues: e.ResValues} {
				col := out.Columns[c]
				require.Equal(t, r[1]-r[0], col.Rows())
				got := col.Row(i-r[0], false)
				if len(want) == 0 {
					want = []string{}
				}
				require.Equal(t, want, got, "rows [%d, %d) row %d column %s", r[0], r[1], i, telemetry.Columns[c])
			}
		}
	}
}
