// Package proctest runs the project's binaries as child processes in
// tests: it builds them (with -race when the test itself runs under the
// race detector, so the children are checked too), starts them with their
// output captured, waits for a log line, stops them with SIGTERM and
// checks they exit cleanly. The cmd/ tests and the cluster tests share it.
package proctest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RepoRoot is the module's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Build builds cmd/<name> for each name into a new temporary directory
// and returns it (remove it when done). Under the race detector the
// binaries are built with -race.
func Build(names ...string) (string, error) {
	dir, err := os.MkdirTemp("", "steadystate-bin")
	if err != nil {
		return "", err
	}
	args := []string{"build", "-o", dir + "/"}
	if raceEnabled {
		args = append(args, "-race")
	}
	for _, n := range names {
		args = append(args, filepath.Join(RepoRoot(), "cmd", n))
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("build %v: %w\n%s", names, err, out)
	}
	return dir, nil
}

// Proc is a running child process with its output in a buffer.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (p *Proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Logs returns everything the process wrote to stdout and stderr so far.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Done is closed when the process has exited; Err is then its exit error.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the process's exit error, valid after Done.
func (p *Proc) Err() error { return p.err }

// Start runs bin with args and env added to this process's environment.
// It is killed (after a SIGCONT, should a test have stopped it) when the
// test ends, and its output is logged when the test failed.
func Start(t testing.TB, env []string, bin string, args ...string) *Proc {
	t.Helper()
	name := filepath.Base(bin)
	if len(args) > 0 {
		name += " " + args[0]
	}
	p := &Proc{Name: name, Cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p, p
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.Cmd.Process.Signal(syscall.SIGCONT)
		_ = p.Cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", p.Name, Tail(p.Logs(), 4000))
		}
	})
	return p
}

// WaitLog waits until the output contains what.
func (p *Proc) WaitLog(t testing.TB, what string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(p.Logs(), what) {
			return
		}
	}
	t.Fatalf("%s: no %q within %s:\n%s", p.Name, what, within, Tail(p.Logs(), 4000))
}

// Stop sends SIGTERM and fails the test unless the process exits 0 within
// the given time.
func (p *Proc) Stop(t testing.TB, within time.Duration) {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: SIGTERM: %v", p.Name, err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("%s: exit after SIGTERM: %v\n%s", p.Name, p.err, Tail(p.Logs(), 2000))
		}
	case <-time.After(within):
		t.Fatalf("%s: no exit %s after SIGTERM:\n%s", p.Name, within, Tail(p.Logs(), 2000))
	}
}

// Run runs bin to completion and returns its stdout, stderr and exit code.
func Run(t testing.TB, env []string, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return o.String(), e.String(), code
}

// Tail is the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
