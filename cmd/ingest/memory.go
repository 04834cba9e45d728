package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// memoryBudget bounds a process's heap: --memory-limit-mib sets the Go
// runtime's soft memory limit (GOMEMLIMIT), so the collector runs more
// often as the heap nears the budget instead of letting it grow to GOGC
// times the live heap, whatever that is; below it GOGC stays what it was
// (serve 100, the sink 200: its live heap is the batches in flight, and
// collecting at 3x instead of 2x of it spends a fifth less CPU on GC).
//
// A larger GOGC under the limit was measured and not taken: GOGC 400
// (both processes) against these, ingestbench -paths A,A1,B,B1, 5
// interleaved rounds of 300,000 events, 2026-11-30, load 7-20: serve CPU
// this/old 1.053 [0.857..1.223], sink 1.000 [0.845..1.345] (the runtime
// was 2-3 % of either profile), while the sink's peak RSS rose to 960 MiB.
//
// Peak RSS measured in the same runs (VmHWM, path A: 8 senders of
// 1000-event requests at full speed, and B: the sink catching up on a
// 300,000-record topic): serve 106-140 MiB, sink 740-960 MiB at GOGC 400
// and 740-820 MiB at 200; the defaults leave room above both.
//
// Both settings are decided by the binaries, so every deployment gets the
// measured ones; GOGC or GOMEMLIMIT in the environment still win (the Go
// runtime reads them before main) and --memory-limit-mib 0 sets no limit.
//
// The budget must be above what the process keeps live, or the collector
// runs nearly continuously (the runtime caps that at about half the CPU);
// the live heap of each process is bounded by its own settings:
//   - serve: the records waiting for Kafka's acknowledgement
//     (produce.maxBufferedRecords, 100,000 of about 500 bytes plus their
//     encoders) and the request bodies being tagged (each at most
//     --max-request-bytes); under the bench generator's 8 senders the
//     live heap stays below 100 MiB.
//   - sink: at most --inserts+2 batches of --max-bytes record values plus
//     their column copies (about 2x), and one fetch per broker (16 MiB):
//     512 MiB at the defaults (2 inserts, 64 MiB).
type memoryBudget struct {
	mib  int64
	gogc int
}

// addMemoryFlag registers --memory-limit-mib with the process's default.
func addMemoryFlag(fl *pflag.FlagSet, m *memoryBudget) {
	fl.Int64Var(&m.mib, "memory-limit-mib", m.mib,
		"soft memory limit of the Go runtime in MiB (GOMEMLIMIT; GOGC "+fmt.Sprint(m.gogc)+" below it); 0: no limit; GOGC/GOMEMLIMIT in the environment win")
}

// apply sets the runtime's GC target and memory limit, each unless the
// environment set it; a budget of 0 sets no limit.
func (m memoryBudget) apply() error {
	if m.mib < 0 {
		return fmt.Errorf("--memory-limit-mib %d: must not be negative", m.mib)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(m.gogc)
	}
	if m.mib > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(m.mib << 20)
	}
	return nil
}

// The defaults (see memoryBudget for the live heap each must stay above).
var (
	serveMemory = memoryBudget{mib: 512, gogc: 100}
	sinkMemory  = memoryBudget{mib: 1024, gogc: 200}
)
