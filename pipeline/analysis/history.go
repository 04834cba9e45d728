package analysis

import (
	"fmt"

	"github.com/steadystate/steadystate/pipeline/query"
)

// Sources of verdict history rows.
const (
	// HistoryLive marks the looks of `analyze live` (anytime-valid).
	HistoryLive = query.HistoryLive
	// HistoryCompare marks the one-off evaluations of `analyze compare`.
	HistoryCompare = query.HistoryCompare
)

// VerdictRow is one SLI of one evaluation in the verdict history
// (pipeline/query writes and reads it).
type VerdictRow = query.VerdictRow

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
			SLI: m.Name, Type: m.Type, Unit: m.Unit, AnalysisUnit: res.Unit, ControlN: m.Control.N, ExperimentN: m.Experiment.N,
			ControlUnits: m.Control.Units, ExperimentUnits: m.Experiment.Units,
			ControlValue: m.Control.Value, ExperimentValue: m.Experiment.Value, Effect: m.Effect.Absolute,
			CILower: m.CI.Lower, CIUpper: m.CI.Upper, LowerBounded: m.CI.LowerBounded, UpperBounded: m.CI.UpperBounded,
			PValue: m.PValue, AdjustedPValue: m.AdjustedPValue, Verdict: string(m.Verdict), Provisional: m.Provisional,
		}
		for _, c := range m.VerdictChanges {
			if c.At.Equal(res.GeneratedAt) {
				r.ChangedFrom, r.ChangeReason = string(c.From), c.Reason
			}
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
