package live

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/flows"
	"github.com/steadystate/steadystate/pipeline/notify"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/warroom"
)

// Session is one `analyze live` as its flags give it; Run wires a Watch
// from it.
type Session struct {
	Target analysis.Target
	// Spec holds the definitions of the experiment's flows, for the war
	// room's flows panel.
	Spec     *experiment.Spec
	Settings analysis.Settings
	Interval time.Duration
	// Duration ends the session after this long (0: when ctx is done).
	Duration time.Duration
	// ExitOnStop ends the session with a *StopError when a stop condition
	// holds.
	ExitOnStop bool
	// Alertmanager and Webhook get the stop alert ("" for none).
	Alertmanager, Webhook string
	// Web serves the war-room page when Web.Addr is set. ConsumerGroup is
	// the sink's group, whose progress gives the watermark the monitor
	// settles buckets at and the war room's flows panel shows.
	Web           warroom.Config
	ConsumerGroup string
	// Out gets the table (OutTTY) or JSON lines; ErrOut the notices.
	Out, ErrOut io.Writer
	OutTTY      bool
	Now         func() time.Time
}

// MinInterval is the shortest Interval a session looks at.
const MinInterval = 100 * time.Millisecond

// Validate checks what can be checked before anything connects: an
// Interval of at least MinInterval, with Web.Addr set the war room's
// listener rule (warroom.Config.Validate; its refusal as it is), a
// Duration that is not negative and an alpha analysis.CheckAlpha accepts.
// A bad value is a *query.UsageError naming its flag.
func (s *Session) Validate() error {
	if s.Interval < MinInterval {
		return query.Usagef("--interval %s: want at least %s", s.Interval, MinInterval)
	}
	if s.Web.Addr != "" {
		if err := s.Web.Validate(); err != nil {
			return err
		}
	}
	if s.Duration < 0 {
		return query.Usagef("--duration %s: must not be negative", s.Duration)
	}
	if err := analysis.CheckAlpha(s.Settings.Alpha); err != nil {
		return query.Usagef("--%w", err)
	}
	return nil
}

// Run validates the session, resolves the target's window (a run still
// going on, or an open --since, is watched until now), starts the war room when asked, and
// watches until ctx is done or Duration has passed (see Watch.Run). A bad --alertmanager,
// --webhook or --web value is a *query.UsageError.
func (s *Session) Run(ctx context.Context, r *query.Reader) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Duration)
		defer cancel()
	}
	win, err := s.Target.Resolve(ctx, r, s.Now())
	if err != nil {
		return err
	}
	mon, err := analysis.NewMonitor(&analysis.Store{C: r.C}, s.Target.Request(Window(win, s.Target.Window), win.Run), s.Settings)
	if err != nil {
		return err
	}
	mon.Watermark = SinkWatermark(r, s.ConsumerGroup)
	targets, err := notify.Targets(StopDestinations(s.Alertmanager, s.Webhook))
	if err != nil {
		return &query.UsageError{Err: err}
	}
	web, gather, err := s.startWarRoom(r)
	if err != nil {
		return err
	}
	if web != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = web.Shutdown(sctx)
		}()
		fmt.Fprintf(s.ErrOut, "analyze live: war room at %s\n", web.URL())
	}
	w := &Watch{Monitor: mon, Reader: r, Targets: targets, Web: web, Gather: gather, Interval: s.Interval, ExitOnStop: s.ExitOnStop,
		Out: s.Out, ErrOut: s.ErrOut, OutTTY: s.OutTTY, Now: s.Now}
	return w.Run(ctx)
}

// SinkWatermark is a Monitor.Watermark: the watermark of the sink's
// consumer group from its progress rows (flows.ComputePipeline, the one
// the flow checks judge by), unknown when the group wrote no progress (no
// sink, or a database loaded some other way).
func SinkWatermark(r *query.Reader, group string) func(ctx context.Context, now time.Time) (time.Time, bool, string, error) {
	return func(ctx context.Context, now time.Time) (time.Time, bool, string, error) {
		if group == "" {
			return time.Time{}, false, "no consumer group", nil
		}
		rows, err := r.Progress(ctx, group)
		if err != nil {
			return time.Time{}, false, "", err
		}
		p := flows.ComputePipeline(group, rows, now, flows.NewDefaultWatermarkConfig())
		if p.Watermark == nil {
			return time.Time{}, false, fmt.Sprintf("no sink progress for consumer group %q", group), nil
		}
		return *p.Watermark, true, "", nil
	}
}

// startWarRoom starts the web view when Web.Addr is set (nil, nil
// otherwise).
func (s *Session) startWarRoom(r *query.Reader) (*warroom.Server, *warroom.Gatherer, error) {
	if s.Web.Addr == "" {
		return nil, nil, nil
	}
	e := s.Target.Experiment
	g := &warroom.Gatherer{R: r, Experiment: e, ID: s.Target.ID, ConsumerGroup: s.ConsumerGroup, Interval: s.Interval}
	if e != nil && len(e.Flows) > 0 {
		g.Flows = WarRoomFlows(s.Spec, e)
	}
	srv, err := warroom.New(s.Web)
	if err != nil {
		return nil, nil, &query.UsageError{Err: fmt.Errorf("--web: %w", err)}
	}
	if err := srv.Start(); err != nil {
		return nil, nil, err
	}
	return srv, g, nil
}
