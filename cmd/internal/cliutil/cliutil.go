// Package cliutil holds what both command-line programs share: IO streams
// that tests can replace, typed exit codes, the mapping from errors to
// exit codes, the admin server and logger, and the flags several commands
// register the same way (flags.go).
package cliutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// ExitCode is a process exit status.
type ExitCode int

// Exit codes shared by ingest and analyze.
const (
	ExitOK    ExitCode = 0
	ExitError ExitCode = 1
	// ExitUsage is a bad flag or argument.
	ExitUsage ExitCode = 2
	// ExitVerdict means the command worked and what it checked failed: a
	// failing comparison verdict, a met stop condition, a stuck flow.
	ExitVerdict ExitCode = 3
)

// IOStreams are the standard streams of a command.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY says whether Out is a terminal (tables) or a pipe (JSON lines).
	OutTTY bool
	ErrTTY bool
}

// System returns the process's streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, OutTTY: IsTerminal(os.Stdout), ErrTTY: IsTerminal(os.Stderr)}
}

// Test returns streams backed by buffers, for tests.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// IsTerminal says whether f is a terminal; files, pipes and /dev/null are
// not. It asks the terminal driver (golang.org/x/term), not the file mode:
// /dev/null is a character device but not a terminal.
func IsTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// FlagError is a usage error: the command prints its usage with it.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// VerdictError says the command ran and its check failed (exit 3).
type VerdictError struct{ Msg string }

func (e *VerdictError) Error() string { return e.Msg }

// Verdictf is the end of a command that checks: a *VerdictError saying
// why when failed, else nil.
func Verdictf(failed bool, format string, args ...any) error {
	if !failed {
		return nil
	}
	return &VerdictError{Msg: fmt.Sprintf(format, args...)}
}

// usageError is implemented by the pipeline's own usage errors (such as
// query.UsageError for a bad --since), which cannot import this package;
// verdictError likewise by its failed checks (such as live.StopError).
type (
	usageError   interface{ UsageError() }
	verdictError interface{ Verdict() }
)

// Code maps an error returned by a command to its exit code.
func Code(err error) ExitCode {
	var fe *FlagError
	var ve *VerdictError
	var ue usageError
	var pv verdictError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ve), errors.As(err, &pv):
		return ExitVerdict
	case errors.As(err, &fe), errors.As(err, &ue):
		return ExitUsage
	default:
		return ExitError
	}
}

// Run ends a command's RunE, gh's way: runF, a test's hook that gets the
// options the flags filled, when it is set, else run.
func Run[O any](ctx context.Context, opts O, runF func(O) error, run func(context.Context, O) error) error {
	if runF != nil {
		return runF(opts)
	}
	return run(ctx, opts)
}

// SignalContext is cancelled on SIGINT or SIGTERM, so long-running commands
// shut down gracefully.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
