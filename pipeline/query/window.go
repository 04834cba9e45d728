package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// WindowFlags are the --run, --since and --until flags every command that
// reads one window of an experiment takes (compare, live, report,
// backlog, export).
type WindowFlags struct {
	Run   string
	Since string
	Until string
}

// WindowRequest asks ResolveWindow for the window of one experiment.
type WindowRequest struct {
	ExperimentID string
	Flags        WindowFlags
	// Definition is the window written in the experiment's definition,
	// the last fallback when no run is recorded (compare and live). Post-run
	// commands leave it nil: a report is about a recorded run.
	Definition *Window
	// LabelRun: with --since/--until, --run only names the window (the
	// post-run commands label files with it) instead of being refused.
	LabelRun bool
}

// Resolved is the window a command reads.
type Resolved struct {
	Window Window
	// Run is the recorded run the window is of; nil for --since/--until or
	// the definition's window.
	Run *Run
	// Label names the window: the run's id, or --run given with
	// --since/--until when LabelRun; "" otherwise.
	Label string
}

// Open reports whether the window's end is "now": a run not stopped yet.
func (r Resolved) Open() bool { return r.Run != nil && r.Run.End == nil }

// UsageError is the caller's mistake: a bad flag value or combination
// (--run/--since/--until here; --flow, --since and the watermark settings
// of the flow checks; live's notification and war-room addresses). The
// commands exit 2 on it (cliutil.Code recognises the UsageError method).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// UsageError marks the error as the caller's mistake.
func (e *UsageError) UsageError() {}

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ParseWhen reads an RFC 3339 time or a duration before now ("30m", also
// written "-30m").
func ParseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-11-21T10:00:00Z) or a duration before now (30m)", s)
}

// ParseFlagTime is ParseWhen for the flag named flag; a bad value is a
// UsageError naming it.
func ParseFlagTime(flag, v string, now time.Time) (time.Time, error) {
	t, err := ParseWhen(v, now)
	if err != nil {
		return time.Time{}, Usagef("--%s %w", flag, err)
	}
	return t, nil
}

// maxRuns bounds how many runs --run searches.
const maxRuns = 1000

// ResolveWindow is the one place that picks the window: --since/--until
// when given; else the run named by --run; else the latest run; else the
// definition's window when the request has one.
func (r *Reader) ResolveWindow(ctx context.Context, req WindowRequest, now time.Time) (Resolved, error) {
	id, fl := req.ExperimentID, req.Flags
	if err := telemetry.ValidateID(id); err != nil {
		return Resolved{}, Usagef("experiment id: %w", err)
	}
	if fl.Since != "" || fl.Until != "" {
		if fl.Run != "" && !req.LabelRun {
			return Resolved{}, Usagef("--run and --since/--until exclude each other")
		}
		if fl.Since == "" {
			return Resolved{}, Usagef("--until needs --since")
		}
		since, err := ParseFlagTime("since", fl.Since, now)
		if err != nil {
			return Resolved{}, err
		}
		until := now.UTC()
		if fl.Until != "" {
			if until, err = ParseFlagTime("until", fl.Until, now); err != nil {
				return Resolved{}, err
			}
		}
		if !until.After(since) {
			return Resolved{}, Usagef("--until %s is not after --since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
		}
		return Resolved{Window: Window{Since: since, Until: until}, Label: fl.Run}, nil
	}
	if fl.Run != "" {
		runs, err := r.Runs(ctx, id, maxRuns)
		if err != nil {
			return Resolved{}, fmt.Errorf("runs of %s: %w", id, err)
		}
		ids := make([]string, 0, len(runs))
		for i := range runs {
			if runs[i].ID == fl.Run {
				return Resolved{Window: RunWindow(&runs[i], now.UTC()), Run: &runs[i], Label: runs[i].ID}, nil
			}
			ids = append(ids, runs[i].ID)
		}
		if len(ids) == 0 {
			return Resolved{}, fmt.Errorf("experiment %s has no run %q (analyze run start records one)", id, fl.Run)
		}
		return Resolved{}, fmt.Errorf("experiment %s has no run %q (runs: %s)", id, fl.Run, strings.Join(ids, ", "))
	}
	run, err := r.LatestRun(ctx, id)
	switch {
	case err == nil:
		return Resolved{Window: RunWindow(run, now.UTC()), Run: run, Label: run.ID}, nil
	case !errors.Is(err, ErrNoRun):
		return Resolved{}, err
	case req.Definition != nil:
		return Resolved{Window: *req.Definition}, nil
	case req.LabelRun:
		return Resolved{}, fmt.Errorf("experiment %s has no runs; record one with `analyze run start %s` or give --since/--until", id, id)
	}
	return Resolved{}, fmt.Errorf("experiment %s has no recorded run and no window in its definition: give --since (and --until), or record one with `analyze run start %s`", id, id)
}
