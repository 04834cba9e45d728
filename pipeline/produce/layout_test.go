package produce

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// variedEvents are n events whose keys come from every branch of Key
// (flow items, traces, bare ids; some ids shared by several events), with
// and without an experiment, escapes in strings and varying lengths.
func variedEvents(rng *rand.Rand, n int) []telemetry.Event {
	events := make([]telemetry.Event, n)
	for i := range events {
		e := telemetry.Event{
			ID: fmt.Sprintf("ev-%d-%x", i, rng.Uint64()), TimeNs: rng.Int64N(2e18), IngestNs: rng.Int64N(2e18),
			Kind: telemetry.KindEvent, Service: "svc" + string(rune('a'+rng.IntN(26))), Name: "GET /x",
			Status: telemetry.StatusOK, HTTPStatus: uint16(200 + rng.IntN(400)), DurationNs: rng.Uint64N(1e12),
		}
		switch rng.IntN(4) {
		case 0:
			e.Flow, e.FlowKey, e.Stage = "checkout", fmt.Sprintf("order-%d", rng.IntN(50)), "paid"
		case 1, 2:
			e.TraceID = fmt.Sprintf("%032x", rng.IntN(200))
		}
		if rng.IntN(3) > 0 {
			e.ExperimentID = fmt.Sprintf("exp-%d", rng.IntN(3))
			e.Cohort = telemetry.Cohort(rng.IntN(3))
		}
		if rng.IntN(10) == 0 {
			e.Body = `line "one"` + "\n\ttwo \\ three \x01 é"
		}
		for range rng.IntN(4) {
			e.AttrKeys = append(e.AttrKeys, fmt.Sprintf("k%d", rng.IntN(9)))
			e.AttrValues = append(e.AttrValues, string(bytes.Repeat([]byte{'v'}, rng.IntN(300))))
		}
		events[i] = e
	}
	return events
}

// TestRecordsSameForEveryLayout: laid out by partition, Records returns
// the same records in the same order as in the events' order: every key,
// value and header byte for byte, for requests of 1 to 1000 events and
// partition counts of 1 to 80 (past maxLaidOut), the encoder reused from
// one call to the next as Publish's pool does.
func TestRecordsSameForEveryLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	plain, laid := new(Encoder), new(Encoder)
	for round := range 300 {
		events := variedEvents(rng, 1+rng.IntN(1000))
		laid.Partitions = []int{0, 1, 2, 3, 6, 7, 12, 64, 65, 80}[round%10]
		want := snapshot(plain.Records(events))
		got := laid.Records(events)
		if len(got) != len(want) {
			t.Fatalf("round %d: %d records, want %d", round, len(got), len(want))
		}
		for i, r := range got {
			w := want[i]
			if !bytes.Equal(r.Key, w.Key) || !bytes.Equal(r.Value, w.Value) || !sameHeaders(r.Headers, w.Headers) {
				t.Fatalf("round %d, %d partitions, record %d of %d:\nkey %q value %s headers %v\nwant key %q value %s headers %v",
					round, laid.Partitions, i, len(got), r.Key, r.Value, r.Headers, w.Key, w.Value, w.Headers)
			}
		}
		plain.release()
		laid.release()
	}
}

// TestRecordsLaidOutByPartition: with Partitions set, each partition's
// values lie one after another in the value buffer in the events' order,
// the partitions in turn: the layout the copy into franz-go's batches
// reads in one run.
func TestRecordsLaidOutByPartition(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 6))
	enc := &Encoder{Partitions: 6}
	events := variedEvents(rng, 1000)
	recs := enc.Records(events)
	part := keyPartitioner().ForTopic("t")
	byPart := make([][]*kgo.Record, enc.Partitions)
	for _, r := range recs {
		p := part.Partition(r, enc.Partitions)
		byPart[p] = append(byPart[p], r)
	}
	var end int
	for p, rs := range byPart {
		for _, r := range rs {
			at := valueOffset(enc.values, r.Value)
			if at != end {
				t.Fatalf("partition %d: a value at %d, want it right after the previous one at %d", p, at, end)
			}
			end = at + len(r.Value)
		}
	}
}

// valueOffset is where v starts in buf's array (-1: elsewhere).
func valueOffset(buf, v []byte) int {
	base, at := uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	if at < base || at >= base+uintptr(cap(buf)) {
		return -1
	}
	return int(at - base)
}

// snapshot copies records out of an encoder's buffers.
func snapshot(recs []*kgo.Record) []kgo.Record {
	out := make([]kgo.Record, len(recs))
	for i, r := range recs {
		out[i] = kgo.Record{Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value)}
		for _, h := range r.Headers {
			out[i].Headers = append(out[i].Headers, kgo.RecordHeader{Key: h.Key, Value: bytes.Clone(h.Value)})
		}
	}
	return out
}

func sameHeaders(a, b []kgo.RecordHeader) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}
