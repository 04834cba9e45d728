package query

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	got, err := ParseWhen("2026-11-21T10:00:00+01:00", now)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC), got)
	got, err = ParseWhen("90m", now)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC), got)
	_, err = ParseWhen("yesterday", now)
	assert.EqualError(t, err, `"yesterday": want an RFC 3339 time (2026-11-21T10:00:00Z) or a duration before now (30m)`)
}

func TestParseFlagTime(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	got, err := ParseFlagTime("since", "30m", now)
	require.NoError(t, err)
	assert.Equal(t, now.Add(-30*time.Minute), got)
	got, err = ParseFlagTime("since", "2026-11-21T09:00:00Z", now)
	require.NoError(t, err)
	assert.Equal(t, now.Add(-time.Hour), got)
	_, err = ParseFlagTime("since", "yesterday", now)
	var ue *UsageError
	require.ErrorAs(t, err, &ue, "a bad flag value is the caller's mistake (exit 2)")
	assert.Contains(t, err.Error(), "--since")
}

// The flag combinations are refused before any query, so a nil client
// is never reached.
func TestResolveWindowRefusesBadFlags(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	r := &Reader{}
	for _, tt := range []struct {
		req  WindowRequest
		want string
	}{
		{WindowRequest{ExperimentID: "x'y"}, "experiment id"},
		{WindowRequest{ExperimentID: "x", Flags: WindowFlags{Run: "r", Since: "1h"}}, "--run and --since/--until exclude each other"},
		{WindowRequest{ExperimentID: "x", Flags: WindowFlags{Until: "1h"}}, "--until needs --since"},
		{WindowRequest{ExperimentID: "x", Flags: WindowFlags{Since: "1h", Until: "2h"}}, "is not after --since"},
	} {
		_, err := r.ResolveWindow(t.Context(), tt.req, now)
		require.ErrorContains(t, err, tt.want)
		var ue *UsageError
		require.ErrorAs(t, err, &ue, "%v is a usage error", err)
	}
	got, err := r.ResolveWindow(t.Context(), WindowRequest{ExperimentID: "x", Flags: WindowFlags{Run: "label", Since: "1h"}, LabelRun: true}, now)
	require.NoError(t, err)
	assert.Equal(t, Resolved{Window: Window{Since: now.Add(-time.Hour), Until: now}, Label: "label"}, got)
	assert.False(t, got.Open())
}
