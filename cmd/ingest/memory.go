package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// memoryBudget is how much heap a process may grow to before the Go
// runtime collects, whatever the live heap: --memory-limit-mib sets the
// runtime's soft memory limit (GOMEMLIMIT) and, with it, a larger GOGC
// than Go's default 100, so the garbage collector runs a few times less
// often while the heap is far below the budget and more often only when
// it nears it.
//
// Both settings are decided by the binaries, so every deployment gets the
// measured ones; GOGC or GOMEMLIMIT in the environment still win (the Go
// runtime reads them before main) and --memory-limit-mib 0 leaves the
// runtime's defaults.
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
		"soft memory limit of the Go runtime in MiB (GOMEMLIMIT), with GOGC "+fmt.Sprint(m.gogc)+" below it; 0: the runtime's defaults; GOGC/GOMEMLIMIT in the environment win")
}

// apply sets the runtime's GC target and memory limit, unless the
// environment set them or the budget is 0.
func (m memoryBudget) apply() error {
	if m.mib < 0 {
		return fmt.Errorf("--memory-limit-mib %d: must not be negative", m.mib)
	}
	if m.mib == 0 {
		return nil
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(m.mib << 20)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(m.gogc)
	}
	return nil
}

// The defaults (see memoryBudget for the live heap each must stay above).
var (
	serveMemory = memoryBudget{mib: 512, gogc: 400}
	sinkMemory  = memoryBudget{mib: 1024, gogc: 400}
)
