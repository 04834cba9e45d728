// Command comparebench measures `analyze compare` and `analyze live` on this
// machine (`make bench-compare`). It loads one experiment of 10M events
// (an hour ending now, 10% experiment cohort, 1% vs 1.5% errors, log-normal
// latencies) and 20 smaller live experiments into a database of its own
// with INSERT ... SELECT FROM numbers(), so the materialized views fill as
// in production, then prints:
//
//   - the view-backed numbers of compare (the cohort_stats read), p50/p95;
//   - the latency sample read, p50/p95;
//   - the whole comparison (analysis.Compare, what `analyze compare` runs),
//     p50/p95;
//   - the CPU of 20 `analyze live` processes at a 5 s interval over 60 s,
//     as a share of one core, and the ClickHouse server's CPU over the same
//     time (an upper bound: other work on the machine counts too).
package main

import (
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

	"github.com/steadystate/steadystate/pipeline/analysis"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/queries"
)

func main() {
	events := flag.Int("events", 10_000_000, "events of the compared experiment")
	liveEvents := flag.Int("live-events", 250_000, "events of each live experiment")
	liveN := flag.Int("live", 20, "live experiments")
	repeat := flag.Int("repeat", 20, "timed repetitions")
	liveFor := flag.Duration("live-for", 60*time.Second, "how long the live processes run")
	db := flag.String("database", "steadystate_bench_compare", "database to (re)create")
	keep := flag.Bool("keep", false, "keep the loaded database when it exists (skip loading)")
	flag.Parse()
	if err := run(*events, *liveEvents, *liveN, *repeat, *liveFor, *db, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "comparebench:", err)
		os.Exit(1)
	}
}

// insertSQL generates n events of one experiment over [start, start+span):
// 10% experiment cohort, errors 1% (control) and 1.5% (experiment),
// durations log-normal around 40 ms (control) and 44 ms (experiment), plus
// one untagged event per 10 for the blast radius.
func load(ctx context.Context, c *store.Client, exp string, n int, start time.Time, span time.Duration) error {
	return execSQL(ctx, c, "bench/synthetic_events_insert.sql", queries.Params{
		"experiment_id": exp, "start_ns": start.UnixNano(), "step_ns": span.Nanoseconds() / int64(n), "n": n,
	})
}

// execSQL runs a statement of queries/bench on the client's database.
func execSQL(ctx context.Context, c *store.Client, name string, params queries.Params) error {
	sql, err := c.SQL(name, params)
	if err != nil {
		return err
	}
	if err := c.Conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// queryRow runs a one-row query of queries/bench and scans it into dest.
func queryRow(ctx context.Context, c *store.Client, name string, params queries.Params, dest ...any) error {
	sql, err := c.SQL(name, params)
	if err != nil {
		return err
	}
	if err := c.Conn.QueryRow(ctx, sql).Scan(dest...); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func run(events, liveEvents, liveN, repeat int, liveFor time.Duration, db string, keep bool) error {
	ctx := context.Background()
	cfg := store.NewDefaultConfig()
	cfg.Database = db
	c, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	now := time.Now().Truncate(time.Second)
	start := now.Add(-time.Hour)
	var have uint64
	if keep {
		_ = queryRow(ctx, c, "bench/events_count.sql", queries.Params{"experiment_id": "bench-main"}, &have)
	}
	if have == 0 {
		if err := execSQL(ctx, c, "bench/drop_database.sql", nil); err != nil {
			return fmt.Errorf("drop %s: %w", db, err)
		}
		if _, err := c.Migrate(ctx, store.MigrateOptions{}); err != nil {
			return err
		}
		t0 := time.Now()
		if err := load(ctx, c, "bench-main", events, start, time.Hour); err != nil {
			return fmt.Errorf("load bench-main: %w", err)
		}
		for i := 1; i <= liveN; i++ {
			if err := load(ctx, c, fmt.Sprintf("bench-live-%02d", i), liveEvents, start, time.Hour); err != nil {
				return fmt.Errorf("load live %d: %w", i, err)
			}
		}
		fmt.Printf("loaded %d + %d x %d events in %s (INSERT ... SELECT, views filled on insert)\n", events, liveN, liveEvents, time.Since(t0).Round(time.Millisecond))
	} else {
		var first uint32
		if err := queryRow(ctx, c, "bench/first_event_second.sql", queries.Params{"experiment_id": "bench-main"}, &first); err != nil {
			return fmt.Errorf("find loaded window: %w", err)
		}
		start = time.Unix(int64(first), 0)
		now = start.Add(time.Hour)
		fmt.Printf("reusing %s: %d events of bench-main\n", db, have)
	}
	// Time the queries on a settled server: wait (up to 3 min) for the
	// background merges of the load to finish.
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		var merges uint64
		if err := queryRow(ctx, c, "bench/merges.sql", queries.Params{"database": db}, &merges); err != nil {
			return fmt.Errorf("merges: %w", err)
		}
		if merges == 0 {
			break
		}
	}
	var n uint64
	if err := queryRow(ctx, c, "bench/events_distinct.sql", queries.Params{"experiment_id": "bench-main"}, &n); err != nil {
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
	}
	slis := analysis.DefaultSLIs()
	rows := []row{
		{"view-backed numbers (cohort_stats, run + baseline window)", 30 * time.Millisecond, func() error {
			_, err := st.Buckets(ctx, "bench-main", w.Since.Add(-time.Hour), w.Until, true)
			return err
		}},
		{"view-backed numbers (cohort_stats, run window, experiment only)", 30 * time.Millisecond, func() error {
			_, err := st.Buckets(ctx, "bench-main", w.Since, w.Until, false)
			return err
		}},
		{"latency sample (2 x 10k events, raw table)", 0, func() error {
			_, err := st.LatencySample(ctx, "bench-main", w, &slis[1], analysis.SampleRate{SecondPPM: 22_000, ControlPPM: 50_000, ExperimentPPM: 500_000})
			return err
		}},
		{"whole comparison (analysis.Compare, 4 SLIs + SRM + blast radius)", 300 * time.Millisecond, func() error {
			_, err := analysis.Compare(ctx, st, req, analysis.Settings{}, now)
			return err
		}},
		{"live look, settled cache warm (1 experiment)", 0, nil},
	}
	mon, err := analysis.NewMonitor(st, analysis.Request{ExperimentID: "bench-main", Window: analysis.Window{Since: start}}, analysis.Settings{})
	if err != nil {
		return err
	}
	if _, err := mon.Look(ctx, now); err != nil { // fills the settled cache
		return err
	}
	rows[len(rows)-1].fn = func() error {
		_, err := mon.Look(ctx, now)
		return err
	}

	fmt.Printf("%-68s %10s %10s %10s %10s %s\n", "part", "first", "p50", "p95", "target", "met")
	for _, r := range rows {
		t := time.Now()
		if err := r.fn(); err != nil { // the first call fills the settled-bucket cache
			return fmt.Errorf("%s: %w", r.name, err)
		}
		first := time.Since(t)
		var ds []time.Duration
		for i := 0; i < repeat; i++ {
			t := time.Now()
			if err := r.fn(); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			ds = append(ds, time.Since(t))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		p50, p95 := ds[len(ds)/2], ds[min(len(ds)-1, len(ds)*95/100)]
		target, met := "-", ""
		if r.target > 0 {
			target = r.target.String()
			met = "yes"
			if p50 > r.target {
				met = "NO"
			}
		}
		fmt.Printf("%-68s %10s %10s %10s %10s %s\n", r.name, first.Round(100*time.Microsecond), p50.Round(100*time.Microsecond), p95.Round(100*time.Microsecond), target, met)
	}

	return liveCPU(db, liveN, liveFor, start)
}

// liveCPU runs liveN `analyze live` processes at a 5 s interval and
// reports their CPU and the ClickHouse server's.
func liveCPU(db string, liveN int, liveFor time.Duration, start time.Time) error {
	dir, err := os.MkdirTemp("", "comparebench")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "analyze")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/analyze").CombinedOutput(); err != nil {
		return fmt.Errorf("build analyze: %w\n%s", err, out)
	}
	// Each process is measured from after its first look (which reads the
	// whole hour once) for liveFor: the steady-state cost of watching.
	const warmup = 15 * time.Second
	var cmds []*exec.Cmd
	for i := 1; i <= liveN; i++ {
		cmd := exec.Command(bin, "--experiments", dir, "live", fmt.Sprintf("bench-live-%02d", i),
			"--since", start.Format(time.RFC3339), "--interval", "5s", "--duration", (warmup + liveFor + 5*time.Second).String())
		cmd.Env = append(os.Environ(), store.EnvDatabase+"="+db)
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		errf, err := os.Create(filepath.Join(dir, fmt.Sprintf("live-%02d.log", i)))
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		cmd.Stdout, cmd.Stderr = devnull, errf
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start live %d: %w", i, err)
		}
		cmds = append(cmds, cmd)
	}
	procCPU := func() (s float64) {
		for _, c := range cmds {
			s += cpuSeconds(c.Process.Pid)
		}
		return s
	}
	time.Sleep(warmup)
	chPid := clickhousePid()
	chBefore, before := cpuSeconds(chPid), procCPU()
	t0 := time.Now()
	time.Sleep(liveFor)
	cpu, wall := procCPU()-before, time.Since(t0)
	chCPU := cpuSeconds(chPid) - chBefore
	var total time.Duration
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("live-%02d.log", i+1)))
			return fmt.Errorf("live %d: %w: %s", i+1, err, log)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	fmt.Printf("\nlive: %d `analyze live` processes at a 5 s interval, each on its own experiment (1 h of data, 250k events);\n", liveN)
	fmt.Printf("measured for %s after a %s warm-up (the first look reads the whole hour once)\n", wall.Round(time.Second), warmup)
	fmt.Printf("  analyze processes CPU  %8.2f s = %5.2f%% of one core (target <= 5%%: %s)\n", cpu, 100*cpu/wall.Seconds(), yesNo(cpu/wall.Seconds() <= 0.05))
	fmt.Printf("  incl. start-up and first looks: %.2f s over the processes' lives\n", total.Seconds())
	if chPid > 0 {
		fmt.Printf("  ClickHouse server CPU  %8.2f s = %5.2f%% of one core (upper bound: the machine is shared)\n", chCPU, 100*chCPU/wall.Seconds())
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func clickhousePid() int {
	dir := os.Getenv("STEADYSTATE_STATE_DIR")
	if dir == "" {
		dir = ".state"
	}
	b, err := os.ReadFile(filepath.Join(dir, "clickhouse", "clickhouse.pid")) //nolint:gosec // G703: the operator's own state directory
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}
