package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/steadystate/steadystate/pipeline/query"
)

func TestWriteReplayJudgesTheTargets(t *testing.T) {
	win := Window{Since: time.Unix(1_700_000_000, 0), Until: time.Unix(1_700_000_600, 0)}
	var b strings.Builder
	ok := WriteReplay(&b, "exp", "subject", win, ReplaySummary{Runs: 100, Units: 10, Events: 50, CompareFail: 5, LiveSRM: 1, ComparePass: 95, LivePass: 99,
		MetricFails: map[string]int{"latency": 3, "errors": 2}}, time.Second)
	assert.True(t, ok, "5% false fail and 1% SRM are within the targets")
	out := b.String()
	assert.Contains(t, out, "A/A replay of exp: control traffic 2023-11-14T22:13:20Z .. 2023-11-14T22:23:20Z, 50 events, 10 units (unit: subject), 100 salts")
	assert.Contains(t, out, "compare (once)     5.00%        0.00%            95.00%")
	assert.Less(t, strings.Index(out, "  errors"), strings.Index(out, "  latency"), "metrics in name order")
	assert.True(t, strings.HasSuffix(out, "within the harness targets (false fail <= 5%, SRM <= 1%): yes\n"))

	b.Reset()
	assert.False(t, WriteReplay(&b, "exp", "event", win, ReplaySummary{Runs: 100, LiveFail: 6}, 0))
	assert.True(t, strings.HasSuffix(b.String(), ": NO\n"))
	b.Reset()
	assert.False(t, WriteReplay(&b, "exp", "event", win, ReplaySummary{Runs: 100, CompareSRM: 2}, 0))
}

func TestReplayUnitAndEvents(t *testing.T) {
	attr, name := ReplayUnit(nil)
	assert.Empty(t, attr)
	assert.Equal(t, "subject", name)
	rows := []query.ReplayRow{{EventID: "a", Unit: "u1", Service: "s", Operation: "op", TimeNs: 1_000_000_123, Error: true, DurationNs: 5, HTTPStatus: 500}}
	ev := ReplayEventsOf(rows, false)
	assert.Equal(t, ReplayEvent{Time: time.Unix(1, 123).UTC(), Unit: "u1", EventID: "a", Service: "s", Operation: "op", Error: true, DurationNs: 5, HTTPStatus: 500}, ev[0])
	assert.Empty(t, ReplayEventsOf(rows, true)[0].Unit, "per-event assignment: every event its own unit")
}
