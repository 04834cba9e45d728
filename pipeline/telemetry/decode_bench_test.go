package telemetry

import (
	"fmt"
	"testing"
)

// benchWire is the wire form of a typical JSON event as ingest serve
// writes it: two record attributes, one resource attribute, no body.
func benchWire(i int) []byte {
	e := Event{
		ID: fmt.Sprintf("tput-%09d", i), TimeNs: 1_700_000_000_000_000_000 + int64(i), IngestNs: 1_700_000_000_100_000_000,
		Kind: KindEvent, Service: "checkout", Name: "GET /checkout", TraceID: fmt.Sprintf("%032x", i),
		ExperimentID: "exp-1", Cohort: CohortControl, Status: StatusOK, HTTPStatus: 200, DurationNs: uint64(i%700) * 1e6,
		AttrKeys: []string{"region", "tenant"}, AttrValues: []string{"eu", fmt.Sprintf("t%d", i%50)},
		ResKeys: []string{"service.name"}, ResValues: []string{"checkout"},
	}
	return e.AppendJSON(nil)
}

// BenchmarkDecodeJSONTypical is the sink's per-record decode cost.
func BenchmarkDecodeJSONTypical(b *testing.B) {
	wires := make([][]byte, 1024)
	for i := range wires {
		wires[i] = benchWire(i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(wires[0])))
	var e Event
	for i := 0; b.Loop(); i++ {
		if err := DecodeJSON(wires[i%len(wires)], &e); err != nil {
			b.Fatal(err)
		}
	}
}
