package live

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/query"
)

// The verdict history is written at the first look, then every 30 s, at
// once when an SLI's verdict or the stop state changes, with every look
// since the last write in order; a failed write keeps the rows, and past
// maxPendingHistory the oldest are dropped and counted.
func TestHistoryBufferWritesChangesAtOnceTheRestEvery30s(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	h := &historyBuffer{every: DefaultHistoryEvery}
	look := func(i int, changed string) []query.VerdictRow {
		return []query.VerdictRow{{SLI: "errors", Time: t0.Add(time.Duration(i) * 5 * time.Second), ChangedFrom: changed}, {SLI: "p95"}}
	}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 5 * time.Second) }

	require.True(t, h.add(look(0, ""), false, at(0)), "the first look")
	h.wrote(at(0))
	for i := 1; i < 6; i++ {
		require.False(t, h.add(look(i, ""), false, at(i)), "look %d: nothing changed, < 30 s", i)
	}
	require.True(t, h.add(look(6, ""), false, at(6)), "30 s after the last write")
	require.Len(t, h.pending, 12, "every look since the last write")
	assert.Equal(t, at(1), h.pending[0].Time, "in look order")
	assert.Equal(t, at(6), h.pending[10].Time)
	h.wrote(at(6))
	require.Empty(t, h.pending)

	require.False(t, h.add(look(7, ""), false, at(7)))
	require.True(t, h.add(look(8, "pass"), false, at(8)), "a verdict changed: at once")
	require.Len(t, h.pending, 4, "with the look before it")
	h.wrote(at(8))
	require.True(t, h.add(look(9, ""), true, at(9)), "the stop starts to hold: at once")
	h.wrote(at(9))
	require.False(t, h.add(look(10, ""), true, at(10)), "the stop still holds: nothing new")
	require.True(t, h.add(look(11, ""), false, at(11)), "the stop ends: at once")

	// Writes failing: nothing is written, the rows wait, the oldest go
	// past the bound.
	for i := 12; len(h.pending) < maxPendingHistory; i++ {
		h.add(look(i, ""), false, at(i))
	}
	last := look(99_999, "")
	h.add(last, false, at(99_999))
	assert.Len(t, h.pending, maxPendingHistory)
	assert.Equal(t, 2, h.dropped)
	assert.Equal(t, last[1], h.pending[maxPendingHistory-1], "the newest kept")
}
