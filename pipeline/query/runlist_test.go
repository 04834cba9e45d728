package query

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteRunList(t *testing.T) {
	var b strings.Builder
	require.NoError(t, WriteRunList(&b, nil))
	assert.Equal(t, "no recorded runs (record one with analyze run start <experiment>)\n", b.String())

	start := time.Date(2026, 11, 21, 22, 5, 54, 0, time.UTC)
	end := start.Add(90 * time.Second)
	b.Reset()
	require.NoError(t, WriteRunList(&b, []RunListing{
		{Run: Run{ID: "r-2", ExperimentID: "exp", Start: start.Add(time.Hour), Note: "second"}},
		{Run: Run{ID: "r-1", ExperimentID: "exp", Start: start, End: &end, Operator: "alice"}, LastVerdict: "fail", Looks: 12},
	}))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, []string{"RUN", "EXPERIMENT", "START", "(UTC)", "DURATION", "OPERATOR", "LAST", "VERDICT", "LOOKS", "NOTE"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"r-2", "exp", "2026-11-21", "23:05:54", "running", "-", "-", "0", "second"}, strings.Fields(lines[1]))
	assert.Equal(t, []string{"r-1", "exp", "2026-11-21", "22:05:54", "1m30s", "alice", "FAIL", "12"}, strings.Fields(lines[2]))
}
