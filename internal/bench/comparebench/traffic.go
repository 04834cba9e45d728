package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/queries"
)

// trafficRun is the watchers-under-traffic case: n experiments whose
// events keep arriving while n `analyze live` processes watch them, as
// during a game day. The other live cases watch a stored hour that ended
// before the watchers started, so after their first looks nothing
// changes; here every look has new buckets to read (the tally, the unit
// rows, the latency sample, the trace decisions of the open tail). The
// feed also records a caught-up sink's progress, so the watchers settle
// buckets by its watermark as they do beside a running sink.
type trafficRun struct {
	c        *store.Client
	db       string
	n        int           // experiments, one watcher each
	perHour  int           // events per experiment and hour
	history  time.Duration // traffic already stored when the watchers start
	measure  time.Duration // how long the watchers are measured after their first looks
	chPid    int
	profile  bool
	prefix   string
	start    time.Time
	step     time.Duration
	next     int64 // the next event index of every experiment
	inserted int64 // events inserted, all experiments
}

// insertUntil inserts every experiment's events with times before t that
// are not inserted yet, in statements of at most 500,000 rows.
func (r *trafficRun) insertUntil(ctx context.Context, t time.Time) error {
	upto := int64(t.Sub(r.start) / r.step)
	const maxRows = 500_000
	for r.next < upto {
		count := min(upto-r.next, maxRows/int64(r.n))
		sql, err := r.c.SQL("bench/bench_traffic_insert.sql", queries.Params{
			"prefix": r.prefix, "experiments": int64(r.n), "from_i": r.next, "rows": count * int64(r.n),
			"start_ns": r.start.UnixNano(), "step_ns": r.step.Nanoseconds(), "users_of": int64(r.perHour),
		})
		if err != nil {
			return err
		}
		if err := r.c.Conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("traffic insert at %d: %w", r.next, err)
		}
		r.next += count
		r.inserted += count * int64(r.n)
	}
	return r.progress(ctx, t)
}

// progress records what a caught-up sink records after each insert
// (write/sink_progress_insert.sql, consumer group steadystate-sink, the
// watchers' default): the watchers settle buckets by its watermark, as
// they do beside a running sink, instead of at now - 30 s.
func (r *trafficRun) progress(ctx context.Context, t time.Time) error {
	if r.next == 0 {
		return nil
	}
	insert, err := r.c.InsertSQL("write/sink_progress_insert.sql")
	if err != nil {
		return err
	}
	b, err := r.c.Conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("prepare progress insert: %w", err)
	}
	defer func() { _ = b.Close() }()
	last := r.start.Add(time.Duration(r.next-1) * r.step)
	if err := b.Append("steadystate-sink", "comparebench-traffic", int32(0), r.inserted, uint64(last.UnixNano()), uint8(1), uint64(t.UnixNano())); err != nil {
		return fmt.Errorf("progress row: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("progress insert: %w", err)
	}
	return nil
}

// feed inserts the traffic once a second (the sink inserts about twice a
// second: the same order of parts per second) until ctx ends.
func (r *trafficRun) feed(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-tick.C:
			if err := r.insertUntil(ctx, t); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}

// liveTraffic stores r.history of traffic of r.n fresh experiments (named
// after the current time, so nobody has looked at them), keeps inserting
// their traffic as it happens, measures ClickHouse's CPU with the traffic
// and no watcher, then starts one watcher per experiment and, once every
// one printed its first look, charges them their CPU and ClickHouse's net
// of its rate without them over r.measure.
func liveTraffic(ctx context.Context, r *trafficRun, bin, dir string) error {
	r.step = time.Duration(float64(time.Hour) / float64(r.perHour))
	now := time.Now().Truncate(time.Second)
	r.start = now.Add(-r.history)
	r.prefix = fmt.Sprintf("bench-traffic-%d-", now.Unix())
	exps := make([]string, r.n)
	for i := range exps {
		exps[i] = fmt.Sprintf("%s%02d", r.prefix, i+1)
	}
	if err := r.insertUntil(ctx, now); err != nil {
		return err
	}
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	fed := make(chan error, 1)
	go func() { fed <- r.feed(fctx) }()
	feedErr := func() error {
		stop()
		return <-fed
	}

	const warmup, maxWarmup = 15 * time.Second, 2 * time.Minute
	tw := time.Now()
	// With -traffic-alt-analyze a second set of watchers (another build)
	// watches the same experiments; the sets run in turn (see
	// measurePhases) and each is charged for its own looks.
	builds := []watcherSet{{name: "this tree", tag: "traffic", bin: bin}}
	if *trafficAlt != "" {
		builds = append(builds, watcherSet{name: *trafficAlt, tag: "traffic-alt", bin: *trafficAlt})
	}
	life := maxWarmup + time.Duration(len(builds)+1)*r.measure + time.Minute
	var all []*exec.Cmd
	stopAll := func() {
		stopWatchers(all)
		for i := range builds {
			_ = waitWatchers(builds[i].cmds, dir, builds[i].tag)
		}
	}
	for i := range builds {
		cmds, err := startExps(builds[i].bin, dir, r.db, exps, r.start, life, builds[i].tag, r.profile)
		if err != nil {
			stopAll()
			return errors.Join(err, feedErr())
		}
		builds[i].cmds, all = cmds, append(all, cmds...)
	}
	time.Sleep(warmup)
	firstLooks := func() bool {
		for _, b := range builds {
			if !firstLooksDone(dir, b.tag, r.n) {
				return false
			}
		}
		return true
	}
	for time.Since(tw) < maxWarmup && !firstLooks() {
		time.Sleep(time.Second)
	}
	warm := time.Since(tw)
	startCPU, in0 := watchersCPU(all), r.inserted
	t0 := time.Now()
	m := measurePhases(r.measure, builds, r.chPid, func(tag string) int { return looksDone(dir, tag, r.n) })
	wall := time.Since(t0)
	stopWatchers(all)
	for _, b := range builds {
		if err := waitWatchers(b.cmds, dir, b.tag); err != nil {
			return errors.Join(err, feedErr())
		}
	}
	if err := feedErr(); err != nil {
		return err
	}
	fmt.Printf("\nlive under traffic: %d `analyze live` processes at a 5 s interval, each on its own experiment while its traffic\n", r.n)
	fmt.Printf("keeps arriving (%d events per hour each, inserted once a second for all; %s stored before the watchers started, %d events\n",
		r.perHour, r.history, in0)
	fmt.Printf("by the end of the warm-up, %s warm-up until every process printed its first look); then %s of phases with the watchers\n",
		warm.Round(time.Second), wall.Round(time.Second))
	fmt.Printf("running and paused (SIGSTOP / SIGCONT): %s, each on-phase measured until %s after the pause\n", m.schedule, phaseGrace)
	if r.chPid > 0 {
		fmt.Printf("  ClickHouse server CPU while every watcher is paused (the traffic alone): %6.2f%% of one core\n", 100*m.offRate())
	}
	// Charged per look at the watchers' steady rate (n looks per 5 s): a
	// watcher resumed after a pause looks at once (its ticker kept the
	// missed tick) and that look catches up on a longer tail, so the
	// on-phases hold more looks than the steady rate and the catch-up
	// looks cost more than steady ones; per look, never less than steady.
	perLook := make([]float64, len(builds))
	for i, b := range builds {
		sp := m.sets[i]
		on := sp.onWall.Seconds()
		chNet := max(0, sp.chOn-m.offRate()*sp.onWallGrace.Seconds())
		perLook[i] = (sp.analyzeOn + chNet) / float64(max(sp.looks, 1))
		charged := perLook[i] * float64(r.n) / 5
		fmt.Printf(" %s (%s):\n", b.name, b.tag)
		fmt.Printf("  looks in the on-phases            %d (%.1f per watcher and 5 s)\n", sp.looks, float64(sp.looks)/float64(r.n)/(on/5))
		fmt.Printf("  analyze processes CPU             %8.2f s = %6.2f%% of one core while on\n", sp.analyzeOn, 100*sp.analyzeOn/on)
		if r.chPid > 0 {
			fmt.Printf("  ClickHouse server CPU (process)   on %6.2f%% of one core: net %6.2f%% while on\n", 100*sp.chOn/sp.onWallGrace.Seconds(), 100*chNet/on)
		}
		fmt.Printf("  per look (analyze + ClickHouse net)  %6.2f ms; the on-phases' rate %6.2f%% of one core\n", 1000*perLook[i], 100*(sp.analyzeOn+chNet)/on)
		fmt.Printf("  watchers charged (per look, at %d looks per 5 s) = %6.2f%% of one core (target <= 25%%: %s)\n", r.n, 100*charged, yesNo(charged <= 0.25))
	}
	if len(builds) == 2 {
		fmt.Printf("  per look, this tree / %s: %.3f\n", builds[1].name, perLook[0]/perLook[1])
	}
	fmt.Printf("  start-up and first looks: %.2f s of analyze CPU; load average (1, 5, 15 min): %s\n", startCPU, loadAvg())
	if !r.profile {
		return nil
	}
	if err := printStatementCPU(ctx, r.c, r.db, t0, t0.Add(wall), "the watchers' under traffic"); err != nil {
		return err
	}
	// The watchers' own statements from the query log: what the server
	// spent on them alone, however busy other work keeps it.
	var st float64
	if err := scalar(ctx, r.c, "bench/bench_statements_cpu_total.sql", queries.Params{"since_s": t0.Unix(), "until_s": t0.Add(wall).Unix() + 1, "database": r.db}, &st); err != nil {
		return err
	}
	var an float64
	looks := 0
	for _, sp := range m.sets {
		an += sp.analyzeOn
		looks += sp.looks
	}
	fmt.Printf("  the watchers' statements' CPU (query_log, every set) %6.2f s; with analyze's, per look %.2f ms\n",
		st, 1000*(an+st)/float64(max(looks, 1)))
	return nil
}

// phaseGrace is how long after pausing the watchers an on-phase is still
// measured: the statements they sent before the pause finish in it.
const phaseGrace = time.Second

// watcherSet is one build's watchers of the traffic case.
type watcherSet struct {
	name, tag, bin string
	cmds           []*exec.Cmd
}

// phases is what measurePhases measured: ClickHouse's CPU while every
// watcher was paused, and per set its watchers' CPU and ClickHouse's
// while it ran (each on-phase plus phaseGrace after it) and the looks it
// printed meanwhile.
type phases struct {
	schedule string
	offWall  time.Duration
	chOff    float64
	sets     []setPhases
}

type setPhases struct {
	onWall, onWallGrace time.Duration
	analyzeOn, chOn     float64
	looks               int
}

func (m phases) offRate() float64 { return m.chOff / max(m.offWall.Seconds(), 1e-9) }

// measurePhases runs each set of watchers in turn and pauses them all in
// between (SIGSTOP / SIGCONT): with one set off, on, off, on, off; with
// two off, A, B, off, B, A, off; every set runs measure in all and all are
// paused measure in all, so a drift in what the traffic alone costs
// ClickHouse (its merges) weighs on each alike. Only one set runs at a
// time, so ClickHouse's excess over the paused rate is that set's.
func measurePhases(measure time.Duration, sets []watcherSet, chPid int, looks func(tag string) int) phases {
	d := measure / 4
	type seg struct {
		set int // -1: all paused
		d   time.Duration
	}
	plan := []seg{{-1, d}, {0, 2 * d}, {-1, 2 * d}, {0, 2 * d}, {-1, d}}
	if len(sets) == 2 {
		plan = []seg{{-1, d}, {0, 2 * d}, {1, 2 * d}, {-1, 2 * d}, {1, 2 * d}, {0, 2 * d}, {-1, d}}
	}
	m := phases{sets: make([]setPhases, len(sets))}
	for i, sg := range plan {
		name := "off"
		if sg.set >= 0 {
			name = sets[sg.set].tag
		}
		if i > 0 {
			m.schedule += ", "
		}
		m.schedule += fmt.Sprintf("%s %s", name, sg.d)
	}
	signal := func(cmds []*exec.Cmd, sig syscall.Signal) {
		for _, c := range cmds {
			_ = c.Process.Signal(sig)
		}
	}
	for _, s := range sets {
		signal(s.cmds, syscall.SIGSTOP)
	}
	time.Sleep(phaseGrace)
	for _, sg := range plan {
		ch0, t0 := cpuSeconds(chPid), time.Now()
		if sg.set < 0 {
			time.Sleep(sg.d)
			m.chOff += cpuSeconds(chPid) - ch0
			m.offWall += time.Since(t0)
			continue
		}
		s, sp := sets[sg.set], &m.sets[sg.set]
		an0, l0 := watchersCPU(s.cmds), looks(s.tag)
		signal(s.cmds, syscall.SIGCONT)
		time.Sleep(sg.d)
		sp.onWall += time.Since(t0)
		signal(s.cmds, syscall.SIGSTOP)
		time.Sleep(phaseGrace)
		sp.onWallGrace += time.Since(t0)
		sp.chOn += cpuSeconds(chPid) - ch0
		sp.analyzeOn += watchersCPU(s.cmds) - an0
		sp.looks += looks(s.tag) - l0
	}
	for _, s := range sets {
		signal(s.cmds, syscall.SIGCONT)
	}
	return m
}

var (
	trafficFor     = flag.Duration("traffic-for", 60*time.Second, "watchers under traffic: how long the watchers of experiments whose traffic keeps arriving are measured after their first looks (0: skip)")
	trafficOnly    = flag.Bool("traffic-only", false, "measure only the watchers under traffic (in a database of their own, -database + _traffic)")
	trafficHistory = flag.Duration("traffic-history", 10*time.Minute, "watchers under traffic: the traffic stored before the watchers start (a game day under way)")
	trafficAlt     = flag.String("traffic-alt-analyze", "", "watchers under traffic: a second analyze binary whose watchers watch the same experiments, run in turn with this tree's (off, A, B, off, B, A, off), charged per look each and printed as a ratio")
)

// runTraffic measures the watchers under traffic (-traffic-for): liveN
// experiments of liveEvents events per hour each, in a database of their
// own (db + "_traffic", created and migrated for the run, dropped after
// it), so the traffic, its untagged events at the current time and the
// sink progress beside it stay out of the other cases' database (a watcher
// there reads its window up to now, and would find them).
func runTraffic(ctx context.Context, db string, liveN, liveEvents int, profile bool) error {
	if *trafficFor <= 0 {
		return nil
	}
	db += "_traffic"
	c, err := openDB(ctx, db)
	if err != nil {
		return err
	}
	defer c.Close()
	drop, err := c.SQL("bench/bench_drop_database.sql", nil)
	if err != nil {
		return err
	}
	if err := c.Conn.Exec(ctx, drop); err != nil {
		return fmt.Errorf("drop %s: %w", db, err)
	}
	defer func() { _ = c.Conn.Exec(context.WithoutCancel(ctx), drop) }()
	if _, err := c.Migrate(ctx, store.MigrateOptions{}); err != nil {
		return err
	}
	dir, bin, err := buildAnalyze("comparebench-traffic")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r := &trafficRun{c: c, db: db, n: liveN, perHour: liveEvents, history: *trafficHistory, measure: *trafficFor,
		chPid: stagecpu.StatePID("clickhouse"), profile: profile}
	return liveTraffic(ctx, r, bin, dir)
}
