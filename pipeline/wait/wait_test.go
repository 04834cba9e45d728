package wait

import (
	"context"
	"testing"
	"time"
)

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if Sleep(ctx, time.Hour) {
		t.Fatal("Sleep reported a full wait on a cancelled context")
	}
	if time.Since(start) > time.Second {
		t.Fatal("Sleep did not return when its context was done")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep on a live context reported an early end")
	}
	if Sleep(ctx, 0) {
		t.Fatal("a zero wait on a cancelled context must report false")
	}
}

func TestJitterStaysInRange(t *testing.T) {
	for range 1000 {
		if j := Jitter(100 * time.Millisecond); j < 50*time.Millisecond || j > 100*time.Millisecond {
			t.Fatalf("Jitter(100ms) = %v, want within [50ms, 100ms]", j)
		}
	}
	if Jitter(0) != 0 {
		t.Fatal("Jitter(0) must be 0")
	}
}
