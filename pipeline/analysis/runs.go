package analysis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/steadystate/steadystate/queries"
)

// ErrNoRun is returned when an experiment has no recorded run.
var ErrNoRun = errors.New("no recorded run")

// ErrRunOpen is returned by StartRun while the latest run has not stopped.
var ErrRunOpen = errors.New("a run is already in progress")

// Runs returns the experiment's runs, newest first (analyze/runs.sql).
func (s *Store) Runs(ctx context.Context, experimentID string, limit int) ([]Run, error) {
	rows, err := s.C.Query(ctx, "analyze/runs.sql", queries.Params{"experiment_id": experimentID, "limit": limit})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var (
			r                  Run
			started, ended     uint64
			operator, note, id string
		)
		if err := rows.Scan(&id, &r.ExperimentID, &started, &ended, &operator, &note); err != nil {
			return nil, fmt.Errorf("scan runs: %w", err)
		}
		r.ID, r.Operator, r.Note = id, operator, note
		r.Start = time.Unix(0, int64(started)).UTC()
		if ended > 0 {
			e := time.Unix(0, int64(ended)).UTC()
			r.End = &e
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	return out, nil
}

// LatestRun returns the experiment's newest run, or ErrNoRun.
func (s *Store) LatestRun(ctx context.Context, experimentID string) (*Run, error) {
	runs, err := s.Runs(ctx, experimentID, 1)
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
func (s *Store) StartRun(ctx context.Context, experimentID, operator, note string, now time.Time) (*Run, error) {
	last, err := s.LatestRun(ctx, experimentID)
	switch {
	case err == nil && last.End == nil:
		return nil, fmt.Errorf("experiment %s: %w (run %s since %s): stop it first", experimentID, ErrRunOpen, last.ID, last.Start.Format(time.RFC3339))
	case err != nil && !errors.Is(err, ErrNoRun):
		return nil, err
	}
	r := Run{ID: "run-" + now.UTC().Format("20060102T150405.000Z"), ExperimentID: experimentID, Start: now.UTC(), Operator: operator, Note: note}
	if err := s.writeRun(ctx, &r, now); err != nil {
		return nil, err
	}
	return &r, nil
}

// StopRun ends the experiment's open run at now.
func (s *Store) StopRun(ctx context.Context, experimentID string, now time.Time) (*Run, error) {
	last, err := s.LatestRun(ctx, experimentID)
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
	if err := s.writeRun(ctx, last, now); err != nil {
		return nil, err
	}
	return last, nil
}

// writeRun inserts the run's row; a newer updated_ns replaces an older
// row of the same run (ReplacingMergeTree, read with FINAL).
func (s *Store) writeRun(ctx context.Context, r *Run, now time.Time) error {
	batch, err := s.C.Conn.PrepareBatch(ctx, fmt.Sprintf(
		"INSERT INTO %s.runs (run_id, experiment_id, started_ns, ended_ns, operator, note, updated_ns)", s.C.DB))
	if err != nil {
		return fmt.Errorf("prepare run insert: %w", err)
	}
	defer func() { _ = batch.Close() }()
	var ended uint64
	if r.End != nil {
		ended = uint64(r.End.UnixNano())
	}
	if err := batch.Append(r.ID, r.ExperimentID, uint64(r.Start.UnixNano()), ended, r.Operator, r.Note, uint64(now.UnixNano())); err != nil {
		return fmt.Errorf("append run: %w", err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert run %s: %w", r.ID, err)
	}
	return nil
}

// RunWindow is the window of a run: its start until its end, or until now
// while it is going on.
func RunWindow(r *Run, now time.Time) Window {
	end := now
	if r.End != nil {
		end = *r.End
	}
	return Window{Since: r.Start, Until: end}
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
// every experiment ("") (analyze/run_list.sql).
func (s *Store) RunList(ctx context.Context, experimentID string, limit int) ([]RunListing, error) {
	rows, err := s.C.Query(ctx, "analyze/run_list.sql", queries.Params{"experiment_id": experimentID, "limit": limit})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RunListing
	for rows.Next() {
		var (
			r              RunListing
			started, ended uint64
			looks          uint64
		)
		if err := rows.Scan(&r.ID, &r.ExperimentID, &started, &ended, &r.Operator, &r.Note, &r.LastVerdict, &looks); err != nil {
			return nil, fmt.Errorf("scan run list: %w", err)
		}
		r.Start = time.Unix(0, int64(started)).UTC()
		if ended > 0 {
			e := time.Unix(0, int64(ended)).UTC()
			r.End = &e
		}
		r.Looks = int64(looks)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read run list: %w", err)
	}
	return out, nil
}
