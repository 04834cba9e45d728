package warroom

import (
	"context"
	"fmt"
	"time"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/queries"
)

// seriesStep is the chart bucket: the cohort_stats bucket.
const seriesStep = 10

// maxLookback bounds the traffic shown before the run.
const maxLookback = 5 * time.Minute

// Gatherer reads what the page shows besides the comparison.
type Gatherer struct {
	C *store.Client
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
	service, operation := "", ""
	if e := g.Experiment; e != nil && len(e.SLIs) > 0 {
		service, operation = e.SLIs[0].Filter.Service, e.SLIs[0].Filter.Operation
	}
	rows, err := g.C.Query(ctx, "analyze/cohort_series.sql", queries.Params{
		"experiment_id": g.ID, "since_s": since.Unix() / seriesStep * seriesStep, "until_s": until.Unix() + 1,
		"service": service, "operation": operation, "step_s": seriesStep,
	})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []SeriesPoint{}
	for rows.Next() {
		var (
			t        time.Time
			cohort   string
			n, e     uint64
			p50, p99 float32
		)
		if err := rows.Scan(&t, &cohort, &n, &e, &p50, &p99); err != nil {
			return nil, fmt.Errorf("scan cohort series: %w", err)
		}
		out = append(out, SeriesPoint{Time: t.UTC(), Cohort: cohort, Events: int64(n), Errors: int64(e), P99ms: float64(p99)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cohort series: %w", err)
	}
	return out, nil
}

func (g *Gatherer) flows(ctx context.Context, now time.Time, since time.Duration) (*flows.Report, error) {
	cfg := flows.NewDefaultConfig()
	if g.ConsumerGroup != "" {
		cfg.ConsumerGroup = g.ConsumerGroup
	}
	chk, err := flows.NewChecker(cfg, g.C, g.Flows)
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
	rows, err := g.C.Query(ctx, "analyze/alert_events.sql", queries.Params{"experiment_id": g.ID, "since_s": since.Unix(), "until_s": until.Unix() + 1})
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name, severity, state, cohort, fingerprint string
			ns                                         uint64
		)
		if err := rows.Scan(&name, &severity, &state, &ns, &cohort, &fingerprint); err != nil {
			return out, fmt.Errorf("scan alert events: %w", err)
		}
		for i := range out {
			if out[i].Name == name && state == "firing" && !out[i].Fired {
				t := time.Unix(0, int64(ns)).UTC()
				out[i].Fired, out[i].FiredAt = true, &t
			}
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("read alert events: %w", err)
	}
	return out, nil
}
