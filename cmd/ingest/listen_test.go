package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/listen"
)

// runIngest runs the ingest command line and returns its error and stderr.
func runIngest(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ios, _, _, errOut := cliutil.Test()
	root := newRootCmd(&factory{IO: ios})
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return errOut.String(), err
}

// No open door: a listener beyond loopback without tokens refuses to
// start, before anything listens or Kafka is dialled, and says why.
func TestListenersRefuseOpenDoor(t *testing.T) {
	t.Setenv(listen.EnvInsecure, "")
	t.Setenv(EnvTokens, "")
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"serve http", []string{"serve", "--http", "0.0.0.0:0"}, []string{"ingest OTLP/HTTP and events (--http 0.0.0.0:0)", "STEADYSTATE_INGEST_TOKENS", "--insecure-listen"}},
		{"serve grpc", []string{"serve", "--grpc", ":0"}, []string{"ingest OTLP/gRPC (--grpc :0)"}},
		{"serve admin", []string{"serve", "--admin", "0.0.0.0:0"}, []string{"ingest admin", "--admin 0.0.0.0:0"}},
		{"serve admin with tokens", []string{"serve", "--admin", "[::]:0", "--token-file", "/nonexistent"}, []string{"ingest admin"}},
		{"sink admin", []string{"sink", "--admin", "0.0.0.0:0"}, []string{"sink admin", "--admin 0.0.0.0:0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runIngest(t, tt.args...)
			require.ErrorIs(t, err, listen.ErrOpenDoor)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// With tokens the ingest ports may face the network (the check passes; the
// command then fails later for an unrelated reason: the experiments
// directory does not exist), and --insecure-listen lets every port open.
func TestListenersAllowedWithTokensOrInsecure(t *testing.T) {
	t.Setenv(listen.EnvInsecure, "")
	t.Setenv(EnvTokens, "s3cret")
	_, err := runIngest(t, "serve", "--http", "0.0.0.0:0", "--grpc", "0.0.0.0:0", "--experiments", "/nonexistent-dir")
	require.Error(t, err)
	require.NotErrorIs(t, err, listen.ErrOpenDoor)
	t.Setenv(EnvTokens, "")
	_, err = runIngest(t, "serve", "--http", "0.0.0.0:0", "--admin", "0.0.0.0:0", "--insecure-listen", "--experiments", "/nonexistent-dir")
	require.Error(t, err)
	require.NotErrorIs(t, err, listen.ErrOpenDoor)
	t.Setenv(listen.EnvInsecure, "1")
	_, err = runIngest(t, "serve", "--http", "0.0.0.0:0", "--experiments", "/nonexistent-dir")
	require.Error(t, err)
	require.NotErrorIs(t, err, listen.ErrOpenDoor)
}
