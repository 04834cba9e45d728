package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/listen"
)

// No open door: watch's page has no tokens, so a --listen beyond loopback
// refuses to start (before ClickHouse is dialled) unless --insecure-listen.
func TestWatchRefusesOpenListener(t *testing.T) {
	t.Setenv(listen.EnvInsecure, "")
	ios, _, _, errOut := cliutil.Test()
	code := run([]string{"--experiments", "../../experiments/examples", "watch", "--listen", "0.0.0.0:0"}, ios)
	require.Equal(t, cliutil.ExitError, code, errOut.String())
	assert.Contains(t, errOut.String(), "analyze watch (/metrics, /healthz, /flows) (--listen 0.0.0.0:0): refusing to listen beyond loopback without tokens")
	assert.Contains(t, errOut.String(), "--insecure-listen")
}

// The war room follows the same rule with the same flag: analyze live
// --web beyond loopback refuses without --web-token, before ClickHouse is
// dialled, unless --insecure-listen (or STEADYSTATE_INSECURE=1, or the
// deprecated --web-insecure) says so.
func TestLiveWebFollowsTheListenerRule(t *testing.T) {
	t.Setenv(listen.EnvInsecure, "")
	ios, _, _, errOut := cliutil.Test()
	code := run([]string{"--experiments", "../../experiments/examples", "live", "checkout-payment-500", "--web", "0.0.0.0:0"}, ios)
	require.Equal(t, cliutil.ExitError, code, errOut.String())
	assert.Contains(t, errOut.String(), "war room (analyze live --web) (--web 0.0.0.0:0): refusing to listen beyond loopback without tokens")
	assert.Contains(t, errOut.String(), "--web-token")
	assert.Contains(t, errOut.String(), "--insecure-listen")

	for _, tt := range []struct {
		name string
		args []string
		env  string
	}{
		{"token", []string{"--web-token", "s3cret"}, ""},
		{"--insecure-listen", []string{"--insecure-listen"}, ""},
		{"STEADYSTATE_INSECURE", nil, "1"},
		{"deprecated --web-insecure", []string{"--web-insecure"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(listen.EnvInsecure, tt.env)
			ios, _, _, _ := cliutil.Test()
			var got *liveOptions
			cmd := newCmdLive(&factory{IO: ios}, func(o *liveOptions) error { got = o; return nil })
			cmd.SetArgs(append([]string{"checkout-payment-500", "--web", "0.0.0.0:0"}, tt.args...))
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			require.NoError(t, cmd.Execute())
			require.NotNil(t, got)
			assert.Equal(t, "0.0.0.0:0", got.Web.Addr)
		})
	}
}
