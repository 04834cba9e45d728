package query

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/steadystate/steadystate/queries"
)

// Run is one recorded run of an experiment (`analyze run start|stop`).
type Run struct {
	ID           string    `json:"id"`
	ExperimentID string    `json:"experiment_id"`
	Start        time.Time `json:"start"`
	// End is nil while the run is going on.
	End      *time.Time `json:"end,omitempty"`
	Operator string     `json:"operator,omitempty"`
	Note     string     `json:"note,omitempty"`
}

// Window is the closed-open interval [Since, Until).
type Window struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// Duration is Until - Since.
func (w Window) Duration() time.Duration { return w.Until.Sub(w.Since) }

// ErrNoRun is returned when an experiment has no recorded run.
var ErrNoRun = errors.New("no recorded run")

// ErrRunOpen is returned by StartRun while the latest run has not stopped.
var ErrRunOpen = errors.New("a run is already in progress")

// Runs returns the experiment's runs, newest first (analyze/runs.sql).
func (r *Reader) Runs(ctx context.Context, experimentID string, limit int) ([]Run, error) {
	rows, err := r.C.Query(ctx, "analyze/runs.sql", queries.Params{"experiment_id": experimentID, "limit": limit})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var (
			run                Run
			started, ended     uint64
			operator, note, id string
		)
		if err := rows.Scan(&id, &run.ExperimentID, &started, &ended, &operator, &note); err != nil {
			return nil, fmt.Errorf("scan runs: %w", err)
		}
		run.ID, run.Operator, run.Note = id, operator, note
		run.Start = time.Unix(0, int64(started)).UTC()
		if ended > 0 {
			e := time.Unix(0, int64(ended)).UTC()
			run.End = &e
		}
		out = append(out, run)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	return out, nil
}

// LatestRun returns the experiment's newest run, or ErrNoRun.
func (r *Reader) LatestRun(ctx context.Context, experimentID string) (*Run, error) {
	runs, err := r.Runs(ctx, experimentID, 1)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("experiment %s: %w", experimentID, ErrNoRun)
	}
	return &runs[0], nil
}

// StartRun records a new run starting at now. It refuses while the latest
// run is still open (stop it first).
func (r *Reader) StartRun(ctx context.Context, experimentID, operator, note string, now time.Time) (*Run, error) {
	last, err := r.LatestRun(ctx, experimentID)
	switch {
	case err == nil && last.End == nil:
		return nil, fmt.Errorf("experiment %s: %w (run %s since %s): stop it first", experimentID, ErrRunOpen, last.ID, last.Start.Format(time.RFC3339))
	case err != nil && !errors.Is(err, ErrNoRun):
		return nil, err
	}
	run := Run{ID: "run-" + now.UTC().Format("20060102T150405.000Z"), ExperimentID: experimentID, Start: now.UTC(), Operator: operator, Note: note}
	if err := r.writeRun(ctx, &run, now); err != nil {
		return nil, err
	}
	return &run, nil
}

// StopRun ends the experiment's open run at now.
func (r *Reader) StopRun(ctx context.Context, experimentID string, now time.Time) (*Run, error) {
	last, err := r.LatestRun(ctx, experimentID)
	if err != nil {
		return nil, err
	}
	if last.End != nil {
		return nil, fmt.Errorf("experiment %s: the latest run %s already stopped at %s", experimentID, last.ID, last.End.Format(time.RFC3339))
	}
	end := now.UTC()
	if !end.After(last.Start) {
		end = last.Start.Add(time.Second)
	}
	last.End = &end
	if err := r.writeRun(ctx, last, now); err != nil {
		return nil, err
	}
	return last, nil
}

// writeRun inserts the run's row; a newer updated_ns replaces an older
// row of the same run (ReplacingMergeTree, read with FINAL).
func (r *Reader) writeRun(ctx context.Context, run *Run, now time.Time) error {
	insert, err := r.C.InsertSQL("write/runs_insert.sql")
	if err != nil {
		return err
	}
	batch, err := r.C.Conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("prepare run insert: %w", err)
	}
	defer func() { _ = batch.Close() }()
	var ended uint64
	if run.End != nil {
		ended = uint64(run.End.UnixNano())
	}
	if err := batch.Append(run.ID, run.ExperimentID, uint64(run.Start.UnixNano()), ended, run.Operator, run.Note, uint64(now.UnixNano())); err != nil {
		return fmt.Errorf("append run: %w", err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert run %s: %w", run.ID, err)
	}
	return nil
}

// RunWindow is the window of a run: its start until its end, or until now
// while it is going on.
func RunWindow(run *Run, now time.Time) Window {
	end := now
	if run.End != nil {
		end = *run.End
	}
	return Window{Since: run.Start, Until: end}
}

// RunListing is one row of `analyze run list`: a run and the last overall
// verdict recorded for it in the verdict history.
type RunListing struct {
	Run
	// LastVerdict is the last overall verdict live or compare recorded
	// for the run ("" when none); Looks how many evaluations recorded it.
	LastVerdict string `json:"last_verdict,omitempty"`
	Looks       int64  `json:"looks"`
}

// RunList returns recorded runs, newest first, of one experiment or of
// every experiment ("") (analyze/run_list.sql); none is an empty slice,
// not nil (the JSON of `analyze run list` is [] then).
func (r *Reader) RunList(ctx context.Context, experimentID string, limit int) ([]RunListing, error) {
	rows, err := r.C.Query(ctx, "analyze/run_list.sql", queries.Params{"experiment_id": experimentID, "limit": limit})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RunListing{}
	for rows.Next() {
		var (
			l              RunListing
			started, ended uint64
			looks          uint64
		)
		if err := rows.Scan(&l.ID, &l.ExperimentID, &started, &ended, &l.Operator, &l.Note, &l.LastVerdict, &looks); err != nil {
			return nil, fmt.Errorf("scan run list: %w", err)
		}
		l.Start = time.Unix(0, int64(started)).UTC()
		if ended > 0 {
			e := time.Unix(0, int64(ended)).UTC()
			l.End = &e
		}
		l.Looks = int64(looks)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read run list: %w", err)
	}
	return out, nil
}
