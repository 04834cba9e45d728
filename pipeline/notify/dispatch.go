package notify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Target is one destination of a Dispatcher.
type Target struct {
	// Name appears in errors, e.g. "alertmanager".
	Name     string
	Notifier Notifier
	// Resend makes the target also get every firing alert again each
	// ResendEvery, with EndsAt moved forward: what Alertmanager expects.
	// Chat and webhook targets get only changes (fired, resolved).
	Resend bool
}

// DispatcherConfig tunes a Dispatcher.
type DispatcherConfig struct {
	// ResendEvery is how often firing alerts are re-sent to Resend
	// targets. Default: 1m.
	ResendEvery time.Duration
	// EndsAfter is how far ahead a firing alert's EndsAt is set, so a
	// receiver resolves it by itself if the sender dies. Default: 4 x
	// ResendEvery (Prometheus' choice).
	EndsAfter time.Duration
}

// Dispatcher tracks which alerts fire and sends what changed. It is used
// from one goroutine (the evaluation loop).
type Dispatcher struct {
	cfg     DispatcherConfig
	targets []Target
	active  map[string]*tracked
	pending [][]Alert // per target: deliveries that failed, retried next time
}

type tracked struct {
	alert    Alert
	lastSent time.Time
}

// NewDispatcher builds a dispatcher for the targets.
func NewDispatcher(cfg DispatcherConfig, targets ...Target) *Dispatcher {
	if cfg.ResendEvery <= 0 {
		cfg.ResendEvery = time.Minute
	}
	if cfg.EndsAfter <= 0 {
		cfg.EndsAfter = 4 * cfg.ResendEvery
	}
	return &Dispatcher{cfg: cfg, targets: targets, active: map[string]*tracked{}, pending: make([][]Alert, len(targets))}
}

// Changes is what one Update did.
type Changes struct {
	// Fired are alerts that began to fire, Resolved those that stopped.
	Fired, Resolved []Alert
	// Resent counts firing alerts re-sent to Resend targets.
	Resent int
}

// Active returns the alerts firing now, sorted by name and labels.
func (d *Dispatcher) Active() []Alert {
	out := make([]Alert, 0, len(d.active))
	for _, t := range d.active {
		out = append(out, t.alert)
	}
	sortAlerts(out)
	return out
}

// Update takes every alert that holds at now (identified by labels; a
// zero StartsAt means now), works out which are new, which are due for a
// re-send and which resolved (held before, not now: sent with EndsAt =
// now), and sends them to the targets concurrently. Deliveries that fail
// are retried on the next Update; the error joins every target's failure.
func (d *Dispatcher) Update(ctx context.Context, now time.Time, firing []Alert) (Changes, error) {
	var ch Changes
	var resend []Alert
	seen := make(map[string]bool, len(firing))
	for _, a := range firing {
		fp := a.Fingerprint()
		if seen[fp] {
			continue
		}
		seen[fp] = true
		a.EndsAt = now.Add(d.cfg.EndsAfter)
		t, ok := d.active[fp]
		switch {
		case !ok:
			if a.StartsAt.IsZero() || a.StartsAt.After(now) {
				a.StartsAt = now
			}
			d.active[fp] = &tracked{alert: a, lastSent: now}
			ch.Fired = append(ch.Fired, a)
		default:
			a.StartsAt = t.alert.StartsAt
			t.alert = a
			if now.Sub(t.lastSent) >= d.cfg.ResendEvery {
				t.lastSent = now
				resend = append(resend, a)
			}
		}
	}
	for fp, t := range d.active {
		if seen[fp] {
			continue
		}
		a := t.alert
		a.EndsAt = now
		ch.Resolved = append(ch.Resolved, a)
		delete(d.active, fp)
	}
	sortAlerts(ch.Fired)
	sortAlerts(ch.Resolved)
	sortAlerts(resend)
	ch.Resent = len(resend)

	changed := append(append([]Alert(nil), ch.Fired...), ch.Resolved...)
	var wg sync.WaitGroup
	errs := make([]error, len(d.targets))
	for i, tg := range d.targets {
		batch := append(append([]Alert(nil), d.pending[i]...), changed...)
		if tg.Resend {
			batch = append(batch, resend...)
		}
		batch = latestPerAlert(batch)
		d.pending[i] = nil
		if len(batch) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := tg.Notifier.Notify(ctx, batch); err != nil {
				errs[i] = fmt.Errorf("%s: %w", tg.Name, err)
				d.pending[i] = batch
			}
		}()
	}
	wg.Wait()
	return ch, errors.Join(errs...)
}

// latestPerAlert keeps the last version of each alert, in first-seen order.
func latestPerAlert(in []Alert) []Alert {
	idx := map[string]int{}
	out := in[:0:0]
	for _, a := range in {
		fp := a.Fingerprint()
		if i, ok := idx[fp]; ok {
			out[i] = a
			continue
		}
		idx[fp] = len(out)
		out = append(out, a)
	}
	return out
}

func sortAlerts(a []Alert) {
	sort.Slice(a, func(i, j int) bool { return a[i].String() < a[j].String() })
}
