package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/store"
)

func testFactory(t *testing.T) (*factory, *bytes.Buffer) {
	t.Helper()
	ios, _, out, _ := cliutil.Test()
	return &factory{IO: ios, StoreConfig: store.NewDefaultConfig}, out
}

func TestFlowsCheckFlags(t *testing.T) {
	f, _ := testFactory(t)
	var got *flowsCheckOptions
	cmd := newCmdFlowsCheck(f, func(o *flowsCheckOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--flow", "publish", "--since", "30m", "--output", "json", "--grace", "5s", "--consumer-group", "g1"})
	require.NoError(t, cmd.Execute())
	assert.Equal(t, "publish", got.Check.Flow)
	assert.Equal(t, 30*time.Minute, got.Check.Since)
	assert.Equal(t, "json", got.Output)
	assert.Equal(t, 5*time.Second, got.Check.Config.Watermark.Grace)
	assert.Equal(t, "g1", got.Check.Config.ConsumerGroup)

	cmd = newCmdFlowsCheck(f, func(*flowsCheckOptions) error { return nil })
	cmd.SetArgs([]string{"--output", "yaml"})
	err := cmd.Execute()
	assert.Equal(t, cliutil.ExitUsage, cliutil.Code(err))
	require.ErrorContains(t, err, `--output "yaml": want table or json`)

	// The selection is checked before anything connects.
	cmd = newCmdFlowsCheck(f, func(*flowsCheckOptions) error { t.Error("ran with a bad --since"); return nil })
	cmd.SetArgs([]string{"--since", "0s"})
	err = cmd.Execute()
	assert.Equal(t, cliutil.ExitUsage, cliutil.Code(err))
	assert.ErrorContains(t, err, "--since 0s: must be positive")
}

func TestWatchFlags(t *testing.T) {
	f, _ := testFactory(t)
	var got *watchOptions
	cmd := newCmdWatch(f, func(o *watchOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--interval", "2s", "--alertmanager", "http://a:9093", "--alertmanager", "http://b:9093", "--webhook", "http://w/x", "--slack-webhook", "https://hooks.slack.com/x"})
	require.NoError(t, cmd.Execute())
	assert.Equal(t, 2*time.Second, got.Watch.Interval)
	assert.Equal(t, []string{"http://a:9093", "http://b:9093"}, got.Notify.Alertmanager)
	assert.Equal(t, time.Minute, got.Watch.Resend)

	cmd = newCmdWatch(f, func(*watchOptions) error { return nil })
	cmd.SetArgs([]string{"--interval", "0s"})
	assert.Equal(t, cliutil.ExitUsage, cliutil.Code(cmd.Execute()))

	cmd = newCmdWatch(f, func(*watchOptions) error { t.Error("ran with a bad --stall-after"); return nil })
	cmd.SetArgs([]string{"--stall-after", "-1s"})
	assert.Equal(t, cliutil.ExitUsage, cliutil.Code(cmd.Execute()))
}
