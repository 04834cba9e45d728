package analysis

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
)

// Replay targets, the same as the harness's A/A targets.
const (
	ReplayMaxFalseFail = 0.05
	ReplayMaxSRM       = 0.01
)

// ReplayUnit is what an A/A replay splits by: the attribute holding the
// experiment's randomization unit ("" = the subject) and its name in the
// summary ("subject", the attribute, or "event" when the experiment
// assigns per event).
func ReplayUnit(e *experiment.Experiment) (attr, name string) {
	name = "subject"
	if e == nil {
		return "", name
	}
	attr, perUnit := e.Cohorts.UnitAttribute()
	switch {
	case !perUnit:
		name = "event"
	case attr != "":
		name = attr
	}
	return attr, name
}

// ReplayEventsOf turns the stored control events into replay events; with
// perEvent every event is its own unit.
func ReplayEventsOf(rows []query.ReplayRow, perEvent bool) []ReplayEvent {
	events := make([]ReplayEvent, len(rows))
	for i, x := range rows {
		u := x.Unit
		if perEvent {
			u = ""
		}
		events[i] = ReplayEvent{Time: time.Unix(0, int64(x.TimeNs)).UTC(), Unit: u, EventID: x.EventID, Service: x.Service,
			Operation: x.Operation, Error: x.Error, DurationNs: x.DurationNs, HTTPStatus: x.HTTPStatus}
	}
	return events
}

func rate(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// WriteReplay prints the replay summary and says whether the rates are
// within the harness targets.
func WriteReplay(w io.Writer, id, unit string, win Window, s ReplaySummary, took time.Duration) bool {
	ff := max(rate(s.CompareFail, s.Runs), rate(s.LiveFail, s.Runs))
	srm := max(rate(s.CompareSRM, s.Runs), rate(s.LiveSRM, s.Runs))
	ok := ff <= ReplayMaxFalseFail && srm <= ReplayMaxSRM
	fmt.Fprintf(w, "A/A replay of %s: control traffic %s .. %s, %d events, %d units (unit: %s), %d salts, %d live looks/run (%.1fs)\n",
		id, win.Since.Format(time.RFC3339), win.Until.Format(time.RFC3339), s.Events, s.Units, unit, s.Runs, s.Looks, took.Seconds())
	fmt.Fprintf(w, "                 false fail   SRM false alarm   pass\n")
	fmt.Fprintf(w, "compare (once)   %6.2f%%      %6.2f%%           %6.2f%%\n", 100*rate(s.CompareFail, s.Runs), 100*rate(s.CompareSRM, s.Runs), 100*rate(s.ComparePass, s.Runs))
	fmt.Fprintf(w, "live (any look)  %6.2f%%      %6.2f%%           %6.2f%% (at the end)\n", 100*rate(s.LiveFail, s.Runs), 100*rate(s.LiveSRM, s.Runs), 100*rate(s.LivePass, s.Runs))
	names := make([]string, 0, len(s.MetricFails))
	for n := range s.MetricFails {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s false fail (compare or live) %6.2f%%\n", n, 100*rate(s.MetricFails[n], s.Runs))
	}
	verdict := "yes"
	if !ok {
		verdict = "NO"
	}
	fmt.Fprintf(w, "within the harness targets (false fail <= %.0f%%, SRM <= %.0f%%): %s\n", 100*ReplayMaxFalseFail, 100*ReplayMaxSRM, verdict)
	return ok
}
