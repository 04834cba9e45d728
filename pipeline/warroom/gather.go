package warroom

import (
	"context"
	"time"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/query"
)

// seriesStep is the chart bucket in seconds: the cohort_stats bucket.
const seriesStep = 10

// maxLookback bounds the traffic shown before the run.
const maxLookback = 5 * time.Minute

// Gatherer reads what the page shows besides the comparison.
type Gatherer struct {
	R *query.Reader
	// Experiment is the definition (nil for an ad-hoc experiment: no
	// flows, no expected alerts, all traffic charted).
	Experiment *experiment.Experiment
	ID         string
	// Flows are the definitions of the experiment's flows.
	Flows []experiment.Flow
	// ConsumerGroup is the sink's group, whose progress gives the flows'
	// watermark.
	ConsumerGroup string
	Interval      time.Duration
}

// Gather builds the snapshot of one look. A part that cannot be read is
// named in Problems rather than failing the look.
func (g *Gatherer) Gather(ctx context.Context, res *analysis.Result, now time.Time) *Snapshot {
	snap := &Snapshot{Result: res, IntervalSeconds: g.Interval.Seconds(), Series: []SeriesPoint{}, Alerts: []AlertStatus{}}
	since := res.Window.Since
	elapsed := now.Sub(since)
	before := min(max(elapsed, time.Minute), maxLookback)
	var err error
	if snap.Series, err = g.series(ctx, since.Add(-before), now); err != nil {
		snap.Problems = append(snap.Problems, "charts: "+err.Error())
	}
	if len(g.Flows) > 0 {
		if snap.Flows, err = g.flows(ctx, now, max(elapsed, time.Minute)); err != nil {
			snap.Problems = append(snap.Problems, "flows: "+err.Error())
		}
	}
	if snap.Alerts, err = g.alerts(ctx, since, now); err != nil {
		snap.Problems = append(snap.Problems, "alerts: "+err.Error())
	}
	return snap
}

func (g *Gatherer) series(ctx context.Context, since, until time.Time) ([]SeriesPoint, error) {
	req := query.SeriesRequest{ExperimentID: g.ID, Since: since, Until: until.Add(time.Second), Step: seriesStep * time.Second}
	if e := g.Experiment; e != nil && len(e.SLIs) > 0 {
		req.Service, req.Operation = e.SLIs[0].Filter.Service, e.SLIs[0].Filter.Operation
	}
	rows, err := g.R.Series(ctx, req)
	if err != nil {
		return nil, err
	}
	out := make([]SeriesPoint, 0, len(rows))
	for _, p := range rows {
		out = append(out, SeriesPoint{Time: p.Time, Cohort: p.Cohort, Events: p.Events, Errors: p.Errors, P99ms: p.P99ms})
	}
	return out, nil
}

func (g *Gatherer) flows(ctx context.Context, now time.Time, since time.Duration) (*flows.Report, error) {
	cfg := flows.NewDefaultConfig()
	if g.ConsumerGroup != "" {
		cfg.ConsumerGroup = g.ConsumerGroup
	}
	chk, err := flows.NewChecker(cfg, g.R.C, g.Flows)
	if err != nil {
		return nil, err
	}
	rep, err := chk.Check(ctx, now, since)
	if err != nil {
		return nil, err
	}
	for i := range rep.Flows {
		if len(rep.Flows[i].Stuck) > 8 {
			rep.Flows[i].StuckOmitted += len(rep.Flows[i].Stuck) - 8
			rep.Flows[i].Stuck = rep.Flows[i].Stuck[:8]
		}
	}
	return rep, nil
}

func (g *Gatherer) alerts(ctx context.Context, since, until time.Time) ([]AlertStatus, error) {
	out := []AlertStatus{}
	if g.Experiment == nil || len(g.Experiment.ExpectedAlerts) == 0 {
		return out, nil
	}
	for _, a := range g.Experiment.ExpectedAlerts {
		out = append(out, AlertStatus{Name: a.Name, Severity: a.Severity, WithinSeconds: a.Within.Seconds()})
	}
	rows, err := g.R.AlertEvents(ctx, g.ID, since, until)
	if err != nil {
		return out, err
	}
	for _, ev := range rows {
		for i := range out {
			if out[i].Name == ev.Name && ev.Status == "firing" && !out[i].Fired {
				t := ev.Time
				out[i].Fired, out[i].FiredAt = true, &t
			}
		}
	}
	return out, nil
}
