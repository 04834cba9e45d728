//go:build integration

package clustertest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/internal/testkit/clustertest"
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
	dir, err := os.MkdirTemp("", "cluster-bin")
	if err != nil {
		panic(err)
	}
	binDir = dir
	root := clustertest.RepoRoot()
	if out, err := exec.Command("go", "build", "-o", dir+"/", filepath.Join(root, "cmd/analyze"), filepath.Join(root, "cmd/ingest")).CombinedOutput(); err != nil {
		panic(fmt.Sprintf("build binaries: %v\n%s", err, out))
	}
	if out, err := clustertest.Up(); err != nil {
		fmt.Fprintln(os.Stderr, out)
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a child process with its output in a buffer.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func startProc(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name + " " + args[0], cmd: exec.Command(filepath.Join(binDir, name), args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", p.name, tail(p.Logs(), 3000))
		}
	})
	return p
}

func (p *proc) waitLog(t *testing.T, what string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(p.Logs(), what) {
			return
		}
	}
	t.Fatalf("%s: no %q within %s:\n%s", p.name, what, within, tail(p.Logs(), 4000))
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
		require.NoError(t, p.err, "%s exit after SIGTERM:\n%s", p.name, tail(p.Logs(), 2000))
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: no exit 60s after SIGTERM:\n%s", p.name, tail(p.Logs(), 2000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// startSink runs `ingest sink` on a topic for a database.
func startSink(t *testing.T, env []string, topic, group string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"sink", "--topic", topic, "--group", group, "--admin", "127.0.0.1:0", "--max-age", "200ms", "--max-rows", "5000"}, extra...)
	p := startProc(t, env, "ingest", args...)
	p.waitLog(t, "sink running", 60*time.Second)
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
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err, "%s %v", name, args)
	}
	return stdout.String(), stderr.String(), code
}
