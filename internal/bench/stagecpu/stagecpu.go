// Package stagecpu measures what one event costs in a stage benchmark of
// the ingest path: process CPU time (user + system, every thread, the
// garbage collector's included) and heap allocations, per event. CPU time
// is far less disturbed than wall time when other work shares the machine,
// which is why the per-stage split reports it (internal/bench/ingestbench).
package stagecpu

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Meter holds the readings at the start of a measured loop.
type Meter struct {
	skip    time.Duration
	cpu     time.Duration
	mallocs uint64
	wall    time.Time
}

// Exclude leaves CPU time spent in a part that another stage measures
// (read with ProcessCPU before and after it) out of the report.
func (m *Meter) Exclude(d time.Duration) { m.skip += d }

// ProcessCPU is the process's CPU time so far (user + system).
func ProcessCPU() time.Duration { return processCPU() }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// Start reads the process CPU time and allocation count now.
func Start() *Meter {
	return &Meter{cpu: processCPU(), mallocs: mallocs(), wall: time.Now()}
}

// Report adds ns/event (process CPU time), wall-ns/event and allocs/event
// for events handled since Start.
func (m *Meter) Report(b *testing.B, events int) {
	b.Helper()
	if events <= 0 {
		return
	}
	cpu, wall, allocs := processCPU()-m.cpu-m.skip, time.Since(m.wall), mallocs()-m.mallocs
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(wall.Nanoseconds())/float64(events), "wall-ns/event")
	b.ReportMetric(float64(allocs)/float64(events), "allocs/event")
}
