// Package stagecpu measures what one event costs in a stage benchmark of
// the ingest path: process CPU time (user + system, every thread, the
// garbage collector's included) and heap allocations, per event. CPU time
// is far less disturbed than wall time when other work shares the machine,
// which is why the per-stage split reports it (internal/bench/ingestbench).
package stagecpu

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
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

// PIDCPU is another process's CPU time so far (user + system, from
// /proc/<pid>/stat), 0 when pid is not positive or the process is gone:
// how the benchmarks charge Kafka, ClickHouse, serve, sink and analyze.
func PIDCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which may hold spaces: utime and
	// stime are the 14th and 15th of the line, in clock ticks.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 > len(data) {
		return 0
	}
	f := bytes.Fields(data[i+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(string(f[11]), 10, 64)
	st, _ := strconv.ParseInt(string(f[12]), 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

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
