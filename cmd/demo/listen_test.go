package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/listen"
)

// No open door: the demo's admin port (POST /chaos) has no tokens, so an
// --admin beyond loopback refuses to start, before anything runs, unless
// --insecure-listen or STEADYSTATE_INSECURE=1.
func TestDemoAdminFollowsTheListenerRule(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		env     string
		refused bool
	}{
		{"loopback", []string{"--admin", "127.0.0.1:0"}, "", false},
		{"every interface", []string{"--admin", "0.0.0.0:0"}, "", true},
		{"empty host", []string{"--admin", ":0"}, "", true},
		{"--insecure-listen", []string{"--admin", "0.0.0.0:0", "--insecure-listen"}, "", false},
		{"STEADYSTATE_INSECURE", []string{"--admin", "[::]:0"}, "1", false},
		{"no admin", []string{"--admin", ""}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(listen.EnvInsecure, tt.env)
			ios, _, _, _ := cliutil.Test()
			ran := false
			cmd := newRootCmd(ios, func(context.Context, *options) error { ran = true; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if !tt.refused {
				require.NoError(t, err)
				assert.True(t, ran)
				return
			}
			require.ErrorIs(t, err, listen.ErrOpenDoor)
			require.ErrorContains(t, err, "demo admin (POST /chaos, GET /status) (--admin ")
			require.ErrorContains(t, err, "--insecure-listen")
			assert.False(t, ran, "refused before it ran")
		})
	}
}
