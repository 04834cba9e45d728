package stagecpu

import (
	"os"
	"testing"
	"time"
)

// PIDCPU of this process agrees with getrusage's figure to within the
// /proc tick (10 ms) plus what runs between the two readings.
func TestPIDCPUReadsThisProcess(t *testing.T) {
	// Spend 300 ms of CPU (not of wall time: the machine may be busy).
	for start := ProcessCPU(); ProcessCPU()-start < 300*time.Millisecond; {
	}
	before := ProcessCPU()
	got := PIDCPU(os.Getpid())
	after := ProcessCPU()
	if got < before-20*time.Millisecond || got > after+20*time.Millisecond {
		t.Fatalf("PIDCPU(self) = %v, getrusage %v..%v", got, before, after)
	}
	if got < 200*time.Millisecond {
		t.Fatalf("PIDCPU(self) = %v after 300 ms of CPU", got)
	}
}

func TestPIDCPUOfNoProcess(t *testing.T) {
	for _, pid := range []int{0, -1, 1 << 30} {
		if got := PIDCPU(pid); got != 0 {
			t.Errorf("PIDCPU(%d) = %v, want 0", pid, got)
		}
	}
}
