package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/store"
)

// run1M is a throughput run of 1M events at rate events/s; invalid when why
// is not empty.
func run1M(rate float64, why string) sample {
	return sample{events: 1_000_000, wall: time.Duration(float64(time.Second) * 1e6 / rate), invalid: why,
		cpu: map[string]float64{"clickhouse": rate / 1e4}}
}

const reRead = "the Kafka engine wrote 1727245 rows of a 1000000-record topic"

// A round whose Kafka engine re-read the topic is left out of C's median:
// the ratio is taken from the valid rounds only (all three rounds' median
// would be 80k, the valid ones' is 75k).
func TestRatioLeavesOutInvalidRounds(t *testing.T) {
	b := []sample{run1M(80_000, ""), run1M(85_000, ""), run1M(90_000, "")}
	c := []sample{run1M(70_000, ""), run1M(200_000, reRead), run1M(80_000, "")}
	r := ratioOfMedians(b, c)
	require.True(t, r.measured)
	assert.InDelta(t, 85.0/75, r.value, 1e-9)
	assert.Equal(t, 3, r.nNum)
	assert.Equal(t, 2, r.nDen)
	assert.Equal(t, "  sink only / Kafka engine         1.13x  (target >= 1.5)  MISSED (valid rounds 3 / 2)", r.line("sink only / Kafka engine", 1.5))
	assert.Contains(t, r.line("sink only / clickhouse-client", 0.8), "1.13x  (target >= 0.8)  met")
}

// With fewer than two valid rounds on either side the ratio is not
// measured, whatever the one valid round says.
func TestRatioNotMeasuredBelowTwoValidRounds(t *testing.T) {
	b := []sample{run1M(80_000, ""), run1M(85_000, ""), run1M(90_000, "")}
	c := []sample{run1M(30_000, reRead), run1M(40_000, ""), run1M(35_000, reRead)}
	for _, r := range []ratio{ratioOfMedians(b, c), ratioOfMedians(c, b)} {
		assert.False(t, r.measured)
		line := r.line("x", 1.5)
		assert.Contains(t, line, "not measured")
		assert.NotContains(t, line, "met")
	}
	assert.True(t, ratioOfMedians(b, b[:2]).measured, "two valid rounds are enough")
}

// Round pairs (B against B2, ...) skip a pair in which either run is
// invalid and keep the others aligned by round.
func TestValidPairsSkipAPairWithAnInvalidRun(t *testing.T) {
	a := []sample{run1M(1, ""), run1M(2, reRead), run1M(3, ""), run1M(4, "")}
	b := []sample{run1M(10, ""), run1M(20, ""), run1M(30, reRead)}
	pairs := validPairs(a, b)
	require.Len(t, pairs, 1)
	assert.Equal(t, a[0].wall, pairs[0][0].wall)
	assert.Equal(t, b[0].wall, pairs[0][1].wall)
}

// The latency variants swap places every other round; the other paths
// keep theirs.
func TestRoundOrderAlternatesTheLatencyPaths(t *testing.T) {
	keys := []string{"A", "B", "C", "D", "E", "E2"}
	assert.Equal(t, keys, roundOrder(keys, 0))
	assert.Equal(t, []string{"A", "B", "C", "D", "E2", "E"}, roundOrder(keys, 1))
	assert.Equal(t, keys, roundOrder(keys, 2))
	assert.Equal(t, []string{"E2", "E1", "E"}, roundOrder([]string{"E", "E1", "E2"}, 3))
	assert.Equal(t, []string{"A", "B"}, roundOrder([]string{"A", "B"}, 1))
	assert.Equal(t, []string{"A", "B", "C", "D", "E", "E2"}, keys, "the caller's order is not changed")
}

// The printed report names the invalid round, prints C's median over its
// valid rounds with how many there are, and takes the ratios from those.
func TestReportLeavesOutInvalidRounds(t *testing.T) {
	samples := map[string][]sample{
		"A": {run1M(60_000, ""), run1M(62_000, ""), run1M(64_000, "")},
		"B": {run1M(80_000, ""), run1M(85_000, ""), run1M(90_000, "")},
		"C": {run1M(70_000, ""), run1M(200_000, reRead), run1M(80_000, "")},
		"D": {run1M(70_000, ""), run1M(71_000, ""), run1M(72_000, "")},
		"E": {{lat: []time.Duration{time.Second}}, {lat: []time.Duration{time.Second}}, {lat: []time.Duration{time.Second}}},
	}
	var out bytes.Buffer
	b := &bench{cfg: store.NewDefaultConfig()}
	report(&out, options{rounds: 3, n: 1_000_000}, b, 1_000_000, 1_000_000, samples, nil)
	text := out.String()
	assert.Contains(t, text, "C round 2: "+reRead)
	var cLine string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "C ClickHouse Kafka engine") {
			cLine = l
		}
	}
	assert.Contains(t, cLine, "75000 [70000..80000]")
	assert.Contains(t, cLine, "(2 of 3 rounds valid)")
	assert.Contains(t, text, "sink only / Kafka engine         1.13x")
	assert.Contains(t, text, "end to end / Kafka engine        0.83x")
}

// The probe reads the names at the first poll, at a poll where the
// server's inserted rows moved and at the poll after it, and not while
// they stand still.
func TestReadGateReadsWhenInsertedRowsMovedAndAtTheNextPoll(t *testing.T) {
	g := newReadGate()
	var got []bool
	for _, rows := range []uint64{0, 0, 0, 0, 500, 500, 500, 900, 1200, 1200, 1200} {
		got = append(got, g.read(rows))
	}
	assert.Equal(t, []bool{true, true, false, false, true, true, false, true, true, true, false}, got)
}

// Over n repetitions every -ch-cost configuration runs once in every
// position, and the first repetition keeps the configured order.
func TestCostOrderRotates(t *testing.T) {
	const n = 4
	assert.Equal(t, []int{0, 1, 2, 3}, costOrder(n, 0))
	seen := map[[2]int]int{} // configuration, position
	for rep := 0; rep < n; rep++ {
		order := costOrder(n, rep)
		require.Len(t, order, n)
		for pos, c := range order {
			seen[[2]int{c, pos}]++
		}
	}
	for c := 0; c < n; c++ {
		for pos := 0; pos < n; pos++ {
			assert.Equal(t, 1, seen[[2]int{c, pos}], "configuration %d in position %d", c, pos)
		}
	}
}
