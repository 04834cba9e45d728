package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/stats"
)

// TestHarnessMeetsAcceptanceTargets is the small seeded version of `make
// stats-harness` that runs in `make test`: the same scenarios and the same
// thresholds (A/A fail share <= 5%; 1% -> 2% at 1000/min: median time to
// fail <= 3 min and >= 90% by 5 min; at 5000/min >= 90% by 2 min; a 10%
// deviation from the planned split flagged), at 300 runs per scenario
// instead of 1000.
func TestHarnessMeetsAcceptanceTargets(t *testing.T) {
	var out bytes.Buffer
	err := run(&out, 300, 20240601, stats.DefaultTauRelative, stats.DefaultMonitorAlpha)
	t.Log("\n" + out.String())
	require.NoError(t, err, "a target was missed")
	assert.Contains(t, out.String(), "all targets met: yes")
	assert.Equal(t, 9, strings.Count(out.String(), "  yes\n"), "every scenario meets its target")
}
