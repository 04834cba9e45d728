//go:build integration

package clustertest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/clustertest"
	"github.com/steadystate/steadystate/internal/testkit/proctest"
	"github.com/steadystate/steadystate/pipeline/produce"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

var binDir string

// TestMain builds the binaries and starts the cluster's engines when they
// do not run (the tests start their own serve and sink processes, on a
// topic and database of their own). The engines stay up for the next run;
// `make down CLUSTER=1` stops them.
func TestMain(m *testing.M) {
	dir, err := proctest.Build("analyze", "ingest")
	if err != nil {
		panic(err)
	}
	binDir = dir
	if out, err := clustertest.Up(); err != nil {
		fmt.Fprintln(os.Stderr, out)
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a child process (internal/testkit/proctest).
type proc = proctest.Proc

func startProc(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	return proctest.Start(t, env, filepath.Join(binDir, name), args...)
}

// startSink runs `ingest sink` on a topic for a database.
func startSink(t *testing.T, env []string, topic, group string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"sink", "--topic", topic, "--group", group, "--admin", "127.0.0.1:0", "--max-age", "200ms", "--max-rows", "5000"}, extra...)
	p := startProc(t, env, "ingest", args...)
	p.WaitLog(t, "sink running", 60*time.Second)
	return p
}

func publish(ctx context.Context, brokers []string, topic string, events []telemetry.Event) error {
	cfg := produce.NewDefaultConfig()
	cfg.Topic, cfg.Brokers = topic, brokers
	p, err := produce.New(cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	for lo := 0; lo < len(events); lo += 5000 {
		if err := p.Publish(ctx, events[lo:min(lo+5000, len(events))]); err != nil {
			return err
		}
	}
	return nil
}

func scalar(ctx context.Context, t *testing.T, c *store.Client, sql string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, c.Conn.QueryRow(ctx, strings.ReplaceAll(sql, "{DB}", c.DB)).Scan(&n), sql)
	return n
}

// waitScalar polls a count until it reaches want.
func waitScalar(ctx context.Context, t *testing.T, c *store.Client, sql string, want uint64, within time.Duration) uint64 {
	t.Helper()
	var got uint64
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		var n uint64
		if err := c.Conn.QueryRow(ctx, strings.ReplaceAll(sql, "{DB}", c.DB)).Scan(&n); err == nil {
			got = n
			if got >= want {
				return got
			}
		}
	}
	return got
}

// runCLI runs a binary and returns its stdout, stderr and exit code.
func runCLI(t *testing.T, env []string, name string, args ...string) (string, string, int) {
	t.Helper()
	return proctest.Run(t, env, filepath.Join(binDir, name), args...)
}
