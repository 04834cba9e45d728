package flows

import (
	"fmt"
	"math/bits"
	"sort"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// MaxStages is the most stages a flow may have for the check (a stage
// mask is 64 bits).
const MaxStages = 64

// ItemRow is one row of the flow sweep (pipeline/query.FlowItems): the
// items of one flow key of one experiment, cohort and synthetic flag.
type ItemRow = query.ItemRow

// EvalSettings are the inputs of Evaluate besides the rows.
type EvalSettings struct {
	// Now is the evaluation time.
	Now time.Time
	// Watermark is the event time up to which items are judged; nil means
	// unknown: nothing is judged stuck and absence is not judged.
	Watermark *time.Time
}

// Evaluate judges one flow's rows. rows need not be sorted. The flow must
// have at most MaxStages stages.
func Evaluate(f *experiment.Flow, rows []ItemRow, set EvalSettings) FlowReport {
	n := len(f.Stages)
	rep := FlowReport{
		Flow: f.Name, Stages: make([]string, n), WithinSeconds: f.Within.Seconds(),
		Severity: string(f.Severity), Owner: f.Owner, RunbookURL: f.RunbookURL,
		Funnel: make([]StageCount, n), Cohorts: []CohortCounts{}, Stuck: []StuckItem{},
	}
	deadline := make([]int64, n)
	for i := range f.Stages {
		rep.Stages[i] = f.Stages[i].Name
		rep.Funnel[i].Stage = f.Stages[i].Name
		deadline[i] = int64(f.StageDeadline(i))
	}
	full := fullMask(n)
	wm := int64(-1)
	if set.Watermark != nil {
		wm = set.Watermark.UnixNano()
	}
	now := set.Now
	type cohortKey struct {
		exp    string
		cohort telemetry.Cohort
	}
	cohorts := map[cohortKey]*Counts{}
	var lastStarted, lastSynthDone int64

	for ri := range rows {
		r := &rows[ri]
		if !r.Synthetic {
			lastStarted = max(lastStarted, r.MaxFirstNs)
		}
		mask := r.Mask & full
		if r.Synthetic && mask == full {
			lastSynthDone = max(lastSynthDone, r.MaxLastNs)
		}
		if !r.InReport {
			continue
		}
		state := StateComplete
		var stuck *StuckItem
		if mask != full {
			state, stuck = judge(rep.Stages, deadline, r, mask, full, wm, now)
		}
		if r.Synthetic {
			rep.Synthetic.add(state, r.Items)
		} else {
			rep.Counts.add(state, r.Items)
			ck := cohortKey{r.ExperimentID, r.Cohort}
			c := cohorts[ck]
			if c == nil {
				c = &Counts{}
				cohorts[ck] = c
			}
			c.add(state, r.Items)
			for m := mask; m != 0; m &= m - 1 {
				rep.Funnel[bits.TrailingZeros64(m)].Reached += r.Items
			}
			if stuck != nil {
				rep.Funnel[stuck.LastStageIndex].StuckHere++
			}
		}
		if stuck != nil {
			rep.Stuck = append(rep.Stuck, *stuck)
		}
	}
	for k, c := range cohorts {
		rep.Cohorts = append(rep.Cohorts, CohortCounts{ExperimentID: k.exp, Cohort: k.cohort.String(), Counts: *c})
	}
	sort.Slice(rep.Cohorts, func(i, j int) bool {
		a, b := rep.Cohorts[i], rep.Cohorts[j]
		if a.ExperimentID != b.ExperimentID {
			return a.ExperimentID < b.ExperimentID
		}
		return a.Cohort < b.Cohort
	})
	sort.Slice(rep.Stuck, func(i, j int) bool {
		a, b := &rep.Stuck[i], &rep.Stuck[j]
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		return a.Key < b.Key
	})
	rep.LastStarted = timePtr(lastStarted)
	rep.LastSyntheticCompleted = timePtr(lastSynthDone)
	if f.Absence != nil {
		rep.Absence = absence(f.Absence, lastStarted, lastSynthDone, set.Watermark)
	}
	status(&rep)
	return rep
}

// judge decides in_flight or stuck for an incomplete item.
func judge(stages []string, deadline []int64, r *ItemRow, mask, full uint64, wm int64, now time.Time) (State, *StuckItem) {
	due, at := int64(0), -1
	for m := full &^ mask; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if d := r.MinFirstNs + deadline[i]; at < 0 || d < due {
			due, at = d, i
		}
	}
	if wm < 0 || due > wm {
		return StateInFlight, nil
	}
	last := 63 - bits.LeadingZeros64(mask)
	it := &StuckItem{
		Key: r.Key, StuckAt: stages[at], FirstSeen: time.Unix(0, r.MinFirstNs).UTC(), LastSeen: time.Unix(0, r.MaxLastNs).UTC(),
		Deadline: time.Unix(0, due).UTC(), ExperimentID: r.ExperimentID, Cohort: r.Cohort.String(), Synthetic: r.Synthetic,
		LastStageIndex: last, Missing: make([]string, 0, bits.OnesCount64(full&^mask)),
	}
	if last >= 0 {
		it.LastStage = stages[last]
	}
	for m := full &^ mask; m != 0; m &= m - 1 {
		it.Missing = append(it.Missing, stages[bits.TrailingZeros64(m)])
	}
	it.StuckForSeconds = now.Sub(it.Deadline).Seconds()
	it.LastSeenSecondsAgo = now.Sub(it.LastSeen).Seconds()
	return StateStuck, it
}

func fullMask(n int) uint64 { return query.FullMask(n) }

// FullMask is the stage mask of an item that saw all n stages.
func FullMask(n int) uint64 { return fullMask(n) }

func absence(a *experiment.Absence, lastStarted, lastSynthDone int64, wm *time.Time) *AbsenceResult {
	res := &AbsenceResult{PeriodSeconds: a.Period.Seconds(), SyntheticOnly: a.SyntheticOnly}
	last, what := lastStarted, "no real item started"
	if a.SyntheticOnly {
		last, what = lastSynthDone, "no synthetic item completed"
	}
	res.Last = timePtr(last)
	if wm == nil {
		res.Message = "not judged: the ingest watermark is unknown"
		return res
	}
	from := wm.Add(-a.Period)
	if last > 0 && !time.Unix(0, last).Before(from) {
		res.Message = fmt.Sprintf("ok: last at %s", time.Unix(0, last).UTC().Format(time.RFC3339))
		return res
	}
	res.Firing = true
	if last > 0 {
		res.Message = fmt.Sprintf("%s in the %s before the watermark; last at %s", what, a.Period, time.Unix(0, last).UTC().Format(time.RFC3339))
	} else {
		res.Message = fmt.Sprintf("%s in the %s before the watermark, nor earlier in the range read", what, a.Period)
	}
	return res
}

func status(rep *FlowReport) {
	stuck := rep.Counts.Stuck + rep.Synthetic.Stuck
	switch {
	case stuck > 0:
		rep.Status = StatusBroken
		rep.Reason = fmt.Sprintf("%d real and %d synthetic items stuck", rep.Counts.Stuck, rep.Synthetic.Stuck)
	case rep.Absence != nil && rep.Absence.Firing:
		rep.Status = StatusBroken
		rep.Reason = "absence: " + rep.Absence.Message
	case rep.Counts.Items > 0:
		rep.Status = StatusHealthy
		rep.Reason = fmt.Sprintf("%d real items, none stuck", rep.Counts.Items)
	case rep.Synthetic.Complete > 0:
		rep.Status = StatusIdle
		rep.Reason = fmt.Sprintf("no real items; %d synthetic items completed, so the flow works", rep.Synthetic.Complete)
	default:
		rep.Status = StatusIdle
		rep.Reason = "no items at all: without synthetic traffic, idle cannot be told from dead"
	}
}
