package produce

import (
	"fmt"
	"testing"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// stageEvents are n events as ingest serve tags the bench generator's
// requests.
func stageEvents(n int) []telemetry.Event {
	events := make([]telemetry.Event, n)
	for i := range events {
		cohort := telemetry.CohortControl
		if i%20 == 0 {
			cohort = telemetry.CohortExperiment
		}
		events[i] = telemetry.Event{
			ID: fmt.Sprintf("tput-%09d", i), TimeNs: 1_700_000_000_000_000_000 + int64(i), IngestNs: 1_700_000_000_100_000_000,
			Kind: telemetry.KindEvent, Service: "checkout", Name: "GET /checkout", TraceID: fmt.Sprintf("%032x", i),
			ExperimentID: "tput", Cohort: cohort, Status: telemetry.StatusOK, HTTPStatus: 200, DurationNs: uint64(i%700)*1e6 + 5e5,
			AttrKeys: []string{"region", "tenant"}, AttrValues: []string{"eu", fmt.Sprintf("t%d", i%50)},
		}
	}
	return events
}

// BenchmarkStageEncode is ingest serve's Kafka record encoding of a
// request's events (1000): wire JSON, partition key, headers, laid out by
// the default topic's partitions as Publish does.
func BenchmarkStageEncode(b *testing.B) {
	events := stageEvents(1000)
	partitions := NewDefaultConfig().Partitions
	m := stagecpu.Start()
	n := 0
	for b.Loop() {
		enc := encoders.Get().(*Encoder)
		enc.Partitions = partitions
		if recs := enc.Records(events); len(recs) != len(events) {
			b.Fatal(len(recs))
		}
		enc.release()
		encoders.Put(enc)
		n += len(events)
	}
	m.Report(b, n)
}
