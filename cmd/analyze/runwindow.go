package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// postRunWindow is the time range a post-run command looks at.
type postRunWindow struct {
	RunID    string
	Start    time.Time
	End      time.Time
	Operator string
	Note     string
	// Open says the run had not stopped; End is then the time of the query.
	Open bool
}

// postRunWindowFlags are the --run / --since / --until flags of post-run commands.
type postRunWindowFlags struct {
	Run   string
	Since string
	Until string
}

// parseWhen reads an RFC 3339 time or a duration before now ("30m").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-11-21T10:00:00Z) or a duration before now (30m)", s)
}

// resolvePostRunWindow picks the window: --since/--until when given, else the
// run named by --run, else the experiment's latest run.
func resolvePostRunWindow(ctx context.Context, c *store.Client, experimentID string, fl postRunWindowFlags, now time.Time) (postRunWindow, error) {
	if err := telemetry.ValidateID(experimentID); err != nil {
		return postRunWindow{}, fmt.Errorf("experiment id: %w", err)
	}
	if fl.Since != "" || fl.Until != "" {
		if fl.Since == "" {
			return postRunWindow{}, errors.New("--until needs --since")
		}
		start, err := parseWhen(fl.Since, now)
		if err != nil {
			return postRunWindow{}, fmt.Errorf("--since %w", err)
		}
		end := now.UTC()
		if fl.Until != "" {
			if end, err = parseWhen(fl.Until, now); err != nil {
				return postRunWindow{}, fmt.Errorf("--until %w", err)
			}
		}
		if !end.After(start) {
			return postRunWindow{}, fmt.Errorf("--until %s is not after --since %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
		}
		return postRunWindow{RunID: fl.Run, Start: start, End: end}, nil
	}
	rows, err := c.Query(ctx, "analyze/runs.sql", map[string]any{"experiment_id": experimentID, "limit": 1000})
	if err != nil {
		return postRunWindow{}, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var w postRunWindow
		var exp string
		var startNs, endNs uint64
		if err := rows.Scan(&w.RunID, &exp, &startNs, &endNs, &w.Operator, &w.Note); err != nil {
			return postRunWindow{}, fmt.Errorf("read runs of %s: %w", experimentID, err)
		}
		ids = append(ids, w.RunID)
		if fl.Run != "" && w.RunID != fl.Run {
			continue
		}
		w.Start = time.Unix(0, int64(startNs)).UTC()
		if endNs == 0 {
			w.Open, w.End = true, now.UTC()
		} else {
			w.End = time.Unix(0, int64(endNs)).UTC()
		}
		return w, nil
	}
	if err := rows.Err(); err != nil {
		return postRunWindow{}, fmt.Errorf("read runs of %s: %w", experimentID, err)
	}
	if fl.Run != "" {
		if len(ids) == 0 {
			return postRunWindow{}, fmt.Errorf("experiment %s has no runs; record one with `analyze run start %s` or give --since/--until", experimentID, experimentID)
		}
		return postRunWindow{}, fmt.Errorf("experiment %s has no run %q (runs: %s)", experimentID, fl.Run, strings.Join(ids, ", "))
	}
	return postRunWindow{}, fmt.Errorf("experiment %s has no runs; record one with `analyze run start %s` or give --since/--until", experimentID, experimentID)
}
