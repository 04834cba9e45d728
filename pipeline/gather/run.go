package gather

import (
	"context"
	"fmt"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/findings"
	"github.com/steadystate/steadystate/pipeline/query"
)

// HistoryRuns is how many runs the report's history section shows.
const HistoryRuns = 5

// NewRequest resolves the window of an experiment's run (the latest
// unless wf names another; --since/--until any window) and names what to
// gather. An experiment known only from telemetry (no definition) is
// gathered like compare compares it: on the default SLIs, with no flows
// or expected alerts.
func NewRequest(ctx context.Context, r *query.Reader, spec *experiment.Spec, experimentID string, wf query.WindowFlags, now time.Time) (Request, error) {
	e, defined := spec.Experiment(experimentID)
	if !defined {
		e = &experiment.Experiment{ID: experimentID}
	}
	win, err := r.ResolveWindow(ctx, query.WindowRequest{ExperimentID: experimentID, Flags: wf, LabelRun: true}, now)
	if err != nil {
		return Request{}, err
	}
	return Request{Spec: spec, Experiment: e, Window: win, Now: now, AdHoc: !defined}, nil
}

// Report gathers everything the report and the backlog of a run are
// computed from; with a recorded run, the experiment's earlier runs too
// (HistoryRuns), for the run-history section.
func Report(ctx context.Context, r *query.Reader, req Request) (findings.Input, error) {
	in, err := Input(ctx, r, req)
	if err != nil {
		return findings.Input{}, err
	}
	if req.Window.Run != nil {
		if in.History, err = History(ctx, r, req, in, HistoryRuns); err != nil {
			return findings.Input{}, err
		}
	}
	return in, nil
}

// RunHistory sets the experiment's latest runs side by side (analyze run
// history): the newest recorded run and up to runs-1 before it. A single
// run is a history of one.
func RunHistory(ctx context.Context, r *query.Reader, req Request, runs int) (*findings.History, error) {
	if req.Window.Run == nil {
		id := req.Experiment.ID
		return nil, fmt.Errorf("experiment %s has no recorded run (analyze run start %s)", id, id)
	}
	cur, err := Input(ctx, r, req)
	if err != nil {
		return nil, err
	}
	h, err := History(ctx, r, req, cur, runs)
	if err != nil {
		return nil, err
	}
	if h == nil {
		h = findings.BuildHistory([]findings.RunAnalysis{{Input: cur, Result: findings.Derive(cur)}})
	}
	return h, nil
}

// LoadReport is what `analyze report` and `analyze backlog` read: the
// report input (Report) of the experiment's run that wf picks (the latest
// by default), "what is different" keeping every attribute when
// allAttributes.
func LoadReport(ctx context.Context, r *query.Reader, spec *experiment.Spec, experimentID string, wf query.WindowFlags, now time.Time, allAttributes bool) (findings.Input, error) {
	req, err := NewRequest(ctx, r, spec, experimentID, wf, now)
	if err != nil {
		return findings.Input{}, err
	}
	req.AllAttributes = allAttributes
	return Report(ctx, r, req)
}

// LoadRunHistory is `analyze run history`: the experiment's latest runs
// (at most runs of them) side by side (RunHistory).
func LoadRunHistory(ctx context.Context, r *query.Reader, spec *experiment.Spec, experimentID string, runs int, now time.Time) (*findings.History, error) {
	req, err := NewRequest(ctx, r, spec, experimentID, query.WindowFlags{}, now)
	if err != nil {
		return nil, err
	}
	return RunHistory(ctx, r, req, runs)
}
