package analysis

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
)

// Target is what compare, live and replay read: an experiment and the
// window its --run, --since and --until flags pick.
type Target struct {
	// ID is the experiment as tagged in telemetry.
	ID string
	// Experiment is its definition, or nil: the default SLIs of whatever
	// telemetry carries the id.
	Experiment *experiment.Experiment
	Window     query.WindowFlags
}

// Resolve picks the target's window (query.Reader.ResolveWindow):
// --since/--until, else the run named by --run, else the latest run, else
// the window written in the definition.
func (t Target) Resolve(ctx context.Context, r *query.Reader, now time.Time) (query.Resolved, error) {
	return r.ResolveWindow(ctx, query.WindowRequest{ExperimentID: t.ID, Flags: t.Window, Definition: t.definitionWindow()}, now)
}

// definitionWindow is the window written in the definition, or nil.
func (t Target) definitionWindow() *query.Window {
	if t.Experiment == nil || t.Experiment.Window == nil {
		return nil
	}
	return &query.Window{Since: t.Experiment.Window.Start, Until: t.Experiment.Window.End}
}

// Request is the comparison of the target over window w of run (nil when
// the window is not a recorded run's).
func (t Target) Request(w Window, run *Run) Request {
	return Request{ExperimentID: t.ID, Experiment: t.Experiment, Window: w, Run: run}
}

// CompareOnce is `analyze compare`: it resolves the target's window,
// compares once (Compare) and records the verdicts in the verdict history.
// A failed history write does not fail the comparison: it is said on warn.
func CompareOnce(ctx context.Context, r *query.Reader, t Target, set Settings, now time.Time, warn io.Writer) (*Result, error) {
	win, err := t.Resolve(ctx, r, now)
	if err != nil {
		return nil, err
	}
	res, err := Compare(ctx, &Store{C: r.C}, t.Request(win.Window, win.Run), set, now)
	if err != nil {
		return nil, err
	}
	if err := r.WriteVerdicts(ctx, VerdictRows(res, HistoryCompare)); err != nil {
		fmt.Fprintf(warn, "analyze compare: recording the verdict history: %v\n", err)
	}
	return res, nil
}

// ReplayOutcome is what an A/A replay of a stored window found.
type ReplayOutcome struct {
	// Unit names the randomization unit the halves were split by.
	Unit    string
	Window  Window
	Summary ReplaySummary
	// Took is how long the replays took (reading the events excluded).
	Took time.Duration
}

// ReplayStored is `analyze replay`: it resolves the target's window,
// reads the control cohort's events there and replays them runs times
// (Replay), a look every tick. A window without control events is an
// error.
func ReplayStored(ctx context.Context, r *query.Reader, t Target, runs int, tick time.Duration, now time.Time) (ReplayOutcome, error) {
	win, err := t.Resolve(ctx, r, now)
	if err != nil {
		return ReplayOutcome{}, err
	}
	w := win.Window
	unitAttr, unitName := ReplayUnit(t.Experiment)
	rows, err := r.ReplayEvents(ctx, t.ID, w, unitAttr)
	if err != nil {
		return ReplayOutcome{}, err
	}
	if len(rows) == 0 {
		return ReplayOutcome{}, fmt.Errorf("replay %s: no control events in %s .. %s", t.ID, w.Since.Format(time.RFC3339), w.Until.Format(time.RFC3339))
	}
	events := ReplayEventsOf(rows, unitName == "event")
	start := time.Now()
	s, err := Replay(ctx, events, t.Request(w, nil), Settings{}, runs, tick)
	if err != nil {
		return ReplayOutcome{}, err
	}
	return ReplayOutcome{Unit: unitName, Window: w, Summary: s, Took: time.Since(start)}, nil
}
