package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryBudget: the flag sets the runtime's limit and GC target, the
// environment's GOGC and GOMEMLIMIT win, 0 sets no limit.
func TestMemoryBudget(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")

	require.NoError(t, memoryBudget{mib: 64, gogc: 300}.apply())
	assert.Equal(t, int64(64<<20), debug.SetMemoryLimit(-1))
	assert.Equal(t, 300, debug.SetGCPercent(300))

	debug.SetMemoryLimit(math.MaxInt64)
	require.NoError(t, memoryBudget{mib: 0, gogc: 200}.apply())
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "0 sets no limit")
	assert.Equal(t, 200, debug.SetGCPercent(200))

	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	require.NoError(t, memoryBudget{mib: 64, gogc: 400}.apply())
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "GOMEMLIMIT in the environment wins")
	assert.Equal(t, 200, debug.SetGCPercent(200), "GOGC in the environment wins")

	require.ErrorContains(t, memoryBudget{mib: -1}.apply(), "--memory-limit-mib -1")
}
