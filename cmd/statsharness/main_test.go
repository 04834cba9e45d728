package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHarnessMeetsAcceptanceTargets is the seeded version of `make
// stats-harness` that runs in `make test`: the same scenarios and the same
// targets (A/A fail <= 5% and SRM <= 1% at 50/50, 5/95 and 1/99; wrong
// pass at the tolerance <= 5%; four SLIs at tolerance: family false fail
// <= 5%; 1% -> 2% >= 90% by 5 min, from minute 3 >= 90% by minute 8; the
// tail-only p99 regression fails >= 90%), with 40 runs per scenario so it
// stays short under -race. The observed rates must meet the real targets
// (e.g. no SRM flag at all in 40 A/A runs for "<= 1%", at most 2 fails
// for "<= 5%", at least 36 detections for ">= 90%"); the 95%
// Clopper-Pearson bound that `make stats-harness` requires at 10,000 runs
// cannot be reached with 40 runs and is only printed. The reporting seed
// is used, not the tuning seed.
func TestHarnessMeetsAcceptanceTargets(t *testing.T) {
	var out bytes.Buffer
	err := run(&out, 40, ReportingSeed, false)
	t.Log("\n" + out.String())
	require.NoError(t, err, "a target was missed")
	assert.Contains(t, out.String(), "all targets met: yes")
	assert.NotContains(t, out.String(), "  NO\n")
}
