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
