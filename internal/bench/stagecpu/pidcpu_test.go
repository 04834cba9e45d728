package stagecpu

import (
	"os"
	"path/filepath"
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

func TestStatePIDAndMedian(t *testing.T) {
	state := t.TempDir()
	t.Setenv("STEADYSTATE_STATE_DIR", state)
	if got := StatePID("kafka"); got != 0 {
		t.Fatalf("no pid file: got %d, want 0", got)
	}
	if err := os.MkdirAll(filepath.Join(state, "kafka"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "kafka", "kafka.pid"), []byte("4242\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := StatePID("kafka"); got != 4242 {
		t.Fatalf("StatePID(kafka) = %d, want 4242", got)
	}
	if got := StatePID("clickhouse"); got != 0 {
		t.Fatalf("StatePID(clickhouse) = %d, want 0 (no file)", got)
	}
	xs := []float64{5, 1, 4, 2}
	if got := Median(xs); got != 3 {
		t.Fatalf("Median(%v) = %v, want 3", xs, got)
	}
	if xs[0] != 5 {
		t.Fatal("Median reordered its input")
	}
	if got := Median([]float64{7, 1, 3}); got != 3 {
		t.Fatalf("odd median = %v, want 3", got)
	}
	if got := Median(nil); got != 0 {
		t.Fatalf("Median(nil) = %v, want 0", got)
	}
}
