package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
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

// parseWhen reads an RFC 3339 time or a duration before now ("30m", also
// written "-30m").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-11-21T10:00:00Z) or a duration before now (30m)", s)
}

// resolvePostRunWindow picks the window: --since/--until when given (--run
// then only labels it), else the run named by --run, else the
// experiment's latest run. Unlike compare it never falls back to the
// definition's window: a report is about a recorded run.
func resolvePostRunWindow(ctx context.Context, c *store.Client, experimentID string, fl postRunWindowFlags, now time.Time) (postRunWindow, error) {
	if err := telemetry.ValidateID(experimentID); err != nil {
		return postRunWindow{}, fmt.Errorf("experiment id: %w", err)
	}
	if fl.Since != "" || fl.Until != "" {
		if fl.Since == "" {
			return postRunWindow{}, cliutil.FlagErrorf("--until needs --since")
		}
		start, err := parseTime("since", fl.Since, now)
		if err != nil {
			return postRunWindow{}, err
		}
		end := now.UTC()
		if fl.Until != "" {
			if end, err = parseTime("until", fl.Until, now); err != nil {
				return postRunWindow{}, err
			}
		}
		if !end.After(start) {
			return postRunWindow{}, cliutil.FlagErrorf("--until %s is not after --since %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
		}
		return postRunWindow{RunID: fl.Run, Start: start, End: end}, nil
	}
	runs, err := (&analysis.Store{C: c}).Runs(ctx, experimentID, 1000)
	if err != nil {
		return postRunWindow{}, fmt.Errorf("runs of %s: %w", experimentID, err)
	}
	if len(runs) == 0 {
		return postRunWindow{}, fmt.Errorf("experiment %s has no runs; record one with `analyze run start %s` or give --since/--until", experimentID, experimentID)
	}
	ids := make([]string, 0, len(runs))
	for i := range runs {
		r := &runs[i]
		ids = append(ids, r.ID)
		if fl.Run != "" && r.ID != fl.Run {
			continue
		}
		w := analysis.RunWindow(r, now.UTC())
		return postRunWindow{RunID: r.ID, Start: w.Since, End: w.Until, Operator: r.Operator, Note: r.Note, Open: r.End == nil}, nil
	}
	return postRunWindow{}, fmt.Errorf("experiment %s has no run %q (runs: %s)", experimentID, fl.Run, strings.Join(ids, ", "))
}
