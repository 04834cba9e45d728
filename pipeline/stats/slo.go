package stats

import (
	"fmt"
	"math"
)

// SLOStatus summarises good/bad events against an SLO objective (the
// target good ratio, e.g. 0.999).
type SLOStatus struct {
	// Good is the number of good events.
	Good int64
	// Bad is the number of bad events.
	Bad int64
	// GoodRatio is Good/(Good+Bad); 1 when there are no events.
	GoodRatio float64
	// BadRatio is Bad/(Good+Bad); 0 when there are no events.
	BadRatio float64
	// BudgetConsumed is the share of the error budget used:
	// Bad / (total * (1-objective)). 1 means the budget is exhausted. It
	// equals BurnRate numerically; pass the SLO period's events for budget
	// consumption and a short window's events for burn rate.
	BudgetConsumed float64
	// BurnRate is BadRatio/(1-objective): 1 burns the budget exactly over
	// the SLO period, 14.4 burns a 30-day budget in 2 days.
	BurnRate float64
	// NoData is true when there were no events; ratios then take the
	// defaults above and budget and burn rate are 0.
	NoData bool
}

// SLO computes good/bad ratios, error-budget consumption and burn rate for
// a window of events. objective must be in (0, 1).
func SLO(good, bad int64, objective float64) (SLOStatus, error) {
	if good < 0 || bad < 0 {
		return SLOStatus{}, fmt.Errorf("slo: negative count good=%d bad=%d", good, bad)
	}
	if !(objective > 0 && objective < 1) {
		return SLOStatus{}, fmt.Errorf("slo: objective %v outside (0, 1)", objective)
	}
	total := good + bad
	st := SLOStatus{Good: good, Bad: bad}
	if total == 0 {
		st.GoodRatio = 1
		st.NoData = true
		return st, nil
	}
	budget := 1 - objective
	st.BadRatio = float64(bad) / float64(total)
	st.GoodRatio = float64(good) / float64(total)
	st.BudgetConsumed = st.BadRatio / budget
	st.BurnRate = st.BadRatio / budget
	return st, nil
}

// ErrorBudgetConsumed returns bad / (total * (1-objective)) and false when
// total is zero (reported as 0).
func ErrorBudgetConsumed(bad, total int64, objective float64) (float64, bool, error) {
	if bad > total {
		return 0, false, fmt.Errorf("error budget: bad %d exceeds total %d", bad, total)
	}
	st, err := SLO(total-bad, bad, objective)
	if err != nil {
		return 0, false, fmt.Errorf("error budget: %w", err)
	}
	return st.BudgetConsumed, !st.NoData, nil
}

// BurnRate returns (bad/total)/(1-objective) over a window and false when
// total is zero (reported as 0).
func BurnRate(bad, total int64, objective float64) (float64, bool, error) {
	if bad > total {
		return 0, false, fmt.Errorf("burn rate: bad %d exceeds total %d", bad, total)
	}
	st, err := SLO(total-bad, bad, objective)
	if err != nil {
		return 0, false, fmt.Errorf("burn rate: %w", err)
	}
	return st.BurnRate, !st.NoData, nil
}

// BurnRateStop is a stop condition on burn rate evaluated over a long and
// a short window (multi-window burn-rate alerting): it trips when both
// windows burn faster than MaxBurnRate, so that a brief spike alone does
// not stop the experiment and a recovered one does not keep it stopped.
type BurnRateStop struct {
	// Objective is the SLO target good ratio, in (0, 1).
	Objective float64
	// MaxBurnRate is the burn rate above which the experiment stops.
	MaxBurnRate float64
}

// Tripped reports whether both windows exceed MaxBurnRate. Windows without
// events never trip.
func (s BurnRateStop) Tripped(longWindow, shortWindow Counts) (bool, error) {
	if !(s.MaxBurnRate > 0) || math.IsInf(s.MaxBurnRate, 0) {
		return false, fmt.Errorf("burn rate stop: max burn rate %v must be positive and finite", s.MaxBurnRate)
	}
	for _, w := range []Counts{longWindow, shortWindow} {
		if err := w.validate(); err != nil {
			return false, fmt.Errorf("burn rate stop: %w", err)
		}
		br, ok, err := BurnRate(w.Bad, w.Total, s.Objective)
		if err != nil {
			return false, fmt.Errorf("burn rate stop: %w", err)
		}
		if !ok || br <= s.MaxBurnRate {
			return false, nil
		}
	}
	return true, nil
}
