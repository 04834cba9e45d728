package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/steadystate/steadystate/cmd/internal/cliutil"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/store"
)

// windowFlags are the flags compare and live share to pick a window.
type windowFlags struct {
	RunID string
	Since string
	Until string
}

// parseTime reads a --since/--until value (see parseWhen) and names the
// flag in the usage error.
func parseTime(flag, v string, now time.Time) (time.Time, error) {
	t, err := parseWhen(v, now)
	if err != nil {
		return time.Time{}, cliutil.FlagErrorf("--%s %v", flag, err)
	}
	return t, nil
}

// openStore connects to ClickHouse.
func openStore(ctx context.Context, f *factory) (*store.Client, error) {
	c, err := store.Open(ctx, f.StoreConfig())
	if err != nil {
		return nil, err
	}
	return c, nil
}

// lookupExperiment returns the definition of id, or nil when there is none
// (compare then uses the default SLIs).
func lookupExperiment(f *factory, id string) (*experiment.Experiment, error) {
	spec, err := f.Spec()
	if err != nil {
		return nil, err
	}
	e, _ := spec.Experiment(id)
	return e, nil
}

// resolveWindow picks the window: --since/--until, else --run, else the
// latest run, else the definition's window.
func resolveWindow(ctx context.Context, st *analysis.Store, id string, e *experiment.Experiment, wf windowFlags, now time.Time) (analysis.Window, *analysis.Run, error) {
	if wf.Since != "" || wf.Until != "" {
		if wf.RunID != "" {
			return analysis.Window{}, nil, cliutil.FlagErrorf("--run and --since/--until exclude each other")
		}
		if wf.Since == "" {
			return analysis.Window{}, nil, cliutil.FlagErrorf("--until needs --since")
		}
		since, err := parseTime("since", wf.Since, now)
		if err != nil {
			return analysis.Window{}, nil, err
		}
		until := now
		if wf.Until != "" {
			if until, err = parseTime("until", wf.Until, now); err != nil {
				return analysis.Window{}, nil, err
			}
		}
		if !until.After(since) {
			return analysis.Window{}, nil, cliutil.FlagErrorf("--until %s is not after --since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
		}
		return analysis.Window{Since: since, Until: until}, nil, nil
	}
	if wf.RunID != "" {
		runs, err := st.Runs(ctx, id, 1000)
		if err != nil {
			return analysis.Window{}, nil, err
		}
		for i := range runs {
			if runs[i].ID == wf.RunID {
				return analysis.RunWindow(&runs[i], now), &runs[i], nil
			}
		}
		return analysis.Window{}, nil, fmt.Errorf("experiment %s has no run %q (analyze run start records one)", id, wf.RunID)
	}
	run, err := st.LatestRun(ctx, id)
	switch {
	case err == nil:
		return analysis.RunWindow(run, now), run, nil
	case !errors.Is(err, analysis.ErrNoRun):
		return analysis.Window{}, nil, err
	}
	if e != nil && e.Window != nil {
		return analysis.Window{Since: e.Window.Start, Until: e.Window.End}, nil, nil
	}
	return analysis.Window{}, nil, fmt.Errorf("experiment %s has no recorded run and no window in its definition: give --since (and --until), or record one with `analyze run start %s`", id, id)
}

func contextWithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
