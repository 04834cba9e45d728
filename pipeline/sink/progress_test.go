package sink

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestProgressRows(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	parts := []int{0, 1, 2, 3, 4, 5}
	hwm := map[int]int64{0: 10, 1: 20, 2: 0, 3: 7, 4: 9, 5: 30}
	committed := map[int]int64{0: 10, 1: 15, 2: -1, 3: -1, 4: 9, 5: 25}
	held := map[int]int64{
		0: 9,
		1: 14,
		5: 19, // the group is at 25: another member took it over
	}
	maxEvent := map[int]int64{0: 100, 1: 200, 5: 500}
	rows := progressRows(parts, hwm, committed, held, maxEvent, at)
	assert.Equal(t, []progressRow{
		{partition: 0, committed: 10, maxEvent: 100, caught: true, updated: at}, // held, caught up
		{partition: 1, committed: 15, maxEvent: 200, updated: at},               // held, behind
		{partition: 2, committed: -1, caught: true, updated: at},                // empty: caught up, whoever holds it
		{partition: 3, committed: -1},                                           // behind, not ours: placeholder only
		{partition: 4, committed: 9, caught: true, updated: at},                 // not ours but caught up: a group fact
		{partition: 5, committed: 25},                                           // moved away and behind: placeholder
	}, rows)
	assert.NotContains(t, held, 5, "a partition the group moved past is no longer reported as held")

	// The brokers could not be asked: only the held partitions, as behind.
	held = map[int]int64{0: 9}
	rows = progressRows([]int{0}, nil, nil, held, maxEvent, at)
	assert.Equal(t, []progressRow{{partition: 0, committed: 10, maxEvent: 100, updated: at}}, rows)
}
