package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/steadystate/steadystate/pipeline/query"
)

// Request is one `analyze export`.
type Request struct {
	ExperimentID string
	// Window picks the run (the latest by default) or any window.
	Window query.WindowFlags
	Format Format
	// Path is the output file, "-" for Stdout; "" names it
	// <experiment>-<run>.<extension>.
	Path   string
	Stdout io.Writer
	// Untagged also exports the untagged traffic of the window.
	Untagged  bool
	BatchRows int
	Now       time.Time
}

// Validate checks the request before anything connects: a known Format
// and a positive BatchRows. A bad one is a *query.UsageError naming the
// flag.
func (req Request) Validate() error {
	if _, err := ParseFormat(string(req.Format)); err != nil {
		return query.Usagef("--format: %w", err)
	}
	if req.BatchRows <= 0 {
		return query.Usagef("--batch-rows %d: must be positive", req.BatchRows)
	}
	return nil
}

// Progress shows an export's progress (a progress bar on a terminal).
type Progress interface {
	Set(rows int64)
	Done(rows int64)
}

// Result is what an export wrote.
type Result struct {
	Path   string
	Rows   int64
	Window query.Resolved
}

// Summary is the line `analyze export` prints after writing a file:
// how many events of which window went where.
func (r Result) Summary(experimentID string) string {
	w := r.Window.Window
	return fmt.Sprintf("wrote %d events of %s (%s to %s) to %s", r.Rows, experimentID, w.Since.Format(time.RFC3339), w.Until.Format(time.RFC3339), r.Path)
}

// Run validates the request, resolves the window, streams its deduplicated events from
// ClickHouse and writes them to the file. With newProgress set, the events
// are counted first and the progress is reported as they are written.
func Run(ctx context.Context, r *query.Reader, req Request, newProgress func(total int64) Progress) (Result, error) {
	if err := req.Validate(); err != nil {
		return Result{}, err
	}
	win, err := r.ResolveWindow(ctx, query.WindowRequest{ExperimentID: req.ExperimentID, Flags: req.Window, LabelRun: true}, req.Now)
	if err != nil {
		return Result{}, err
	}
	q := query.EventsRequest{ExperimentID: req.ExperimentID, Since: win.Window.Since, Until: win.Window.Until, Untagged: req.Untagged}
	var set func(int64)
	var done func(int64)
	if newProgress != nil {
		total, err := r.CountEvents(ctx, q)
		if err != nil {
			return Result{}, err
		}
		p := newProgress(int64(total))
		set, done = p.Set, p.Done
	}
	path := req.Path
	if path == "" {
		path = DefaultPath(req.ExperimentID, win, req.Format)
	}
	rows, err := WriteFile(path, req.Stdout, req.Format, Options{BatchRows: req.BatchRows}, r.Events(ctx, q), set)
	if errors.Is(err, ErrArrowNeedsFile) {
		return Result{}, &query.UsageError{Err: err}
	}
	if err != nil {
		return Result{}, err
	}
	if done != nil {
		done(rows)
	}
	return Result{Path: path, Rows: rows, Window: win}, nil
}

// DefaultPath names an export's file: <experiment>-<run>.<extension>, the
// window's start standing in for a run.
func DefaultPath(experimentID string, win query.Resolved, f Format) string {
	name := win.Label
	if name == "" {
		name = win.Window.Since.Format("20060102T150405Z")
	}
	return fmt.Sprintf("%s-%s.%s", experimentID, name, Extension(f))
}
