package live

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/listen"
	"github.com/steadystate/steadystate/pipeline/notify"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/warroom"
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

// The session starts the war room only with --web, and gives its flows
// panel the flows the experiment names; a --web the listener rule refuses
// is a usage error.
func TestSessionWarRoom(t *testing.T) {
	spec := &experiment.Spec{Flows: []experiment.Flow{{Name: "publish"}, {Name: "checkout"}}}
	e := &experiment.Experiment{ID: "x", Flows: []string{"checkout"}}
	s := &Session{Target: analysis.Target{ID: "x", Experiment: e}, Spec: spec, ConsumerGroup: "g", Interval: time.Second}
	srv, g, err := s.startWarRoom(nil)
	require.NoError(t, err)
	assert.Nil(t, srv, "no --web: no war room")
	assert.Nil(t, g)

	s.Web = warroom.Config{Addr: "127.0.0.1:0"}
	srv, g, err = s.startWarRoom(nil)
	require.NoError(t, err)
	defer func() { _ = srv.Shutdown(context.Background()) }()
	assert.Equal(t, []experiment.Flow{{Name: "checkout"}}, g.Flows)
	assert.Equal(t, "g", g.ConsumerGroup)
	assert.Equal(t, "x", g.ID)

	s.Web = warroom.Config{Addr: "0.0.0.0:0"}
	t.Setenv(listen.EnvInsecure, "")
	_, _, err = s.startWarRoom(nil)
	var ue *query.UsageError
	require.ErrorAs(t, err, &ue)
	assert.ErrorContains(t, err, "--web: ")
}

// Validate is what analyze live checks before dialling ClickHouse, and Run
// checks first: a too short interval is a usage error; a --web beyond
// loopback without a token is the listener rule's refusal.
func TestSessionValidate(t *testing.T) {
	t.Setenv(listen.EnvInsecure, "")
	alpha := analysis.Settings{Alpha: analysis.DefaultAlpha}
	require.NoError(t, (&Session{Interval: MinInterval, Settings: alpha}).Validate())
	require.NoError(t, (&Session{Interval: time.Second, Settings: alpha, Web: warroom.Config{Addr: "127.0.0.1:0"}}).Validate())
	require.NoError(t, (&Session{Interval: time.Second, Settings: alpha, Web: warroom.Config{Addr: "0.0.0.0:0", Token: "t"}}).Validate())

	s := &Session{Interval: 99 * time.Millisecond, Settings: alpha}
	err := s.Validate()
	var ue *query.UsageError
	require.ErrorAs(t, err, &ue)
	require.EqualError(t, err, "--interval 99ms: want at least 100ms")
	require.EqualError(t, s.Run(context.Background(), nil), "--interval 99ms: want at least 100ms", "Run validates before it reads")

	for want, s := range map[string]*Session{
		"--duration -1s: must not be negative":  {Interval: time.Second, Settings: alpha, Duration: -time.Second},
		"--alpha 0.7: want a value in (0, 0.5)": {Interval: time.Second, Settings: analysis.Settings{Alpha: 0.7}},
	} {
		err := s.Validate()
		require.ErrorAs(t, err, &ue, want)
		require.EqualError(t, err, want)
	}

	err = (&Session{Interval: time.Second, Settings: alpha, Web: warroom.Config{Addr: "0.0.0.0:0"}}).Validate()
	require.ErrorIs(t, err, listen.ErrOpenDoor)
	assert.NotErrorAs(t, err, &ue, "a refused listener is not a usage error (exit 1, as before)")
}
