package live

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/notify"
	"github.com/steadystate/steadystate/pipeline/query"
)

func TestWindowLeavesAnOpenRunOpen(t *testing.T) {
	since, until := time.Unix(1000, 0), time.Unix(2000, 0)
	closed := query.Resolved{Window: query.Window{Since: since, Until: until}, Run: &query.Run{End: &until}}
	assert.Equal(t, until, Window(closed, query.WindowFlags{}).Until, "a stopped run keeps its end")
	running := query.Resolved{Window: query.Window{Since: since, Until: until}, Run: &query.Run{}}
	assert.True(t, Window(running, query.WindowFlags{}).Until.IsZero(), "a running run is watched until now")
	adhoc := query.Resolved{Window: query.Window{Since: since, Until: until}}
	assert.True(t, Window(adhoc, query.WindowFlags{Since: "30m"}).Until.IsZero(), "--since without --until is open")
	assert.Equal(t, until, Window(adhoc, query.WindowFlags{Since: "30m", Until: "1m"}).Until)
	assert.Equal(t, since, Window(running, query.WindowFlags{}).Since)
}

func TestStopDestinations(t *testing.T) {
	assert.Equal(t, notify.Destinations{}, StopDestinations("", ""))
	assert.Equal(t, notify.Destinations{Alertmanager: []string{"http://am"}, Webhook: []string{"http://hook"}}, StopDestinations("http://am", "http://hook"))
}

func TestWarRoomFlows(t *testing.T) {
	spec := &experiment.Spec{Flows: []experiment.Flow{{Name: "publish"}, {Name: "checkout"}}}
	assert.Nil(t, WarRoomFlows(spec, nil))
	got := WarRoomFlows(spec, &experiment.Experiment{Flows: []string{"checkout", "missing"}})
	assert.Equal(t, []experiment.Flow{{Name: "checkout"}}, got, "named and defined flows, in the experiment's order")
}
