package stats

import "fmt"

// VerdictChange records that a metric's verdict changed at a look and why.
type VerdictChange struct {
	// Look is the 1-based look at which the verdict changed.
	Look int
	// From and To are the verdicts before and after.
	From, To Verdict
	// Reason says why, in words.
	Reason string
}

// FamilyMonitor turns the per-look evidence of several metrics into live
// verdicts. Each look is decided as one family (Decide: Holm on the
// tolerance tests, adjusted intervals), with two live rules:
//
//   - a fail is final: the anytime-valid tests keep their level over all
//     looks, so a fail at any look is a fail of the run (and a fault that
//     stops later does not undo it);
//   - a pass is provisional: it is re-decided at every look from the
//     current interval, so a fault that starts later turns it into an
//     inconclusive or a fail, and a contradicted interval (the effect
//     changed) never passes.
//
// Every change is recorded with its reason. A FamilyMonitor is not safe
// for concurrent use.
type FamilyMonitor struct {
	alpha    float64
	adj      Adjustment
	looks    int
	verdicts []Verdict
	changes  [][]VerdictChange
}

// NewFamilyMonitor returns a monitor for metrics decided at alpha with adj.
func NewFamilyMonitor(alpha float64, adj Adjustment) (*FamilyMonitor, error) {
	if err := checkAlpha(alpha); err != nil {
		return nil, fmt.Errorf("family monitor: %w", err)
	}
	if _, err := Adjust(nil, adj); err != nil {
		return nil, fmt.Errorf("family monitor: %w", err)
	}
	return &FamilyMonitor{alpha: alpha, adj: adj}, nil
}

// Look decides the metrics (always the same metrics in the same order) at
// the next look. The returned changes hold, per metric, the change made at
// this look (nil when the verdict stayed).
func (f *FamilyMonitor) Look(metrics []MetricInput, srm bool) (Decision, []*VerdictChange, error) {
	if f.verdicts == nil {
		f.verdicts = make([]Verdict, len(metrics))
		f.changes = make([][]VerdictChange, len(metrics))
	}
	if len(metrics) != len(f.verdicts) {
		return Decision{}, nil, fmt.Errorf("family monitor: %d metrics, was %d", len(metrics), len(f.verdicts))
	}
	f.looks++
	d, err := Decide(metrics, f.alpha, f.adj, false)
	if err != nil {
		return Decision{}, nil, fmt.Errorf("family monitor: %w", err)
	}
	out := make([]*VerdictChange, len(metrics))
	verdicts := make([]Verdict, len(metrics))
	for i := range metrics { // Decide returns one decision per metric, in order
		prev := f.verdicts[i]
		v := d.Metrics[i].Verdict
		if prev == VerdictFail {
			v = VerdictFail
		}
		d.Metrics[i].Verdict = v
		verdicts[i] = v
		if v != prev {
			c := VerdictChange{Look: f.looks, From: prev, To: v, Reason: changeReason(prev, v, metrics[i], d.Metrics[i])}
			if prev == "" {
				c.From = VerdictInsufficientData
			}
			if c.From != c.To {
				f.changes[i] = append(f.changes[i], c)
				out[i] = &f.changes[i][len(f.changes[i])-1]
			}
		}
		f.verdicts[i] = v
	}
	d.Overall = Overall(srm, verdicts)
	return d, out, nil
}

// Changes returns the verdict changes of metric i so far.
func (f *FamilyMonitor) Changes(i int) []VerdictChange {
	if i < 0 || i >= len(f.changes) {
		return nil
	}
	return f.changes[i]
}

func changeReason(from, to Verdict, m MetricInput, d MetricDecision) string {
	switch to {
	case VerdictFail:
		return fmt.Sprintf("harm shown beyond the allowance: adjusted p %.3g <= alpha, harm-side bound at level %.3g beyond %.4g", d.AdjustedP, d.Level, m.Tolerance.Allowance(m.Evidence.Baseline))
	case VerdictPass:
		return "the interval excludes harm beyond the allowance"
	case VerdictInsufficientData:
		return "below the minimum sample"
	}
	switch {
	case m.Evidence.Contradicted && from == VerdictPass:
		return "the effect changed during the run: the interval contradicts earlier looks, so the earlier pass no longer holds"
	case from == VerdictPass:
		return "the interval now reaches beyond the allowance (the earlier pass was provisional)"
	case from == VerdictInsufficientData || from == "":
		return "minimum sample reached; neither pass nor fail shown yet"
	}
	return "neither pass nor fail shown"
}
