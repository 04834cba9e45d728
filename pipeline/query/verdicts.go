package query

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

	SLI  string
	Type string
	Unit string
	// AnalysisUnit is the randomization unit of the evaluation ("subject",
	// "event", ...); ControlUnits and ExperimentUnits the distinct units
	// behind N (ratio SLIs analysed per unit; 0 otherwise).
	AnalysisUnit    string
	ControlN        int64
	ExperimentN     int64
	ControlUnits    int64
	ExperimentUnits int64
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

	// ChangedFrom is the SLI's verdict at the previous look when it
	// changed at this one ("" otherwise), ChangeReason why; WriteVerdicts
	// records such changes in verdict_changes too.
	ChangedFrom  string
	ChangeReason string
}

// WriteVerdicts appends an evaluation's rows to the verdict history.
func (r *Reader) WriteVerdicts(ctx context.Context, rows []VerdictRow) error {
	if len(rows) == 0 {
		return nil
	}
	insert, err := r.C.InsertSQL("write/verdict_history_insert.sql")
	if err != nil {
		return fmt.Errorf("render verdict history insert: %w", err)
	}
	batch, err := r.C.Conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("prepare verdict history insert: %w", err)
	}
	defer func() { _ = batch.Close() }()
	for _, v := range rows {
		var since uint64
		if v.StopSince != nil {
			since = unixNano(*v.StopSince)
		}
		if err := batch.Append(v.ExperimentID, v.RunID, v.Source, v.Time, unixNano(v.Time), unixNano(v.Window.Since), unixNano(v.Window.Until),
			v.Overall, b2u(v.Stop), v.SLI, v.Type, v.Unit, v.AnalysisUnit, uint64(max(v.ControlN, 0)), uint64(max(v.ExperimentN, 0)),
			uint64(max(v.ControlUnits, 0)), uint64(max(v.ExperimentUnits, 0)),
			v.ControlValue, v.ExperimentValue, v.Effect, v.CILower, v.CIUpper, b2u(v.LowerBounded), b2u(v.UpperBounded),
			v.PValue, v.AdjustedPValue, v.Verdict, b2u(v.Provisional), v.StopCondition, b2u(v.StopCrossed), b2u(v.StopHolds),
			v.StopValue, since); err != nil {
			return fmt.Errorf("append verdict history row %s: %w", v.SLI, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert verdict history of %s: %w", rows[0].ExperimentID, err)
	}
	return r.writeChanges(ctx, rows)
}

// writeChanges records the rows whose verdict changed at their look.
func (r *Reader) writeChanges(ctx context.Context, rows []VerdictRow) error {
	var changed []VerdictRow
	for _, v := range rows {
		if v.ChangedFrom != "" {
			changed = append(changed, v)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	insert, err := r.C.InsertSQL("write/verdict_changes_insert.sql")
	if err != nil {
		return fmt.Errorf("render verdict changes insert: %w", err)
	}
	batch, err := r.C.Conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("prepare verdict changes insert: %w", err)
	}
	defer func() { _ = batch.Close() }()
	for _, v := range changed {
		if err := batch.Append(v.ExperimentID, v.RunID, v.Source, v.Time, unixNano(v.Time), v.SLI, v.ChangedFrom, v.Verdict, v.ChangeReason); err != nil {
			return fmt.Errorf("append verdict change %s: %w", v.SLI, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert verdict changes of %s: %w", changed[0].ExperimentID, err)
	}
	return nil
}

// VerdictChangeRow is one change of an SLI's verdict at a look
// (analyze/verdict_changes.sql).
type VerdictChangeRow struct {
	Time             time.Time
	RunID, SLI       string
	From, To, Reason string
}

// VerdictChanges reads the experiment's verdict changes of one source in
// [since, until), oldest first.
func (r *Reader) VerdictChanges(ctx context.Context, experimentID, source string, since, until time.Time) ([]VerdictChangeRow, error) {
	rows, err := r.C.Query(ctx, "analyze/verdict_changes.sql", queries.Params{
		"experiment_id": experimentID, "source": source, "since_ns": int64(unixNano(since)), "until_ns": int64(unixNano(until)),
	})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []VerdictChangeRow
	for rows.Next() {
		var (
			v  VerdictChangeRow
			ns uint64
		)
		if err := rows.Scan(&ns, &v.RunID, &v.SLI, &v.From, &v.To, &v.Reason); err != nil {
			return nil, fmt.Errorf("scan verdict changes: %w", err)
		}
		v.Time = time.Unix(0, int64(ns)).UTC()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read verdict changes: %w", err)
	}
	return out, nil
}

// VerdictHistory reads the experiment's history rows of one source in
// [since, until), oldest look first (analyze/verdict_history.sql).
func (r *Reader) VerdictHistory(ctx context.Context, experimentID, source string, since, until time.Time) ([]VerdictRow, error) {
	rows, err := r.C.Query(ctx, "analyze/verdict_history.sql", queries.Params{
		"experiment_id": experimentID, "source": source, "since_ns": int64(unixNano(since)), "until_ns": int64(unixNano(until)),
	})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []VerdictRow
	for rows.Next() {
		var (
			v                                           VerdictRow
			ns, cn, en, stopSince                       uint64
			stop, prov, crossed, holds                  uint8
			runID, overall, sli, verdict, stopCondition string
		)
		if err := rows.Scan(&ns, &runID, &overall, &stop, &sli, &cn, &en, &v.ControlValue, &v.ExperimentValue, &v.Effect,
			&v.CILower, &v.CIUpper, &v.PValue, &v.AdjustedPValue, &verdict, &prov, &stopCondition, &crossed, &holds, &v.StopValue, &stopSince); err != nil {
			return nil, fmt.Errorf("scan verdict history: %w", err)
		}
		v.ExperimentID, v.RunID, v.Source, v.Overall, v.SLI, v.Verdict, v.StopCondition = experimentID, runID, source, overall, sli, verdict, stopCondition
		v.Time = time.Unix(0, int64(ns)).UTC()
		v.ControlN, v.ExperimentN = int64(cn), int64(en)
		v.Stop, v.Provisional, v.StopCrossed, v.StopHolds = stop == 1, prov == 1, crossed == 1, holds == 1
		if stopSince > 0 {
			t := time.Unix(0, int64(stopSince)).UTC()
			v.StopSince = &t
		}
		out = append(out, v)
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
