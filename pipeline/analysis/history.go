package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/steadystate/steadystate/queries"
)

// Sources of verdict history rows.
const (
	// HistoryLive marks the looks of `analyze live` (anytime-valid).
	HistoryLive = "live"
	// HistoryCompare marks the one-off evaluations of `analyze compare`.
	HistoryCompare = "compare"
)

// VerdictRow is one SLI of one evaluation, as stored in the
// verdict_history table (queries/schema/0015_verdict_history.up.sql).
type VerdictRow struct {
	ExperimentID string
	RunID        string
	Source       string
	Time         time.Time
	Window       Window
	// Overall is the evaluation's overall verdict; Stop whether any stop
	// condition held at that look.
	Overall string
	Stop    bool

	SLI             string
	Type            string
	Unit            string
	ControlN        int64
	ExperimentN     int64
	ControlValue    float64
	ExperimentValue float64
	Effect          float64
	CILower         float64
	CIUpper         float64
	LowerBounded    bool
	UpperBounded    bool
	PValue          float64
	AdjustedPValue  float64
	Verdict         string
	Provisional     bool

	// StopCondition describes the SLI's stop condition ("> 0.2 for 30s"),
	// "" without one; the other Stop* fields are its state at the look.
	StopCondition string
	StopCrossed   bool
	StopHolds     bool
	StopValue     float64
	StopSince     *time.Time
}

// VerdictRows turns one evaluation into its history rows, one per SLI.
func VerdictRows(res *Result, source string) []VerdictRow {
	runID := ""
	if res.Run != nil {
		runID = res.Run.ID
	}
	stops := map[string]StopStatus{}
	for _, s := range res.StopConditions {
		if _, seen := stops[s.SLI]; !seen || s.Holds {
			stops[s.SLI] = s
		}
	}
	out := make([]VerdictRow, 0, len(res.Metrics))
	for _, m := range res.Metrics {
		r := VerdictRow{
			ExperimentID: res.ExperimentID, RunID: runID, Source: source, Time: res.GeneratedAt.UTC(), Window: res.Window,
			Overall: string(res.Verdict), Stop: res.Stop,
			SLI: m.Name, Type: m.Type, Unit: m.Unit, ControlN: m.Control.N, ExperimentN: m.Experiment.N,
			ControlValue: m.Control.Value, ExperimentValue: m.Experiment.Value, Effect: m.Effect.Absolute,
			CILower: m.CI.Lower, CIUpper: m.CI.Upper, LowerBounded: m.CI.LowerBounded, UpperBounded: m.CI.UpperBounded,
			PValue: m.PValue, AdjustedPValue: m.AdjustedPValue, Verdict: string(m.Verdict), Provisional: m.Provisional,
		}
		if s, ok := stops[m.Name]; ok {
			r.StopCondition = fmt.Sprintf("%s %g", s.Op, s.Threshold)
			if s.For != "" {
				r.StopCondition += " for " + s.For
			}
			r.StopCrossed, r.StopHolds, r.StopValue, r.StopSince = s.Crossed, s.Holds, s.Value, s.Since
		}
		out = append(out, r)
	}
	return out
}

// verdictColumns is the column list of the history insert (18.16 needs
// one for batches).
const verdictColumns = "experiment_id, run_id, source, evaluated_at, evaluated_ns, window_since_ns, window_until_ns, overall_verdict, stop, " +
	"sli, sli_type, unit, control_n, experiment_n, control_value, experiment_value, effect, ci_lower, ci_upper, ci_lower_bounded, ci_upper_bounded, " +
	"p_value, adjusted_p_value, verdict, provisional, stop_condition, stop_crossed, stop_holds, stop_value, stop_since_ns"

// WriteVerdicts appends an evaluation's rows to the verdict history.
func (s *Store) WriteVerdicts(ctx context.Context, rows []VerdictRow) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := s.C.Conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.verdict_history (%s)", s.C.DB, verdictColumns))
	if err != nil {
		return fmt.Errorf("prepare verdict history insert: %w", err)
	}
	defer func() { _ = batch.Close() }()
	for _, r := range rows {
		var since uint64
		if r.StopSince != nil {
			since = unixNano(*r.StopSince)
		}
		if err := batch.Append(r.ExperimentID, r.RunID, r.Source, r.Time, unixNano(r.Time), unixNano(r.Window.Since), unixNano(r.Window.Until),
			r.Overall, b2u(r.Stop), r.SLI, r.Type, r.Unit, uint64(max(r.ControlN, 0)), uint64(max(r.ExperimentN, 0)),
			r.ControlValue, r.ExperimentValue, r.Effect, r.CILower, r.CIUpper, b2u(r.LowerBounded), b2u(r.UpperBounded),
			r.PValue, r.AdjustedPValue, r.Verdict, b2u(r.Provisional), r.StopCondition, b2u(r.StopCrossed), b2u(r.StopHolds),
			r.StopValue, since); err != nil {
			return fmt.Errorf("append verdict history row %s: %w", r.SLI, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert verdict history of %s: %w", rows[0].ExperimentID, err)
	}
	return nil
}

// VerdictHistory reads the experiment's history rows of one source in
// [since, until), oldest look first (analyze/verdict_history.sql).
func (s *Store) VerdictHistory(ctx context.Context, experimentID, source string, since, until time.Time) ([]VerdictRow, error) {
	rows, err := s.C.Query(ctx, "analyze/verdict_history.sql", queries.Params{
		"experiment_id": experimentID, "source": source, "since_ns": int64(unixNano(since)), "until_ns": int64(unixNano(until)),
	})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []VerdictRow
	for rows.Next() {
		var (
			r                                           VerdictRow
			ns, cn, en, stopSince                       uint64
			stop, prov, crossed, holds                  uint8
			runID, overall, sli, verdict, stopCondition string
		)
		if err := rows.Scan(&ns, &runID, &overall, &stop, &sli, &cn, &en, &r.ControlValue, &r.ExperimentValue, &r.Effect,
			&r.CILower, &r.CIUpper, &r.PValue, &r.AdjustedPValue, &verdict, &prov, &stopCondition, &crossed, &holds, &r.StopValue, &stopSince); err != nil {
			return nil, fmt.Errorf("scan verdict history: %w", err)
		}
		r.ExperimentID, r.RunID, r.Source, r.Overall, r.SLI, r.Verdict, r.StopCondition = experimentID, runID, source, overall, sli, verdict, stopCondition
		r.Time = time.Unix(0, int64(ns)).UTC()
		r.ControlN, r.ExperimentN = int64(cn), int64(en)
		r.Stop, r.Provisional, r.StopCrossed, r.StopHolds = stop == 1, prov == 1, crossed == 1, holds == 1
		if stopSince > 0 {
			t := time.Unix(0, int64(stopSince)).UTC()
			r.StopSince = &t
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read verdict history: %w", err)
	}
	return out, nil
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() || t.UnixNano() < 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
