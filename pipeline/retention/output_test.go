package retention

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "0d": 0, "720h": 720 * time.Hour, "0": 0, "90m": 90 * time.Minute} {
		got, err := ParseAge(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"30", "d", "3.5d", "30dd", "-"} {
		_, err := ParseAge(in)
		assert.Error(t, err, in)
	}
}

// SetAges keeps the ages not given and names the flag of a bad one.
func TestSetAges(t *testing.T) {
	c := NewDefaultConfig()
	require.NoError(t, c.SetAges(Ages{Raw: "14d", Cache: "0"}))
	assert.Equal(t, 14*24*time.Hour, c.Raw)
	assert.Equal(t, NewDefaultConfig().Views, c.Views, "not given: kept")
	assert.Zero(t, c.Cache)

	c = NewDefaultConfig()
	require.EqualError(t, c.SetAges(Ages{Views: "5x"}), `--views "5x": want a duration like 30d or 720h`)
	assert.Equal(t, NewDefaultConfig(), c)
}

func TestWriteDrops(t *testing.T) {
	drops := []Drop{{Table: "events", Day: 20400}}
	var b strings.Builder
	require.NoError(t, WriteDrops(&b, "db", drops, true, false, nil))
	assert.Equal(t, "would drop db.events partition 20400\n", b.String())
	b.Reset()
	require.NoError(t, WriteDrops(&b, "db", nil, false, false, nil))
	assert.Equal(t, "nothing older than the retention ages\n", b.String())
	b.Reset()
	failed := errors.New("boom")
	require.ErrorIs(t, WriteDrops(&b, "db", drops, false, false, failed), failed)
	assert.Equal(t, "dropped db.events partition 20400\n", b.String(), "what was dropped before the error is said")
	b.Reset()
	require.NoError(t, WriteDrops(&b, "db", nil, true, true, nil))
	assert.JSONEq(t, `{"dry_run": true, "dropped": []}`, b.String())
}
