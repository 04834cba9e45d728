// Package wait holds the two pieces every retry loop in Steadystate needs:
// a sleep that ends early when its context is done, and full-range jitter.
package wait

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits for d or until ctx is done, and reports whether the full
// wait elapsed with ctx still live. A non-positive d returns at once.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Jitter returns a random duration in [d/2, d], so retries of many clients
// spread out instead of arriving together.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: jitter needs no crypto
}
