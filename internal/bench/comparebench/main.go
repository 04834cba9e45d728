// Command comparebench measures `analyze compare` and `analyze live` on this
// machine (`make bench-compare`). It loads one experiment of 10M events
// (an hour ending now, users sending about five requests each, 10% of
// users in the experiment cohort, 1% vs 1.5% errors, log-normal latencies)
// and 20 smaller live experiments into a database of its own with
// bench/events_insert.sql (INSERT ... SELECT FROM numbers(), so the
// materialized views fill as in production), then prints, as the first
// run and min/p50/p95 of interleaved rounds:
//
//   - the view-backed numbers of compare (cohort_stats), alone and with
//     the unit-level statistics of the error-rate SLI compare reads at this
//     size (unit_groups and unit_seen), read as compare reads them
//     (analysis.ViewNumbers: beside the bucket rows) and, for comparison,
//     after them, and (-before) the per-user reads it used before
//     (unit_tally, the raw table);
//     the two compare parts also cold: the unit-level tallies compare
//     keeps for a settled window (unit_settled) emptied before each
//     timing, as for the first comparison of a finished run; the warm
//     parts read them kept ("first" is cold for every part: the kept
//     tallies are emptied before the first round);
//   - the latency sample read;
//   - the whole comparison (analysis.Compare, what `analyze compare` runs,
//     per user);
//   - the CPU of 20 `analyze live` processes at a 5 s interval over 60 s,
//     as a share of one core, and the ClickHouse server's over the same
//     time, net of its CPU over 30 s without the watchers just before
//     (other work on the machine counts in both), charged to the watchers;
//   - before that, the cold start (-cold-for): the same 20 processes
//     started together on a database nobody has looked at (cohort_settled
//     and settle_claims emptied), their CPU and ClickHouse's from their
//     start over the first looks, printed beside the steady figure; and
//     (-cold-same) before it the same with all 20 processes watching one
//     experiment (bench-live-01), as a team watching one game day does;
//   - after it (-traffic-for, traffic.go) the same 20 watchers on 20 fresh
//     experiments whose traffic keeps arriving while they watch (250k
//     events per hour each, -traffic-history stored before they start),
//     as during a game day: the cases above watch an hour that ended
//     before they started, where a look after the first finds nothing new.
//     No sink runs here: the feed records a caught-up sink's progress
//     after each insert, so the watchers settle by its watermark.
//
// -cold-only measures the cold starts alone, -cold-rounds times, and with
// -alt-analyze <binary> interleaves a second build's (A B A B ...) and
// prints each build's median [min..max] and their ratio per round: for
// comparing a change to analyze on a machine others keep busy. With
// -profile it also charges the watchers their statements' CPU from the
// query log (bench/bench_statements_cpu_total.sql), which the server's
// other work does not inflate as it does the process's CPU.
//
// -profile logs the timed rounds' statements (log_queries) and prints each
// one's runs, median duration and CPU, rows read and memory from system.query_log,
// and the live watchers' (STEADYSTATE_CLICKHOUSE_LOG_QUERIES=1): per
// statement over the cold start and over the steady measurement, runs,
// CPU seconds, rows and bytes read.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// coldBare: also measure the cold starts without the settler.
var coldBare *bool

func main() {
	events := flag.Int("events", 10_000_000, "events of the compared experiment")
	liveEvents := flag.Int("live-events", 250_000, "events of each live experiment")
	liveN := flag.Int("live", 20, "live experiments")
	repeat := flag.Int("repeat", 20, "timed repetitions")
	liveFor := flag.Duration("live-for", 60*time.Second, "how long the live processes run")
	coldFor := flag.Duration("cold-for", 30*time.Second, "cold start: how long the live processes are measured from their start on a database nobody has looked at (0: skip)")
	coldBare = flag.Bool("cold-bare", true, "also measure each cold start without the settle loop (`analyze settle`): the watchers' first looks count the hour themselves")
	coldSame := flag.Bool("cold-same", true, "also measure the cold start with every live process watching the same experiment (bench-live-01), as a team watching one game day does")
	db := flag.String("database", "steadystate_bench_compare", "database to (re)create")
	keep := flag.Bool("keep", false, "keep the loaded database when it exists (skip loading)")
	profile := flag.Bool("profile", false, "log the timed rounds' and the live watchers' statements in system.query_log and print each one's runs, median duration, rows read and memory (the watchers': runs, CPU, rows and bytes read, over the cold start and the steady measurement)")
	coldOnly := flag.Bool("cold-only", false, "measure only the cold starts (-cold-for, -cold-same), -cold-rounds times, and nothing else: for comparing two builds of analyze (-alt-analyze)")
	coldRounds := flag.Int("cold-rounds", 1, "with -cold-only: rounds of cold starts (each round runs every build once, interleaved)")
	altAnalyze := flag.String("alt-analyze", "", "with -cold-only: a second analyze binary whose cold starts are interleaved with this tree's (A B A B ...), printed as a ratio")
	before := flag.Bool("before", true, "also time the per-unit reads compare used before unit groups (slow: up to the client's 60 s read timeout each at 10M events)")
	flag.Parse()
	var err error
	if *coldOnly {
		err = runCold(*db, *liveN, *coldFor, *coldSame, *coldRounds, *altAnalyze, *profile)
	} else {
		err = run(*events, *liveEvents, *liveN, *repeat, *liveFor, *coldFor, *coldSame, *db, *keep, *before, *profile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "comparebench:", err)
		os.Exit(1)
	}
}

// load generates n events of one experiment over [start, start+span)
// with bench/events_insert.sql.
func load(ctx context.Context, c *store.Client, exp string, n int, start time.Time, span time.Duration) error {
	const chunk = 500_000
	for off := 0; off < n; off += chunk {
		sql, err := c.SQL("bench/bench_events_insert.sql", queries.Params{
			"experiment_id": exp, "n": int64(n), "start_ns": start.UnixNano(), "step_ns": span.Nanoseconds() / int64(n),
			"offset": int64(off), "count": int64(min(chunk, n-off)),
		})
		if err != nil {
			return err
		}
		if err := c.Conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("load %s at %d: %w", exp, off, err)
		}
	}
	return nil
}

// scalar runs a bench/*.sql query with one UInt64 or UInt32 result.
func scalar(ctx context.Context, c *store.Client, name string, p queries.Params, dest any) error {
	rows, err := c.Query(ctx, name, p)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		return fmt.Errorf("%s: no row", name)
	}
	if err := rows.Scan(dest); err != nil {
		return fmt.Errorf("scan %s: %w", name, err)
	}
	return rows.Err()
}

func run(events, liveEvents, liveN, repeat int, liveFor, coldFor time.Duration, coldSame bool, db string, keep, before, profile bool) error {
	ctx := context.Background()
	c, err := openDB(ctx, db)
	if err != nil {
		return err
	}
	defer c.Close()
	if *trafficOnly {
		return runTraffic(ctx, db, liveN, liveEvents, profile)
	}
	now := time.Now().Truncate(time.Second)
	start := now.Add(-time.Hour)
	var have uint64
	if keep {
		_ = scalar(ctx, c, "bench/events_count.sql", queries.Params{"experiment_id": "bench-main"}, &have)
	}
	if have == 0 {
		drop, err := c.SQL("bench/bench_drop_database.sql", nil)
		if err != nil {
			return err
		}
		if err := c.Conn.Exec(ctx, drop); err != nil {
			return fmt.Errorf("drop %s: %w", db, err)
		}
		if _, err := c.Migrate(ctx, store.MigrateOptions{}); err != nil {
			return err
		}
		t0 := time.Now()
		if err := load(ctx, c, "bench-main", events, start, time.Hour); err != nil {
			return err
		}
		for i := 1; i <= liveN; i++ {
			if err := load(ctx, c, fmt.Sprintf("bench-live-%02d", i), liveEvents, start, time.Hour); err != nil {
				return err
			}
		}
		fmt.Printf("loaded %d + %d x %d events in %s (INSERT ... SELECT, views filled on insert)\n", events, liveN, liveEvents, time.Since(t0).Round(time.Millisecond))
	} else {
		// A database loaded by an older tree is brought to this tree's
		// schema first, as an upgrade would (views dropped or added).
		if _, err := c.Migrate(ctx, store.MigrateOptions{}); err != nil {
			return err
		}
		var first uint32
		if err := scalar(ctx, c, "bench/bench_loaded_window.sql", queries.Params{"experiment_id": "bench-main"}, &first); err != nil {
			return fmt.Errorf("find loaded window: %w", err)
		}
		start = time.Unix(int64(first), 0)
		now = start.Add(time.Hour)
		fmt.Printf("reusing %s: %d events of bench-main\n", db, have)
	}
	// Time the queries on a settled server: wait (up to 3 min) for the
	// background merges of the load to finish.
	if err := waitMerges(ctx, c, 3*time.Minute, 2*time.Second, db); err != nil {
		return err
	}
	var n uint64
	if err := scalar(ctx, c, "bench/events_distinct.sql", queries.Params{"experiment_id": "bench-main"}, &n); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	st := &analysis.Store{C: c}
	w := analysis.Window{Since: start, Until: now}
	req := analysis.Request{ExperimentID: "bench-main", Window: w}
	fmt.Printf("experiment bench-main: %d distinct tagged events in %s .. %s\n\n", n, w.Since.Format(time.RFC3339), w.Until.Format(time.RFC3339))

	type row struct {
		name   string
		target time.Duration
		fn     func() error
		rounds int // 0: every round
		// prep runs before each timing of fn, untimed (nil: nothing).
		prep func() error
	}
	// forgetUnits empties the kept unit-level tallies (unit_settled), so
	// the part after it computes them as the first comparison of a
	// finished run does: the cold figure, printed beside the warm one
	// (the repeats of a comparison of the same window read them kept).
	forgetUnits := func() error {
		sql, err := c.SQL("bench/bench_forget_unit_settled.sql", nil)
		if err != nil {
			return err
		}
		if err := c.Conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("forget unit_settled: %w", err)
		}
		return nil
	}
	slis := analysis.DefaultSLIs()
	errSLI := &slis[0]
	// What compare reads for the unit-level statistics of the error-rate
	// SLI: the group tallies and the distinct units (exactly, or in the
	// hash slice compare picks for this many events).
	var windowEvents int64
	unitGroups := func(since time.Time, untagged bool) error {
		rows, err := st.Buckets(ctx, "bench-main", since, w.Until, untagged)
		if err != nil {
			return err
		}
		var dirty []uint32
		windowEvents = 0
		for _, r := range rows {
			if r.Rows > r.Events {
				dirty = append(dirty, uint32(r.Bucket.Unix()))
			}
			if !r.Bucket.Before(w.Since) && r.Cohort != telemetry.CohortNone {
				windowEvents += r.Events
			}
		}
		_, err = st.SLIUnitGroups(ctx, "bench-main", w, errSLI, dirty, analysis.UnitSampleShift(windowEvents))
		return err
	}
	rows := []row{
		{"view-backed numbers (cohort_stats, run + baseline window)", 30 * time.Millisecond, func() error {
			_, err := st.Buckets(ctx, "bench-main", w.Since.Add(-time.Hour), w.Until, true)
			return err
		}, 0, nil},
		{"view-backed numbers + unit statistics (cohort_stats + unit tallies, kept)", 30 * time.Millisecond, func() error {
			_, err := analysis.ViewNumbers(ctx, st, req)
			return err
		}, 0, nil},
		{"  the same, cold: unit tallies not kept yet (unit_settled emptied first)", 0, func() error {
			_, err := analysis.ViewNumbers(ctx, st, req)
			return err
		}, 0, forgetUnits},
		{"  the same, unit reads after the bucket read (before)", 0, func() error {
			return unitGroups(w.Since.Add(-time.Hour), true)
		}, 0, nil},
		{"unit statistics alone (kept, checked; error_rate, run window)", 0, func() error {
			_, err := st.SLIUnitGroups(ctx, "bench-main", w, errSLI, nil, analysis.UnitSampleShift(windowEvents))
			return err
		}, 0, nil},
	}
	if before {
		rows = append(rows, row{"per-unit tallies (unit_tally, before; 1 round)", 0, func() error {
			_, err := st.SLIUnitTally(ctx, "bench-main", w, errSLI, nil)
			return err
		}, 1, nil}, row{"per-unit tallies on the raw table (sli_unit_counts.sql, before; 1 round)", 0, func() error {
			_, err := st.SLIUnitCounts(ctx, "bench-main", w, errSLI, "")
			return err
		}, 1, nil})
	}
	rows = append(rows, []row{
		{"latency sample (2 x 10k events, raw table)", 0, func() error {
			_, err := st.LatencySample(ctx, "bench-main", w, &slis[1], analysis.SampleRate{SecondPPM: 22_000, ControlPPM: 50_000, ExperimentPPM: 500_000})
			return err
		}, 0, nil},
		{"whole comparison (analysis.Compare, 4 SLIs + SRM + blast radius, per user)", 300 * time.Millisecond, func() error {
			_, err := analysis.Compare(ctx, st, req, analysis.Settings{}, now)
			return err
		}, 0, nil},
		{"  the same, cold: unit tallies not kept yet (unit_settled emptied first)", 0, func() error {
			_, err := analysis.Compare(ctx, st, req, analysis.Settings{}, now)
			return err
		}, 0, forgetUnits},
		{"live look, settled cache warm (1 experiment)", 0, nil, 0, nil},
	}...)
	mon, err := analysis.NewMonitor(st, analysis.Request{ExperimentID: "bench-main", Window: analysis.Window{Since: start}}, analysis.Settings{})
	if err != nil {
		return err
	}
	if _, err := mon.Look(ctx, now); err != nil { // fills the settled caches
		return err
	}
	rows[len(rows)-1].fn = func() error {
		_, err := mon.Look(ctx, now)
		return err
	}
	res, err := analysis.Compare(ctx, st, req, analysis.Settings{}, now)
	if err != nil {
		return err
	}
	fmt.Printf("compare: unit %s, %d control / %d experiment units in the SRM check (basis %q), error_rate n units %d / %d, verdict %s\n",
		res.Unit, res.SRM.Control, res.SRM.Experiment, res.SRM.Basis, res.Metrics[0].Control.Units, res.Metrics[0].Experiment.Units, res.Verdict)

	// Each part once untimed (caches filled), then repeat rounds in which
	// every part runs once, interleaved, so load from elsewhere spreads
	// over all parts alike.
	// A part that fails (e.g. the raw read outlasting the client's read
	// timeout on a loaded machine) is reported as failed, not timed.
	// The kept unit tallies are emptied first, so "first" of the compare
	// parts is the first comparison of the window (cold).
	firsts := make([]time.Duration, len(rows))
	failed := make([]error, len(rows))
	if err := forgetUnits(); err != nil {
		return err
	}
	for i, r := range rows {
		if r.prep != nil {
			if failed[i] = r.prep(); failed[i] != nil {
				continue
			}
		}
		t := time.Now()
		failed[i] = r.fn()
		firsts[i] = time.Since(t)
	}
	ds := make([][]time.Duration, len(rows))
	profSince := time.Now().Add(-time.Second)
	if profile {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
	}
	for k := 0; k < repeat; k++ {
		for i, r := range rows {
			if (r.rounds > 0 && k >= r.rounds) || failed[i] != nil {
				continue
			}
			if r.prep != nil {
				if failed[i] = r.prep(); failed[i] != nil {
					continue
				}
			}
			t := time.Now()
			failed[i] = r.fn()
			ds[i] = append(ds[i], time.Since(t))
		}
	}
	fmt.Printf("%-76s %9s %9s %9s %9s %9s %s\n", "part ("+strconv.Itoa(repeat)+" interleaved rounds)", "first", "min", "p50", "p95", "target", "met")
	for i, r := range rows {
		d := ds[i]
		if failed[i] != nil || len(d) == 0 {
			fmt.Printf("%-76s failed after %s: %v\n", r.name, firsts[i].Round(time.Millisecond), failed[i])
			continue
		}
		sort.Slice(d, func(a, b int) bool { return d[a] < d[b] })
		p50, p95 := d[len(d)/2], d[min(len(d)-1, len(d)*95/100)]
		target, met := "-", ""
		if r.target > 0 {
			target = r.target.String()
			met = "yes"
			if p50 > r.target {
				met = "NO"
			}
		}
		rd := func(x time.Duration) string { return x.Round(100 * time.Microsecond).String() }
		fmt.Printf("%-76s %9s %9s %9s %9s %9s %s\n", r.name, rd(firsts[i]), rd(d[0]), rd(p50), rd(p95), target, met)
	}
	fmt.Printf("load average (1, 5, 15 min): %s\n", loadAvg())
	if profile {
		if err := printProfile(context.Background(), c, db, profSince); err != nil {
			return err
		}
	}

	if err := liveCPU(context.Background(), c, db, liveN, liveEvents, liveFor, coldFor, coldSame, start, profile); err != nil {
		return err
	}
	return runTraffic(context.Background(), db, liveN, liveEvents, profile)
}

// liveCPU runs liveN `analyze live` processes at a 5 s interval and
// reports their CPU and the ClickHouse server's.
func liveCPU(ctx context.Context, c *store.Client, db string, liveN, liveEvents int, liveFor, coldFor time.Duration, coldSame bool, start time.Time, profile bool) error {
	chPid := stagecpu.StatePID("clickhouse")
	queryCPU := func() float64 {
		var us uint64
		if err := scalar(ctx, c, "bench/bench_server_query_cpu.sql", nil, &us); err != nil {
			return 0
		}
		return float64(us) / 1e6
	}
	// ClickHouse's CPU without the watchers first (whatever else runs on
	// the machine), to subtract from its CPU with them.
	baseFor := min(liveFor, 30*time.Second)
	chBase0, qBase0, tb := cpuSeconds(chPid), queryCPU(), time.Now()
	time.Sleep(baseFor)
	baseWall := time.Since(tb).Seconds()
	chBaseRate, qBaseRate := (cpuSeconds(chPid)-chBase0)/baseWall, (queryCPU()-qBase0)/baseWall

	dir, bin, err := buildAnalyze("comparebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// Cold start: the watchers all start at once on a database nobody has
	// looked at (the settled-count cache and the claims on filling it
	// emptied), measured from their
	// start over coldFor, start-up and first looks included.
	var cold float64
	var coldWall time.Duration
	if coldFor > 0 {
		// The watchers of one experiment first, so the steady measurement
		// below starts, as before, after the cold start of all of them.
		for _, k := range coldCases(coldSame, *coldBare) {
			f, err := coldStart(ctx, c, bin, dir, db, liveN, start, coldFor, chPid, k, profile)
			if err != nil {
				return err
			}
			if k.settler && !k.same {
				cold, coldWall = f.charged, f.wall
			}
		}
	}
	// Each process is measured from after its first look (which reads the
	// whole hour once) for liveFor: the steady-state cost of watching.
	// The measurement starts once every process has printed its first
	// look (at least 15 s, at most 2 min after the start), so a first
	// look slowed by other load does not count as watching.
	const warmup, maxWarmup = 15 * time.Second, 2 * time.Minute
	cmds, err := startWatchers(bin, dir, db, liveN, false, start, maxWarmup+liveFor+5*time.Second, "live", profile)
	if err != nil {
		return err
	}
	procCPU := func() float64 { return watchersCPU(cmds) }
	tw := time.Now()
	time.Sleep(warmup)
	for time.Since(tw) < maxWarmup && !firstLooksDone(dir, "live", liveN) {
		time.Sleep(time.Second)
	}
	warm := time.Since(tw)
	chBefore, qBefore, before := cpuSeconds(chPid), queryCPU(), procCPU()
	t0 := time.Now()
	time.Sleep(liveFor)
	cpu, wall := procCPU()-before, time.Since(t0)
	chCPU, qCPU := cpuSeconds(chPid)-chBefore, queryCPU()-qBefore
	if err := waitWatchers(cmds, dir, "live"); err != nil {
		return err
	}
	var total time.Duration
	for _, cmd := range cmds {
		total += exitedCPU(cmd)
	}
	sec := wall.Seconds()
	chNet := max(0, chCPU/sec-chBaseRate)
	qNet := max(0, qCPU/sec-qBaseRate)
	fmt.Printf("\nlive: %d `analyze live` processes at a 5 s interval, each on its own experiment (1 h of data, %d events);\n", liveN, liveEvents)
	fmt.Printf("measured for %s after a %s warm-up (until every process printed its first look, which reads the whole hour once)\n", wall.Round(time.Second), warm.Round(time.Second))
	fmt.Printf("  analyze processes CPU            %8.2f s = %6.2f%% of one core\n", cpu, 100*cpu/sec)
	fmt.Printf("  incl. start-up and first looks: %.2f s over the processes' lives\n", total.Seconds())
	if chPid > 0 {
		fmt.Printf("  ClickHouse server CPU (process)  %8.2f s = %6.2f%% of one core; without watchers %6.2f%% (%s before): net %6.2f%%\n",
			chCPU, 100*chCPU/sec, 100*chBaseRate, baseWall2(baseWall), 100*chNet)
	}
	fmt.Printf("  ClickHouse query threads CPU     %8.2f s = %6.2f%% of one core; without watchers %6.2f%%: net %6.2f%%\n", qCPU, 100*qCPU/sec, 100*qBaseRate, 100*qNet)
	charged := cpu/sec + chNet
	fmt.Printf("  watchers charged (analyze + ClickHouse net of the process) = %6.2f%% of one core (target <= 25%%: %s)\n", 100*charged, yesNo(charged <= 0.25))
	if coldFor > 0 {
		fmt.Printf("  beside it, the cold start above: %6.2f%% of one core over the first %s\n", 100*cold, coldWall.Round(time.Second))
	}
	fmt.Printf("  load average (1, 5, 15 min): %s\n", loadAvg())
	if profile {
		return printStatementCPU(ctx, c, db, t0, t0.Add(wall), "the steady watchers'")
	}
	return nil
}

// coldFigures is one cold start's CPU, as shares of one core over wall:
// the analyze processes', ClickHouse's net of its rate without them, and
// the two together.
type coldFigures struct {
	analyze, clickhouse, charged float64
	// statements is the CPU of the watchers' statements (query_log; with
	// -profile, else 0), as a share of one core over wall.
	statements float64
	wall       time.Duration
}

// coldStart starts the watchers together on a database nobody has looked
// at (the settled-count cache, the claims on filling it and the kept unit
// tallies emptied), each on its own experiment or (same) all on
// bench-live-01, and prints their CPU and ClickHouse's net CPU from their
// start over coldFor, start-up and first looks included.
func coldStart(ctx context.Context, c *store.Client, bin, dir, db string, liveN int, start time.Time, coldFor time.Duration, chPid int, k coldCase, profile bool) (coldFigures, error) {
	for _, name := range []string{"bench/bench_forget_settled.sql", "bench/bench_forget_claims.sql", "bench/bench_forget_unit_settled.sql"} {
		forget, err := c.SQL(name, nil)
		if err != nil {
			return coldFigures{}, err
		}
		if err := c.Conn.Exec(ctx, forget); err != nil {
			return coldFigures{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	tag, what := "cold", "each on its own experiment"
	if k.same {
		tag, what = "cold-same", "all on one experiment (bench-live-01)"
	}
	if k.settler {
		tag += "-settler"
		if err := backfill(ctx, c, bin, dir, db, start, chPid); err != nil {
			return coldFigures{}, err
		}
	}
	chBaseRate, err := quietRate(ctx, c, db, chPid)
	if err != nil {
		return coldFigures{}, err
	}
	chBefore := cpuSeconds(chPid)
	t0 := time.Now()
	var loop []*exec.Cmd
	if k.settler {
		// The settle loop as deployed (its defaults), charged with the
		// watchers.
		cmd, err := startAnalyze(bin, dir, db, tag+"-loop", nil, "settle")
		if err != nil {
			return coldFigures{}, err
		}
		loop = append(loop, cmd)
	}
	cmds, err := startWatchers(bin, dir, db, liveN, k.same, start, coldFor+5*time.Second, tag, profile)
	if err != nil {
		stopWatchers(loop)
		return coldFigures{}, err
	}
	time.Sleep(coldFor)
	cpu, wall := watchersCPU(cmds)+watchersCPU(loop), time.Since(t0)
	chCPU := cpuSeconds(chPid) - chBefore
	stopWatchers(loop)
	if err := waitWatchers(cmds, dir, tag); err != nil {
		return coldFigures{}, err
	}
	for _, cmd := range loop {
		if err := cmd.Wait(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, tag+"-loop.log"))
			return coldFigures{}, fmt.Errorf("settle loop: %w: %s", err, log)
		}
	}
	chNet := max(0, chCPU/wall.Seconds()-chBaseRate)
	cold := cpu/wall.Seconds() + chNet
	if k.settler {
		fmt.Printf("\ncold start: %d `analyze live` processes %s started together, with `analyze settle` running as deployed (the hour counted ahead by it, above), %s from their start (%d looks each at 5 s):\n",
			liveN, what, wall.Round(time.Second), int(coldFor/(5*time.Second))+1)
		fmt.Printf("  analyze processes CPU (watchers and the settle loop) %8.2f s = %6.2f%% of one core\n", cpu, 100*cpu/wall.Seconds())
	} else {
		fmt.Printf("\ncold start without a settler: %d `analyze live` processes %s started together on a database nobody has looked at (cohort_settled and settle_claims emptied, no `analyze settle` running: the first looks count the hour), %s from their start (%d looks each at 5 s):\n",
			liveN, what, wall.Round(time.Second), int(coldFor/(5*time.Second))+1)
		fmt.Printf("  analyze processes CPU            %8.2f s = %6.2f%% of one core\n", cpu, 100*cpu/wall.Seconds())
	}
	if chPid > 0 {
		fmt.Printf("  ClickHouse server CPU (process)  %8.2f s = %6.2f%% of one core; without watchers (10 s before, no merge running) %6.2f%%: net %6.2f%%\n",
			chCPU, 100*chCPU/wall.Seconds(), 100*chBaseRate, 100*chNet)
	}
	if k.settler {
		fmt.Printf("  cold start charged (analyze + ClickHouse net) = %6.2f%% of one core (target <= 25%%: %s)\n", 100*cold, yesNo(cold <= 0.25))
	} else {
		fmt.Printf("  cold start charged (analyze + ClickHouse net) = %6.2f%% of one core (no target: it is the deployed setup's, with the settler running)\n", 100*cold)
	}
	fmt.Printf("  load average (1, 5, 15 min): %s\n", loadAvg())
	f := coldFigures{analyze: cpu / wall.Seconds(), clickhouse: chNet, charged: cold, wall: wall}
	if profile {
		if err := printStatementCPU(ctx, c, db, t0, t0.Add(wall), "the cold start's"); err != nil {
			return coldFigures{}, err
		}
		var st float64
		if err := scalar(ctx, c, "bench/bench_statements_cpu_total.sql", queries.Params{"since_s": t0.Unix(), "until_s": t0.Add(wall).Unix() + 1, "database": db}, &st); err != nil {
			return coldFigures{}, err
		}
		f.statements = st / wall.Seconds()
		fmt.Printf("  the watchers' statements' CPU (query_log) %6.2f s = %6.2f%% of one core; with analyze's %6.2f%%\n", st, 100*f.statements, 100*(f.analyze+f.statements))
	}
	return f, nil
}

// coldCase is one cold start: the watchers all on one experiment or each
// on its own, with the settle loop running as deployed or without it.
type coldCase struct{ same, settler bool }

// coldCases are the cold starts to measure, in order: per experiment
// layout, without the settler (when bare) and then with it.
func coldCases(same, bare bool) []coldCase {
	var out []coldCase
	for _, s := range []bool{true, false} {
		if s && !same {
			continue
		}
		if bare {
			out = append(out, coldCase{same: s})
		}
		out = append(out, coldCase{same: s, settler: true})
	}
	return out
}

func (k coldCase) String() string {
	what := "20 experiments"
	if k.same {
		what = "one experiment"
	}
	if !k.settler {
		what += ", no settler"
	}
	return what
}

// backfill counts the loaded hour as `analyze settle` does when it runs
// while the traffic arrives (one `settle --once` over the stored range,
// on the emptied cache) and prints its CPU, analyze's and ClickHouse's
// net, per million stored events: the cost the settler moves from the
// watchers' first looks to the time the traffic settles.
func backfill(ctx context.Context, c *store.Client, bin, dir, db string, start time.Time, chPid int) error {
	var events uint64
	if err := scalar(ctx, c, "bench/events_count.sql", queries.Params{"experiment_id": ""}, &events); err != nil {
		return err
	}
	base, err := quietRate(ctx, c, db, chPid)
	if err != nil {
		return err
	}
	lookback := time.Since(start).Truncate(time.Minute) + 10*time.Minute
	ch0, t0 := cpuSeconds(chPid), time.Now()
	cmd, err := startAnalyze(bin, dir, db, "backfill", nil, "settle", "--once", "--lookback", lookback.String())
	if err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "backfill.log"))
		return fmt.Errorf("settle --once: %w: %s", err, log)
	}
	wall := time.Since(t0)
	chNet := max(0, cpuSeconds(chPid)-ch0-base*wall.Seconds())
	cpu := exitedCPU(cmd).Seconds()
	out, _ := os.ReadFile(filepath.Join(dir, "backfill.out"))
	fmt.Printf("\nsettler: `analyze settle --once --lookback %s` on the emptied cache counted the stored traffic (%d events) in %s: %s", lookback, events, wall.Round(time.Millisecond), out)
	fmt.Printf("  analyze %.2f s + ClickHouse net %.2f s = %.3f CPU-s per million stored events (what the settle loop spends as the traffic settles)\n",
		cpu, chNet, (cpu+chNet)/(float64(events)/1e6))
	return nil
}

// quietRate waits (up to a minute) until no merge runs in db or in the
// server's own logs, then returns the server's CPU rate over the next 10 s:
// the rate a cold start's is charged net of. Measured right before each
// cold start, not once before all of them: the merges of one case's
// inserts (its claims, cached counts and verdict history, and with
// -profile the query log) run on after its 30 s and were charged to the
// next case (20 experiments' cold start 24.3 and 32.1 % in two rounds of
// one build, back to back).
func quietRate(ctx context.Context, c *store.Client, db string, chPid int) (float64, error) {
	if err := waitMerges(ctx, c, time.Minute, time.Second, db, "system"); err != nil {
		return 0, err
	}
	ch0, t0 := cpuSeconds(chPid), time.Now()
	time.Sleep(10 * time.Second)
	return (cpuSeconds(chPid) - ch0) / time.Since(t0).Seconds(), nil
}

// waitMerges waits, looking every poll, until no merge runs in any of dbs,
// or for at most limit (the measurement then goes on with merges running).
func waitMerges(ctx context.Context, c *store.Client, limit, poll time.Duration, dbs ...string) error {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(poll) {
		var running uint64
		for _, db := range dbs {
			var merges uint64
			if err := scalar(ctx, c, "bench/bench_merges.sql", queries.Params{"database": db}, &merges); err != nil {
				return fmt.Errorf("merges in %s: %w", db, err)
			}
			running += merges
		}
		if running == 0 {
			return nil
		}
	}
	return nil
}

// runCold measures only the cold starts (-cold-only): rounds rounds in
// each of which every build (this tree's analyze, then -alt-analyze's
// when given) runs the
// cold start of 20 watchers of one experiment (-cold-same) and of 20
// experiments, interleaved so load from elsewhere spreads over both; then
// the medians [min..max] per build and case, and alt / this per round.
func runCold(db string, liveN int, coldFor time.Duration, coldSame bool, rounds int, alt string, profile bool) error {
	ctx := context.Background()
	c, err := openDB(ctx, db)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Migrate(ctx, store.MigrateOptions{}); err != nil {
		return err
	}
	var first uint32
	if err := scalar(ctx, c, "bench/bench_loaded_window.sql", queries.Params{"experiment_id": "bench-main"}, &first); err != nil {
		return fmt.Errorf("find loaded window (load the database first, without -cold-only): %w", err)
	}
	start := time.Unix(int64(first), 0)
	dir, bin, err := buildAnalyze("comparebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins := []string{bin}
	if alt != "" {
		bins = append(bins, alt)
	}
	chPid := stagecpu.StatePID("clickhouse")
	cases := coldCases(coldSame, *coldBare)
	// figs[build][case] over the rounds.
	figs := make([][][]coldFigures, len(bins))
	for b := range bins {
		figs[b] = make([][]coldFigures, len(cases))
	}
	for k := 0; k < rounds; k++ {
		for b, bin := range bins {
			for ci, cc := range cases {
				fmt.Printf("\nround %d, build %d (%s):", k+1, b, bin)
				f, err := coldStart(ctx, c, bin, dir, db, liveN, start, coldFor, chPid, cc, profile)
				if err != nil {
					return err
				}
				figs[b][ci] = append(figs[b][ci], f)
			}
		}
	}
	fmt.Printf("\ncold start, %d rounds, %% of one core: median [min..max] (analyze + ClickHouse net = charged)\n", rounds)
	for ci, cc := range cases {
		what := cc.String()
		for b := range bins {
			pick := func(get func(coldFigures) float64) string {
				xs := make([]float64, 0, rounds)
				for _, f := range figs[b][ci] {
					xs = append(xs, 100*get(f))
				}
				return spread(xs)
			}
			fmt.Printf("  %-27s build %d: analyze %s + ClickHouse %s = %s\n", what, b,
				pick(func(f coldFigures) float64 { return f.analyze }), pick(func(f coldFigures) float64 { return f.clickhouse }),
				pick(func(f coldFigures) float64 { return f.charged }))
			if profile {
				fmt.Printf("  %-27s build %d: analyze + statements (query_log) %s\n", what, b, pick(func(f coldFigures) float64 { return f.analyze + f.statements }))
			}
		}
		if len(bins) == 2 {
			xs := make([]float64, 0, rounds)
			for k := range figs[0][ci] {
				xs = append(xs, figs[1][ci][k].charged/figs[0][ci][k].charged)
			}
			fmt.Printf("  %-27s build 1 / build 0 charged, per round: %s\n", what, spread(xs))
			if profile {
				xs = xs[:0]
				for k := range figs[0][ci] {
					a, b := figs[0][ci][k], figs[1][ci][k]
					xs = append(xs, (b.analyze+b.statements)/(a.analyze+a.statements))
				}
				fmt.Printf("  %-27s build 1 / build 0 analyze + statements, per round: %s\n", what, spread(xs))
			}
		}
	}
	fmt.Printf("load average (1, 5, 15 min): %s\n", loadAvg())
	return nil
}

// spread is "median [min..max]" of xs.
func spread(xs []float64) string {
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	return fmt.Sprintf("%.2f [%.2f..%.2f]", stagecpu.Median(ys), ys[0], ys[len(ys)-1])
}

// printStatementCPU prints the watchers' statements in [from, until)
// from the query log (bench/bench_statement_cpu.sql): runs, CPU, rows
// and bytes read.
func printStatementCPU(ctx context.Context, c *store.Client, db string, from, until time.Time, what string) error {
	flush, err := c.SQL("bench/bench_flush_logs.sql", nil)
	if err != nil {
		return err
	}
	if err := c.Conn.Exec(ctx, flush); err != nil {
		return fmt.Errorf("flush logs: %w", err)
	}
	rows, err := c.Query(ctx, "bench/bench_statement_cpu.sql", queries.Params{"since_s": from.Unix(), "until_s": until.Unix() + 1, "database": db})
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Printf("  %s statements (system.query_log): runs, CPU s, rows read, MB read\n", what)
	for rows.Next() {
		var (
			stmt         string
			runs, rd, by uint64
			cpu          float64
		)
		if err := rows.Scan(&stmt, &runs, &cpu, &rd, &by); err != nil {
			return fmt.Errorf("scan statement cpu: %w", err)
		}
		fmt.Printf("  %5d %7.2f s %10d rows %8.1f MB  %s\n", runs, cpu, rd, float64(by)/1e6, stmt)
	}
	return rows.Err()
}

// openDB connects to the ClickHouse database db with the store's defaults.
func openDB(ctx context.Context, db string) (*store.Client, error) {
	cfg := store.NewDefaultConfig()
	cfg.Database = db
	return store.Open(ctx, cfg)
}

// buildAnalyze builds this tree's analyze into a new temporary directory
// (named after pattern) and returns the directory (the caller removes it)
// and the binary's path.
func buildAnalyze(pattern string) (dir, bin string, err error) {
	if dir, err = os.MkdirTemp("", pattern); err != nil {
		return "", "", fmt.Errorf("temp dir: %w", err)
	}
	bin = filepath.Join(dir, "analyze")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/analyze").CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", "", fmt.Errorf("build analyze: %w\n%s", err, out)
	}
	return dir, bin, nil
}

// startWatchers starts n `analyze live` processes at a 5 s interval, one
// per live experiment (same: all on bench-live-01), for d; their stderr goes to dir/<tag>-NN.log.
func startWatchers(bin, dir, db string, n int, same bool, start time.Time, d time.Duration, tag string, logQueries bool) ([]*exec.Cmd, error) {
	exps := make([]string, n)
	for i := range exps {
		exps[i] = fmt.Sprintf("bench-live-%02d", i+1)
		if same {
			exps[i] = "bench-live-01"
		}
	}
	return startExps(bin, dir, db, exps, start, d, tag, logQueries)
}

// startExps starts one `analyze live` process at a 5 s interval per
// experiment of exps, watching from start for d; the i-th (from 1) writes
// its looks to dir/<tag>-NN.out and its stderr to dir/<tag>-NN.log.
func startExps(bin, dir, db string, exps []string, start time.Time, d time.Duration, tag string, logQueries bool) ([]*exec.Cmd, error) {
	var env []string
	if logQueries {
		env = append(env, store.EnvLogQueries+"=1")
	}
	var cmds []*exec.Cmd
	for n, exp := range exps {
		cmd, err := startAnalyze(bin, dir, db, fmt.Sprintf("%s-%02d", tag, n+1), env,
			"live", exp, "--since", start.Format(time.RFC3339), "--interval", "5s", "--duration", d.String())
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, cmd)
	}
	return cmds, nil
}

// startAnalyze starts `analyze args...` on db with env added to this
// process's environment, its output in dir/<tag>.out and its stderr in
// dir/<tag>.log.
func startAnalyze(bin, dir, db, tag string, env []string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, append([]string{"--experiments", dir}, args...)...)
	cmd.Env = append(append(os.Environ(), store.EnvDatabase+"="+db), env...)
	out, err := os.Create(filepath.Join(dir, tag+".out"))
	if err != nil {
		return nil, fmt.Errorf("output file: %w", err)
	}
	errf, err := os.Create(filepath.Join(dir, tag+".log"))
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	cmd.Stdout, cmd.Stderr = out, errf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start analyze %s: %w", strings.Join(args, " "), err)
	}
	return cmd, nil
}

// firstLooksDone reports whether each of the n processes has written its
// first look (a JSON line) to dir/<tag>-NN.out.
func firstLooksDone(dir, tag string, n int) bool {
	for i := 1; i <= n; i++ {
		fi, err := os.Stat(filepath.Join(dir, fmt.Sprintf("%s-%02d.out", tag, i)))
		if err != nil || fi.Size() == 0 {
			return false
		}
	}
	return true
}

// looksDone is the looks the n processes printed so far to
// dir/<tag>-NN.out (one JSON line each).
func looksDone(dir, tag string, n int) int {
	total := 0
	for i := 1; i <= n; i++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s-%02d.out", tag, i)))
		if err == nil {
			total += bytes.Count(b, []byte("\n"))
		}
	}
	return total
}

// watchersCPU is the CPU seconds the running processes used so far.
func watchersCPU(cmds []*exec.Cmd) (s float64) {
	for _, c := range cmds {
		s += cpuSeconds(c.Process.Pid)
	}
	return s
}

// stopWatchers asks the processes to end (SIGTERM), as a user's Ctrl-C
// or a supervisor does; a live session ends cleanly on it.
func stopWatchers(cmds []*exec.Cmd) {
	for _, c := range cmds {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
}

// waitWatchers waits for the processes to end, with the log of one that
// failed.
func waitWatchers(cmds []*exec.Cmd, dir, tag string) error {
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s-%02d.log", tag, i+1)))
			return fmt.Errorf("live %s %d: %w: %s", tag, i+1, err, log)
		}
	}
	return nil
}

// printProfile prints the statements of the timed rounds from the query
// log (bench/bench_query_profile.sql).
func printProfile(ctx context.Context, c *store.Client, db string, since time.Time) error {
	flush, err := c.SQL("bench/bench_flush_logs.sql", nil)
	if err != nil {
		return err
	}
	if err := c.Conn.Exec(ctx, flush); err != nil {
		return fmt.Errorf("flush logs: %w", err)
	}
	rows, err := c.Query(ctx, "bench/bench_query_profile.sql", queries.Params{"since_s": since.Unix(), "database": db})
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Printf("\nstatements of the timed rounds (system.query_log): runs, p50 ms, p50 CPU ms, p50 rows read, p50 memory\n")
	for rows.Next() {
		var (
			stmt              string
			runs, ms, rd, mem uint64
			cpu               float64
		)
		if err := rows.Scan(&stmt, &runs, &ms, &rd, &mem, &cpu); err != nil {
			return fmt.Errorf("scan profile: %w", err)
		}
		fmt.Printf("  %4d %6d ms %7.2f ms CPU %10d rows %8.1f MB  %s\n", runs, ms, cpu, rd, float64(mem)/1e6, stmt)
	}
	return rows.Err()
}

func baseWall2(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

// exitedCPU is the user and system CPU of a process that has exited
// (cmd.Wait returned).
func exitedCPU(cmd *exec.Cmd) time.Duration {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return 0
}

func cpuSeconds(pid int) float64 { return stagecpu.PIDCPU(pid).Seconds() }
