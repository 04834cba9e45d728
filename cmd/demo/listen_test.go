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

// The demo reports errors the way ingest and analyze do (cliutil.Execute):
// one "demo: error: ..." line, a usage error exits 2 with a pointer to
// --help, and --version prints the build.
func TestDemoErrorsLikeTheOtherPrograms(t *testing.T) {
	ios, _, out, errOut := cliutil.Test()
	assert.Equal(t, cliutil.ExitUsage, run([]string{"--bogus"}, ios))
	assert.Equal(t, "demo: error: unknown flag: --bogus\nRun 'demo --help' for usage.\n", errOut.String())
	errOut.Reset()
	assert.Equal(t, cliutil.ExitUsage, run([]string{"extra"}, ios))
	assert.Contains(t, errOut.String(), "demo: error: unknown command \"extra\" for \"demo\"")
	assert.Equal(t, cliutil.ExitOK, run([]string{"--version"}, ios))
	assert.Contains(t, out.String(), "demo ")
	assert.Contains(t, out.String(), "(commit ")
}
