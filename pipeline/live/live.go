// Package live is the loop of `analyze live`: every interval it takes a
// look (analysis.Monitor), records the verdicts in the verdict history
// (written every 30 s, at once when a verdict changes, and at the end),
// pushes the war-room page, redraws the table on a terminal or writes a
// JSON line to a pipe, and posts the stop alert once when a stop condition
// starts to hold. A failed look or history write is said and retried at the
// next interval; only too many failed looks in a row end the watch.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/notify"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/warroom"
)

// MaxFailures is how many looks in a row may fail before live gives up.
const MaxFailures = 10

// StopError says a stop condition holds and the watch was asked to end
// there (--exit-on-stop); the command exits 3 with it (Verdict).
type StopError struct{ Summary string }

func (e *StopError) Error() string { return e.Summary }

// Verdict marks the error as a failed check, not a failure to run.
func (e *StopError) Verdict() {}

// Watch is one live session, wired by the command.
type Watch struct {
	// Monitor takes the looks.
	Monitor *analysis.Monitor
	// Reader records every look in the verdict history: the rows of the
	// looks are written together every HistoryEvery, at once when a
	// verdict or the stop state changed, and at the end of the watch.
	Reader *query.Reader
	// HistoryEvery overrides DefaultHistoryEvery (0: the default).
	HistoryEvery time.Duration
	// Targets get the stop alert (none: no alert is posted).
	Targets []notify.Target
	// Web and Gather, when set, serve the war-room page.
	Web    *warroom.Server
	Gather *warroom.Gatherer
	// Interval between looks.
	Interval time.Duration
	// ExitOnStop ends the watch with a StopError when a stop condition
	// holds.
	ExitOnStop bool
	// Out gets the table (OutTTY) or JSON lines; ErrOut the notices.
	Out, ErrOut io.Writer
	OutTTY      bool
	Now         func() time.Time
}

// Window is the window a live session watches: a run still going on (or
// an open --since) is watched until now, so its end is left open.
func Window(win query.Resolved, wf query.WindowFlags) analysis.Window {
	w := win.Window
	if win.Open() || (wf.Since != "" && wf.Until == "") {
		w.Until = time.Time{}
	}
	return w
}

// StopDestinations are live's --alertmanager and --webhook (each at most
// one).
func StopDestinations(alertmanager, webhook string) notify.Destinations {
	var d notify.Destinations
	if alertmanager != "" {
		d.Alertmanager = []string{alertmanager}
	}
	if webhook != "" {
		d.Webhook = []string{webhook}
	}
	return d
}

// WarRoomFlows are the flow definitions an experiment names, for the
// war-room page's flows panel.
func WarRoomFlows(spec *experiment.Spec, e *experiment.Experiment) []experiment.Flow {
	if e == nil {
		return nil
	}
	var out []experiment.Flow
	for _, name := range e.Flows {
		if fl, ok := spec.Flow(name); ok {
			out = append(out, *fl)
		}
	}
	return out
}

// Run looks every Interval until ctx is done (nil), a stop condition holds
// with ExitOnStop (*StopError), or MaxFailures looks in a row failed.
// sameBasis reports whether two SettledBy texts name the same basis
// (the watermark's time changes every look).
func sameBasis(a, b string) bool {
	basis := func(s string) string {
		if i := strings.IndexByte(s, '('); i >= 0 && strings.HasPrefix(s, "the sink watermark") {
			return s[:i]
		}
		return s
	}
	return basis(a) == basis(b)
}

func (lw *Watch) Run(ctx context.Context) error {
	enc := json.NewEncoder(lw.Out)
	ticker := time.NewTicker(lw.Interval)
	defer ticker.Stop()
	alerted := false
	failures := 0
	settledBy := ""
	hist := &historyBuffer{every: lw.HistoryEvery}
	if hist.every <= 0 {
		hist.every = DefaultHistoryEvery
	}
	writeHistory := func(ctx context.Context) {
		if hist.dropped > 0 {
			fmt.Fprintf(lw.ErrOut, "analyze live: %d verdict history rows dropped while the writes failed\n", hist.dropped)
			hist.dropped = 0
		}
		if len(hist.pending) == 0 {
			return
		}
		if err := lw.Reader.WriteVerdicts(ctx, hist.pending); err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(lw.ErrOut, "analyze live: recording the verdict history (kept for the next write): %v\n", err)
			}
			return
		}
		hist.wrote(lw.Now())
	}
	// The looks not written yet are written when the watch ends, however
	// it ends (ctx done: with a few seconds of its own).
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		writeHistory(fctx)
	}()
	for {
		res, err := lw.Monitor.Look(ctx, lw.Now())
		if by := lw.Monitor.SettledBy(); err == nil && !sameBasis(by, settledBy) {
			// Say how buckets settle, and again when that changes (the
			// watermark became known or was lost).
			fmt.Fprintf(lw.ErrOut, "analyze live: buckets settle at %s\n", by)
		}
		if err == nil {
			settledBy = lw.Monitor.SettledBy()
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			// A slow or restarting ClickHouse must not end the watch:
			// say so and try again at the next interval.
			failures++
			if failures >= MaxFailures {
				return fmt.Errorf("%d looks in a row failed, the last: %w", failures, err)
			}
			fmt.Fprintf(lw.ErrOut, "analyze live: look failed (%d in a row, retrying in %s): %v\n", failures, lw.Interval, err)
			select {
			case <-ctx.Done():
				return nil
			case <-ticker.C:
			}
			continue
		}
		failures = 0
		// The verdict history must not end the watch either: a failed
		// write is said and the rows are written with the next.
		if hist.add(analysis.VerdictRows(res, analysis.HistoryLive), res.Stop, lw.Now()) {
			writeHistory(ctx)
		}
		if lw.Web != nil {
			if err := lw.Web.Publish(lw.Gather.Gather(ctx, res, lw.Now())); err != nil {
				fmt.Fprintf(lw.ErrOut, "analyze live: %v\n", err)
			}
		}
		if lw.OutTTY {
			fmt.Fprint(lw.Out, "\x1b[H\x1b[2J")
			if err := analysis.WriteTable(lw.Out, res); err != nil {
				return err
			}
			fmt.Fprintf(lw.Out, "\nrefreshed %s, every %s; Ctrl-C to quit\n", res.GeneratedAt.Local().Format("15:04:05"), lw.Interval)
		} else if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write json line: %w", err)
		}
		if res.Stop && !alerted {
			alerted = true
			if len(lw.Targets) > 0 {
				if err := notify.Send(ctx, lw.Targets, analysis.StopAlerts(res)); err != nil {
					fmt.Fprintf(lw.ErrOut, "analyze live: posting the stop alert: %v\n", err)
				}
			}
			if lw.ExitOnStop {
				return &StopError{Summary: analysis.StopSummary(res)}
			}
		}
		if !res.Stop {
			alerted = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}
