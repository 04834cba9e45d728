package main

// -ch-cost: what ClickHouse spends on the sink's inserts, by block size and
// by materialized view. The same records (the pre-filled topic's, decoded
// as the sink decodes them) are inserted over the native protocol, in
// blocks of a given number of rows, into a fresh database holding the
// events table and all, none or one of its materialized views; then the
// bench waits until no merge has run in that database for a while.
//
// It reports, per million events:
//   - insert CPU: user + system CPU of the insert queries themselves, from
//     system.query_log (the inserts run with log_queries = 1): the events
//     table's part and every view's SELECT, GROUP BY and part, all on the
//     insert's thread. Exact, whatever else the server is doing.
//   - ClickHouse's process CPU from the first insert until the database's
//     merges are idle, and that minus the insert CPU: the background work
//     the inserts caused (merges of the new parts), plus whatever else the
//     server did meanwhile (other clients' queries: the machine-load
//     caveat applies to this column only).
//   - the parts written (level 0) and the parts merges produced (level > 0)
//     and the rows those hold.

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// chCostOptions are the -ch-cost flags.
type chCostOptions struct {
	on         bool
	blocks     []int // block sizes with every view
	viewBlocks []int // block sizes of the per-view runs
	views      string
	reps       int
	settle     time.Duration
	shape      string // bench or real
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// replacedViews are views a later migration replaced, by the migration
// that created them: -ch-cost-views may name them to measure them beside
// their replacements (e.g. trace_cohorts,trace_cohorts_v2_mv).
var replacedViews = map[string]string{
	"trace_cohorts": "schema/0010_trace_cohorts.up.sql",
}

// costConfig is one -ch-cost run: the views kept ("*" all, "" none, else
// one view's name) and the rows per insert.
type costConfig struct {
	views string
	block int
}

func (c costConfig) label() string {
	switch c.views {
	case "*":
		return "all views"
	case "":
		return "events only"
	}
	return "events + " + c.views
}

type costSample struct {
	cfg                     costConfig
	inserts                 int
	insertCPU               float64 // CPU-s of the insert queries, query_log
	procInsert, procSettled float64 // ClickHouse process CPU-s: during the inserts, until merges idle
	settle                  time.Duration
	idleRate                float64 // ClickHouse's CPU-s per second in the 3 s before the run
	idleCPU                 float64 // idleRate times the run's time
	queryCPU                float64 // CPU-s of every query thread of the server (all clients, these inserts included) during the run
	partsL0, partsMerged    uint64
	rowsMerged              uint64
	load                    string
}

// chCost runs the -ch-cost measurement.
func (b *bench) chCost(co chCostOptions, records [][]byte) error {
	var events []telemetry.Event
	switch co.shape {
	case "bench":
		events = make([]telemetry.Event, 0, len(records))
		for _, v := range records {
			var e telemetry.Event
			if err := telemetry.DecodeJSON(v, &e); err != nil {
				return fmt.Errorf("decode a prefilled record: %w", err)
			}
			events = append(events, e)
		}
	case "real":
		events = realShape(b.o.n, time.Now())
	default:
		return fmt.Errorf("-ch-cost-shape %q: want bench or real", co.shape)
	}
	// The views of the schema, from a migrated database.
	probe := fmt.Sprintf("bench_%s_cost_probe", b.stamp)
	if err := b.freshDB(probe); err != nil {
		return err
	}
	all, err := b.viewNames(probe)
	if err != nil {
		return err
	}
	_ = b.exec("bench/bench_drop_database.sql", probe, nil)
	perView := all
	if co.views != "all" {
		perView = nil
		for _, v := range strings.Split(co.views, ",") {
			if v = strings.TrimSpace(v); v != "" {
				if _, ok := replacedViews[v]; !ok && !slices.Contains(all, v) {
					return fmt.Errorf("-ch-cost-views: no view %q (have %s)", v, strings.Join(all, ", "))
				}
				perView = append(perView, v)
			}
		}
	}
	var cfgs []costConfig
	for _, n := range co.blocks {
		cfgs = append(cfgs, costConfig{"*", n})
	}
	for _, n := range co.viewBlocks {
		if len(perView) == 0 {
			break
		}
		cfgs = append(cfgs, costConfig{"", n})
		for _, v := range perView {
			cfgs = append(cfgs, costConfig{v, n})
		}
	}
	var samples []costSample
	for rep := 0; rep < co.reps; rep++ {
		for k, i := range costOrder(len(cfgs), rep) {
			c := cfgs[i]
			fmt.Fprintf(os.Stderr, "ch-cost %d/%d rep %d: %s, %d rows per insert: load %s ... ", k+1, len(cfgs), rep+1, c.label(), c.block, loadAvg())
			s, err := b.costRun(c, all, events, co.settle, fmt.Sprintf("%d_%d", rep, i))
			if err != nil {
				report := samples
				printCost(os.Stdout, b, co, len(events), report)
				return fmt.Errorf("%s, %d rows per insert: %w", c.label(), c.block, err)
			}
			fmt.Fprintf(os.Stderr, "insert %.2f CPU-s, process %.2f + %.2f after (%s to idle merges), idle %.2f cores\n", s.insertCPU, s.procInsert, s.procSettled-s.procInsert, s.settle.Round(100*time.Millisecond), s.idleRate)
			samples = append(samples, s)
		}
	}
	printCost(os.Stdout, b, co, len(events), samples)
	return nil
}

// costOrder is the order of the n configurations in repetition rep: the
// list rotated by rep, so that over n repetitions every configuration runs
// once in every position. In a fixed order the first configuration always
// ran right after the prefill (the server still busy with its merges) and
// every other after the same neighbour, and one repetition's per-view
// figures (session 11: unit_groups_minute +1.16 CPU-s per 1M) did not
// hold in a rotated, repeated measurement (+0.13, 3 repetitions; see the
// commit that added this). The report groups the samples by
// configuration, in the order of repetition 0, whatever the order.
func costOrder(n, rep int) []int {
	out := make([]int, n)
	for k := range out {
		out[k] = (k + rep) % n
	}
	return out
}

// queryCPU is the CPU seconds every query thread of the server used
// since it started (system.events; background merges are not in it).
func (b *bench) queryCPU() (float64, error) {
	q, err := sql("bench/bench_server_query_cpu.sql", b.cfg.Database, nil)
	if err != nil {
		return 0, err
	}
	var us uint64
	if err := b.c.Conn.QueryRow(b.ctx, q).Scan(&us); err != nil {
		return 0, fmt.Errorf("server query cpu: %w", err)
	}
	return float64(us) / 1e6, nil
}

// viewNames are db's materialized views.
func (b *bench) viewNames(db string) ([]string, error) {
	q, err := sql("bench/views.sql", db, queries.Params{"database": db})
	if err != nil {
		return nil, err
	}
	rows, err := b.c.Conn.Query(b.ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, create string
		if err := rows.Scan(&name, &create); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// costRun inserts events into a fresh database with c's views in blocks
// of c.block rows and waits for its merges to end.
func (b *bench) costRun(c costConfig, all []string, events []telemetry.Event, settle time.Duration, tag string) (costSample, error) {
	s := costSample{cfg: c, load: loadAvg()}
	db := fmt.Sprintf("bench_%s_cost_%s", b.stamp, tag)
	if err := b.freshDB(db); err != nil {
		return s, err
	}
	defer b.quiesce(db)
	for _, v := range all {
		if c.views == "*" || c.views == v {
			continue
		}
		if _, ok := replacedViews[v]; ok {
			continue
		}
		q, err := queries.Render("bench/view_drop.sql", queries.Data{DB: db, Table: v})
		if err != nil {
			return s, err
		}
		if err := b.c.Conn.Exec(b.ctx, q); err != nil {
			return s, fmt.Errorf("drop view %s: %w", v, err)
		}
	}
	if file, ok := replacedViews[c.views]; ok {
		// A view a later migration replaced, as its own migration made it.
		q, err := queries.Render(file, queries.Data{DB: db})
		if err != nil {
			return s, err
		}
		if err := b.c.Conn.Exec(b.ctx, q); err != nil {
			return s, fmt.Errorf("create view %s: %w", c.views, err)
		}
	}
	b.quiesce("")
	mc := *b.c
	mc.DB = db
	insertSQL, err := mc.InsertSQL("write/events_insert.sql")
	if err != nil {
		return s, err
	}
	prefix := "ingestbench-cost-" + db + "-"
	// ClickHouse's CPU while this bench does nothing: other clients and
	// the server's own housekeeping, subtracted from the process CPU below.
	idle0, idleT := stagecpu.PIDCPU(b.chPid).Seconds(), time.Now()
	time.Sleep(3 * time.Second)
	q0, err := b.queryCPU()
	if err != nil {
		return s, err
	}
	cpu0 := stagecpu.PIDCPU(b.chPid).Seconds()
	t0 := time.Now()
	s.idleRate = (cpu0 - idle0) / t0.Sub(idleT).Seconds()
	var row []any
	for lo := 0; lo < len(events); lo += c.block {
		hi := min(lo+c.block, len(events))
		ctx := clickhouse.Context(b.ctx, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}),
			clickhouse.WithQueryID(prefix+strconv.Itoa(s.inserts)))
		ib, err := b.c.Conn.PrepareBatch(ctx, insertSQL)
		if err != nil {
			return s, fmt.Errorf("prepare insert: %w", err)
		}
		for i := lo; i < hi; i++ {
			row = events[i].Values(row, 0, int64(i))
			if err := ib.Append(row...); err != nil {
				_ = ib.Abort()
				return s, fmt.Errorf("append: %w", err)
			}
		}
		if err := ib.Send(); err != nil {
			return s, fmt.Errorf("insert: %w", err)
		}
		s.inserts++
	}
	t1 := time.Now()
	s.procInsert = stagecpu.PIDCPU(b.chPid).Seconds() - cpu0
	// Merges start some seconds after the inserts (the background pool
	// looks for work now and then): idle means none ran for settle.
	idleSince := time.Now()
	for time.Since(t1) < 5*time.Minute {
		if b.count("bench/merges.sql", b.cfg.Database, queries.Params{"database": db}) > 0 {
			idleSince = time.Now()
		} else if time.Since(idleSince) >= settle {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.settle = idleSince.Sub(t1)
	s.procSettled = stagecpu.PIDCPU(b.chPid).Seconds() - cpu0
	s.idleCPU = s.idleRate * time.Since(t0).Seconds()
	q1, err := b.queryCPU()
	if err != nil {
		return s, err
	}
	s.queryCPU = q1 - q0
	if err := b.exec("bench/bench_flush_logs.sql", db, nil); err != nil {
		return s, err
	}
	q, err := sql("bench/insert_cpu.sql", db, queries.Params{"prefix": prefix})
	if err != nil {
		return s, err
	}
	var n, us uint64
	if err := b.c.Conn.QueryRow(b.ctx, q).Scan(&n, &us); err != nil {
		return s, fmt.Errorf("insert cpu: %w", err)
	}
	if int(n) != s.inserts {
		return s, fmt.Errorf("query_log has %d of the %d inserts", n, s.inserts)
	}
	s.insertCPU = float64(us) / 1e6
	q, err = sql("bench/parts_levels.sql", db, queries.Params{"database": db})
	if err != nil {
		return s, err
	}
	if err := b.c.Conn.QueryRow(b.ctx, q).Scan(&s.partsL0, &s.partsMerged, &s.rowsMerged); err != nil {
		return s, fmt.Errorf("parts: %w", err)
	}
	return s, nil
}

func printCost(w io.Writer, b *bench, co chCostOptions, n int, samples []costSample) {
	what := "the pre-filled topic's records, decoded as the sink does"
	if co.shape == "real" {
		what = "-ch-cost-shape real: traces of 5-20 spans, 2,000 users, 10-s buckets holding several events of a user"
	}
	fmt.Fprintf(w, "ingestbench -ch-cost: %s, %d cores; ClickHouse %s; %d events (%s) per run,\n", cpuModel(), runtime.NumCPU(), b.cfg.Addr, n, what)
	fmt.Fprintf(w, "inserted over the native protocol into a fresh database in blocks of the given rows; then waited until no merge ran in it for %s.\n", co.settle)
	fmt.Fprintf(w, "CPU-s per 1M events. insert: the insert queries' user+system CPU (system.query_log; events part + every view on the insert's thread), exact;\n")
	fmt.Fprintf(w, "process: ClickHouse's /proc CPU from the first insert to merges idle; after - idle = process - insert - (CH's CPU rate in the 3 s before the run x the run's time):\n")
	fmt.Fprintf(w, "the merges the inserts caused; other clients' load on the shared server varies, so this column is noisy (the CH idle column is that rate, in cores).\n")
	fmt.Fprintf(w, "background = process - every query thread's CPU in the same time (system.events User+SystemTimeMicroseconds, all clients): the merges, without other clients' queries.\n")
	fmt.Fprintf(w, "median [min..max] over %d rep(s)\n\n", co.reps)
	type key = costConfig
	var order []key
	by := map[key][]costSample{}
	for _, s := range samples {
		if _, ok := by[s.cfg]; !ok {
			order = append(order, s.cfg)
		}
		by[s.cfg] = append(by[s.cfg], s)
	}
	per := func(x float64) float64 { return x / float64(n) * 1e6 }
	fmt.Fprintf(w, "%-28s %8s %7s %-22s %-22s %-22s %-22s %7s %7s %9s %s\n", "views", "rows/ins", "inserts", "insert CPU", "process CPU", "background (merges)", "after - idle", "partsL0", "merged", "rows mrgd", "CH idle")
	base := map[int]float64{} // events only, insert CPU per block size
	for _, k := range order {
		ss := by[k]
		var ins, proc, after, bg []float64
		for _, s := range ss {
			ins = append(ins, per(s.insertCPU))
			proc = append(proc, per(s.procSettled))
			after = append(after, per(s.procSettled-s.insertCPU-s.idleCPU))
			bg = append(bg, per(s.procSettled-s.queryCPU))
		}
		if k.views == "" {
			base[k.block] = stagecpu.Median(ins)
		}
		fmt.Fprintf(w, "%-28s %8d %7d %-22s %-22s %-22s %-22s %7d %7d %9d %s\n", k.label(), k.block, ss[0].inserts, med3(ins, "%.2f"), med3(proc, "%.2f"), med3(bg, "%.2f"), med3(after, "%.2f"),
			ss[0].partsL0, ss[0].partsMerged, ss[0].rowsMerged, fmt.Sprintf("%.2f cores, load %s", ss[0].idleRate, ss[0].load))
	}
	if len(base) > 0 {
		fmt.Fprintf(w, "\nper view, insert CPU-s per 1M above events only (same block size), median over reps:\n")
		for _, k := range order {
			if k.views == "" || k.views == "*" {
				continue
			}
			var ins []float64
			for _, s := range by[k] {
				ins = append(ins, per(s.insertCPU))
			}
			if b0, ok := base[k.block]; ok {
				fmt.Fprintf(w, "  %-22s %8d rows/insert  %+.2f\n", k.views, k.block, stagecpu.Median(ins)-b0)
			}
		}
	}
}

// realShape is n events shaped like a service's traffic rather than the
// throughput paths' (where every event is a trace, a unit and a group of
// its own, so no view's GROUP BY reduces anything): traces of 5 to 20
// spans (12.5 on average), consecutive as a serve request delivers them, a
// trace every 2.5 ms (about 200 s and 20 ten-second buckets per 1M
// events); every span tagged directly with the experiment and its user's
// cohort (as with baggage: the most rows trace_cohorts can get per trace);
// 2,000 users, so a user has about 25 events per bucket; a root span on
// frontend and children on cart, checkout and db (the same operation
// repeated within a trace, as an N+1 query pattern does); 1 % errors.
// The same shape as the SQL the view candidates were first measured on.
func realShape(n int, now time.Time) []telemetry.Event {
	out := make([]telemetry.Event, 0, n)
	services := [...]string{"cart", "checkout", "db"}
	names := [...]string{"GET /cart", "GET /checkout", "SELECT"}
	base := now.UnixNano()
	for t := 0; len(out) < n; t++ {
		spans := 5 + t*7%16
		h := fnv64(uint64(t))
		user := h % 2000
		cohort := telemetry.CohortControl
		if user%2 == 1 {
			cohort = telemetry.CohortExperiment
		}
		subject := "user-" + strconv.FormatUint(user, 10)
		trace := fmt.Sprintf("%032x", t)
		for s := 0; s < spans && len(out) < n; s++ {
			ns := base + int64(t)*2_500_000 + int64(s)*1_000_000
			service, name := "frontend", "GET /frontend"
			if s > 0 {
				service, name = services[s%3], names[s%3]
			}
			hs := fnv64(h ^ uint64(s+1))
			out = append(out, telemetry.Event{
				ID: fmt.Sprintf("real-%d-%d", t, s), TimeNs: ns, IngestNs: ns, Kind: telemetry.KindSpan,
				Service: service, Name: name, TraceID: trace, SpanID: strconv.Itoa(s),
				ExperimentID: "real", Cohort: cohort, Status: telemetry.StatusOK, IsError: hs%100 == 0,
				HTTPStatus: 200, DurationNs: hs % 700 * 1_000_000, SubjectID: subject,
				AttrKeys: []string{"region", "enduser.id"}, AttrValues: []string{"eu", subject},
			})
		}
	}
	return out
}

// fnv64 mixes x (FNV-1a over its 8 bytes): a fixed pseudo-random user and
// error per trace and span.
func fnv64(x uint64) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < 8; i++ {
		h ^= x & 0xff
		h *= 1099511628211
		x >>= 8
	}
	return h
}
