// Command ingestbench measures the ingest path on this machine
// (`make bench-ingest`) and compares it, in one invocation, with
// ClickHouse's own Kafka table engine and with clickhouse-client inserting
// the same records. Each path runs -rounds times, interleaved
// (A B C D E A B C D E ...), so a slow minute of the machine hits every path
// alike; the summary gives the median and the spread (min..max) of events/s
// and of the CPU seconds per million events of every process, and the
// ratios are taken from the medians.
//
//	A end to end: generator -> ingest serve -> Kafka -> ingest sink -> ClickHouse
//	B sink only: ingest sink on a pre-filled topic (fresh consumer group)
//	C Kafka engine: a Kafka table + materialized view on the same topic,
//	  and a copy of every view of the events table on the Kafka table (on
//	  18.16 a view writing TO events does not feed the views on events)
//	C0 (only with -paths C0) the Kafka engine into the events table alone,
//	  the baseline as measured before that was found
//	D clickhouse-client: INSERT ... FORMAT JSONEachRow of the same records
//	E latency: ingest-to-queryable at -rate events/s with -background events/s besides
//	E3 (only with -paths E3) E with the probe reading the names at every poll
//
// Every run writes into a fresh database with the migrated schema (events
// table and its materialized views); after each run the database is dropped
// and the next run starts only once ClickHouse has no merge running.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steadystate/steadystate/internal/testkit/freeport"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/steadystate/steadystate/internal/bench/stagecpu"
	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

type options struct {
	n, rounds, workers, batch, rate, background int
	latFor                                      time.Duration
	stages                                      bool
	stageTime                                   string
	pprofDir                                    string
	paths                                       map[string]bool
	perTrace                                    int
	altServe                                    string
	cost                                        chCostOptions
	altSink                                     string
	sinkArgs                                    []string
	latTrace                                    string
}

func main() {
	var o options
	flag.IntVar(&o.n, "events", 1_000_000, "events per throughput run")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds of every path")
	flag.IntVar(&o.rate, "rate", 10_000, "events per second whose latency is measured")
	flag.IntVar(&o.background, "background", 20_000, "events per second of background load during the latency run")
	flag.DurationVar(&o.latFor, "latency-for", 15*time.Second, "length of each latency run")
	flag.StringVar(&o.latTrace, "latency-trace", "", "write every latency run's probes (seq, sent, answered and visible in ms from the run's start) as CSV files into this directory: where in the run the tail is")
	flag.IntVar(&o.workers, "workers", 8, "concurrent HTTP senders")
	flag.IntVar(&o.batch, "batch", 1000, "events per request")
	flag.BoolVar(&o.stages, "stages", true, "also run the per-stage Go benchmarks and print the cost split")
	flag.StringVar(&o.stageTime, "stage-benchtime", "fixed", "go test -benchtime of every stage benchmark; fixed: each stage's own count of a few hundred thousand events")
	flag.StringVar(&o.pprofDir, "pprof-dir", "", "write CPU profiles of serve and sink (first end-to-end run), of the first sink-only run, and of serve, sink and this generator in the first latency run (E) here")
	paths := flag.String("paths", "A,B,C,D,E", "the paths to run, comma-separated; A0 is A with ingest serve's trace cache off (--trace-cache 0): -paths A,A0 measures what trace-level tagging costs; B0 is B without the unit_seen view (migration 0017): -paths B,B0 measures what it costs ClickHouse; C0 is C filling the events table only, not the views; E3 is E with the latency probe reading the names at every poll instead of only after the server's inserted rows moved: -paths E,E3 measures what the probe costs")
	sinkArgs := flag.String("alt-sink-args", "", "extra ingest sink flags (space-separated, e.g. \"--max-age 1s --inserts 1\") of paths B2 and E2: B and E with those; -paths B,B2,E,E2 compares two flush policies round by round")
	flag.StringVar(&o.altServe, "alt-serve", "", "an ingest binary (e.g. built from an earlier commit) whose serve runs paths A1 and E1: A and E with that serve, the sink of this build; -paths A,A1 (E,E1) compares the two serves' CPU round by round")
	flag.StringVar(&o.altSink, "alt-sink", "", "an ingest binary (e.g. built from an earlier commit) whose sink runs path B1: B with that sink; -paths B,B1 compares the two sinks' CPU round by round")
	flag.IntVar(&o.perTrace, "trace-spans", 1, "throughput events per trace; only the first of each trace carries the experiment and cohort (with -paths A,A0 and e.g. 8: what tagging by trace costs)")
	flag.BoolVar(&o.cost.on, "ch-cost", false, "instead of the paths: ClickHouse's CPU per 1M events inserted (the pre-filled topic's records) by block size and by materialized view, insert and the merges it causes (see chcost.go)")
	costBlocks := flag.String("ch-cost-blocks", "10000,30000,100000,300000,1000000", "-ch-cost: rows per insert, with every view")
	costViewBlocks := flag.String("ch-cost-view-blocks", "30000,300000", "-ch-cost: rows per insert of the per-view runs (events only, then events and each view alone); empty: none")
	flag.StringVar(&o.cost.views, "ch-cost-views", "all", "-ch-cost: the views measured alone, comma-separated, or all")
	flag.IntVar(&o.cost.reps, "ch-cost-reps", 1, "-ch-cost: repetitions of every configuration (interleaved)")
	flag.DurationVar(&o.cost.settle, "ch-cost-settle", 5*time.Second, "-ch-cost: merges are idle once none ran in the run's database for this long")
	flag.StringVar(&o.cost.shape, "ch-cost-shape", "bench", "-ch-cost: the events inserted: bench (the pre-filled topic's records: a trace, a unit and a group of every view per event) or real (generated: traces of 5-20 spans in one block, 2,000 users with several events per 10-s bucket; see realShape)")
	flag.Parse()
	var err error
	if o.cost.blocks, err = parseInts(*costBlocks); err == nil {
		o.cost.viewBlocks, err = parseInts(*costViewBlocks)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench: -ch-cost-blocks:", err)
		os.Exit(2)
	}
	o.sinkArgs = strings.Fields(*sinkArgs)
	o.paths = map[string]bool{}
	for _, p := range strings.Split(*paths, ",") {
		switch p = strings.TrimSpace(p); p {
		case "A", "A0", "A1", "B", "B0", "B1", "B2", "C", "C0", "D", "E", "E1", "E2", "E3":
			o.paths[p] = true
		default:
			fmt.Fprintf(os.Stderr, "ingestbench: -paths: unknown path %q (want A, A0, A1, B, B0, B1, B2, C, C0, D, E, E1, E2, E3)\n", p)
			os.Exit(2)
		}
	}
	if (o.paths["B2"] || o.paths["E2"]) && len(o.sinkArgs) == 0 {
		fmt.Fprintln(os.Stderr, "ingestbench: paths B2 and E2 need -alt-sink-args")
		os.Exit(2)
	}
	if o.paths["B1"] && o.altSink == "" {
		fmt.Fprintln(os.Stderr, "ingestbench: path B1 needs -alt-sink")
		os.Exit(2)
	}
	if (o.paths["A1"] || o.paths["E1"]) && o.altServe == "" {
		fmt.Fprintln(os.Stderr, "ingestbench: paths A1 and E1 need -alt-serve")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

// ---- processes and CPU ----

// cpuSeconds is a process's user+system CPU time from /proc/<pid>/stat.
func cpuSeconds(pid int) float64 { return stagecpu.PIDCPU(pid).Seconds() }

// cpuMeter reads the CPU seconds of a set of processes.
type cpuMeter map[string]int

func (m cpuMeter) read() map[string]float64 {
	out := map[string]float64{}
	for name, pid := range m {
		out[name] = cpuSeconds(pid)
	}
	return out
}

// perMillion returns the CPU seconds per million events of each process
// since before (a missing entry in before counts from zero: the whole life).
func (m cpuMeter) perMillion(before map[string]float64, events uint64) map[string]float64 {
	now := m.read()
	out := map[string]float64{}
	for name := range m {
		out[name] = (now[name] - before[name]) / float64(events) * 1e6
	}
	return out
}

func merge(ms ...map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func freeAddr() string {
	addr, err := freeport.PickAddr()
	if err != nil {
		panic(err)
	}
	return addr
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

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// memTotal is the machine's memory from /proc/meminfo.
func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	return "?"
}

// ---- the bench ----

type bench struct {
	o       options
	ctx     context.Context
	bin     string
	stamp   string
	c       *store.Client
	cfg     store.Config
	brokers []string
	chPid   int
	kPid    int
	bodies  [][]byte
	client  *http.Client
	dbs     []string
	// logQueries starts the ingest processes with log_queries = 1 (path E)
	logQueries bool
	topics     []string
	// records is the pre-filled topic's record count (0: none)
	records uint64
}

// sample is one run of one path.
type sample struct {
	events uint64
	wall   time.Duration
	cpu    map[string]float64 // CPU seconds per million events, per process
	load   string             // load average before the run
	parts  partStats
	lat    []time.Duration // path E: sorted latencies
	// path E: requests answered with an error, batches never visible
	failed  int64
	missing int
	// path E, what the latency is made of: per batch, request start to
	// serve's 200 (decode, tag, produce linger, Kafka acks=all) and 200 to
	// visible (sink fetch, batch age, insert, the 50 ms poll); the sink's
	// own batch age and insert time over the run (its histograms); the
	// machine's busy share of its cores during the run.
	answered, afterAnswer []time.Duration
	sinkAge, sinkInsert   histStats
	busy                  float64
	// path E: the latency probe's queries and their ClickHouse CPU-s per
	// 1M events (part of clickhouse's figure: the measurement's own cost)
	probes   uint64
	probeCPU float64
	// path E: the sink's inserts (system.query_log), their CPU-s per 1M
	// events (part of clickhouse's figure) and, per insert, the mean time
	// on the server and the mean its threads waited for a core
	inserts                  uint64
	insertCPU                float64
	insertServer, insertWait time.Duration
	// paths B and C: from the start to the first row visible (consumer
	// group join, first fetch, first insert), and when 10 % and 90 % of
	// the rows were visible
	first time.Duration
	prog  progress
	// invalid says why the run does not count (see overRead); "" when it
	// does. Medians, ratios and round pairs leave invalid runs out.
	invalid string
}

// histStats summarises a Prometheus histogram's change over a run.
type histStats struct {
	count      float64
	mean, p99  float64 // seconds; p99 is the upper bound of its bucket
	overflowed bool    // p99 above the largest finite bucket
}

type partStats struct {
	insertParts uint64 // level-0 parts of every table in the database: one per insert and table
	eventParts  uint64 // of which in events
	mergedParts uint64 // parts produced by merges (level > 0)
}

func (b *bench) proc(name, database string, args ...string) *exec.Cmd {
	return b.procOf(filepath.Join(b.bin, "ingest"), name, database, args...)
}

// procOf starts the ingest binary bin.
func (b *bench) procOf(bin, name, database string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), store.EnvDatabase+"="+database)
	if b.logQueries {
		cmd.Env = append(cmd.Env, store.EnvLogQueries+"=1")
	}
	logf, err := os.Create(filepath.Join(b.bin, strings.ReplaceAll(name, " ", "-")+".log"))
	if err != nil {
		panic(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	return cmd
}

func stop(cmd *exec.Cmd) {
	if cmd != nil && cmd.ProcessState == nil {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
}

func waitListen(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			_ = conn.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %s", addr, limit)
}

func (b *bench) profile(name, admin string, d time.Duration) {
	if b.o.pprofDir == "" {
		return
	}
	go func() {
		if err := waitListen(admin, 10*time.Second); err != nil {
			return
		}
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", admin, int(d.Seconds())))
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(b.o.pprofDir, name+".pprof"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		_, _ = io.Copy(f, resp.Body)
		_ = f.Close()
	}()
}

// profileSelf writes this process's CPU profile (the generator's) to
// name.pprof under -pprof-dir until the returned function is called.
func (b *bench) profileSelf(name string) func() {
	if b.o.pprofDir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(b.o.pprofDir, name+".pprof"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// freshDB creates and migrates a database for one run.
func (b *bench) freshDB(name string) error {
	mc := *b.c
	mc.DB = name
	b.dbs = append(b.dbs, name)
	if _, err := mc.Migrate(b.ctx, store.MigrateOptions{}); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	return nil
}

func (b *bench) freshTopic(name string) (string, error) {
	b.topics = append(b.topics, name)
	return name, bus.EnsureTopic(b.ctx, b.brokers, bus.TopicSpec{Name: name, Partitions: 6, Replication: 1})
}

// sql renders a statement of queries/bench for database db.
func sql(name, db string, params queries.Params) (string, error) {
	text, err := queries.Render(name, queries.Data{DB: db})
	if err != nil {
		return "", err
	}
	return queries.Bind(text, params)
}

// count runs a one-number query of queries/bench on database db (0 when
// it fails: the callers poll).
func (b *bench) count(name, db string, params queries.Params) uint64 {
	var n uint64
	if q, err := sql(name, db, params); err == nil {
		_ = b.c.Conn.QueryRow(b.ctx, q).Scan(&n)
	}
	return n
}

// exec runs a statement of queries/bench on database db.
func (b *bench) exec(name, db string, params queries.Params) error {
	q, err := sql(name, db, params)
	if err != nil {
		return err
	}
	if err := b.c.Conn.Exec(b.ctx, q); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// waitDistinct polls until db.events holds want distinct event ids and the
// views hold every row of events (bench/views_done.sql: ClickHouse writes
// the views after the events table's part, so events are visible first) and
// returns the time from t0 to the poll that first saw them. It polls the
// cheap count() every 50 ms and confirms with uniqExact, so a duplicate row
// never counts as an event.
func (b *bench) waitDistinct(db string, want uint64, t0 time.Time, limit time.Duration) (time.Duration, error) {
	_, at, err := b.waitDistinctFirst(db, want, t0, limit)
	return at, err
}

// waitDistinctFirst is waitDistinct that also returns the time from t0 to
// the first poll that saw any row.
func (b *bench) waitDistinctFirst(db string, want uint64, t0 time.Time, limit time.Duration) (first, all time.Duration, err error) {
	var p progress
	first, all, err = b.waitProgress(db, want, t0, limit, &p)
	return first, all, err
}

// progress is when a run's rows crossed 10 % and 90 % of the events
// (-1: not seen), and the rows seen then.
type progress struct {
	at10, at90     time.Duration
	rows10, rows90 uint64
	// steps are the polls at which the row count changed (the first
	// maxSteps): when the inserts became visible.
	steps []step
}

type step struct {
	at   time.Duration
	rows uint64
}

const maxSteps = 12

// waitProgress is waitDistinctFirst that also records p.
func (b *bench) waitProgress(db string, want uint64, t0 time.Time, limit time.Duration, p *progress) (first, all time.Duration, err error) {
	first, p.at10, p.at90 = -1, -1, -1
	for {
		at := time.Since(t0)
		params := queries.Params{"experiment_id": ""}
		n := b.count("bench/events_count.sql", db, params)
		if n > 0 && first < 0 {
			first = at
		}
		if n >= want/10 && p.at10 < 0 {
			p.at10, p.rows10 = at, n
		}
		if n >= want*9/10 && p.at90 < 0 {
			p.at90, p.rows90 = at, n
		}
		if len(p.steps) < maxSteps && n > 0 && (len(p.steps) == 0 || p.steps[len(p.steps)-1].rows != n) {
			p.steps = append(p.steps, step{at, n})
		}
		if n >= want && b.count("bench/events_distinct.sql", db, params) >= want && b.count("bench/views_done.sql", db, nil) == 1 {
			return first, at, nil
		}
		if at > limit {
			return first, 0, fmt.Errorf("%s: %d distinct of %d events after %s (views complete: %d)", db, b.count("bench/events_distinct.sql", db, params), want, limit, b.count("bench/views_done.sql", db, nil))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parts counts the parts a run wrote into db (active and not yet removed
// inactive ones: ClickHouse keeps replaced parts for minutes).
func (b *bench) parts(db string) partStats {
	var p partStats
	q, err := sql("bench/parts.sql", db, queries.Params{"database": db})
	if err != nil {
		return p
	}
	rows, err := b.c.Conn.Query(b.ctx, q)
	if err != nil {
		return p
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		var level uint32
		if rows.Scan(&table, &level) != nil {
			continue
		}
		switch {
		case level > 0:
			p.mergedParts++
		case table == "events":
			p.eventParts++
			p.insertParts++
		default:
			p.insertParts++
		}
	}
	return p
}

// quiesce detaches a run's database once it is counted and waits until
// ClickHouse has no merge running, so one run's background merges are not
// charged to the next run's time and CPU. The database's files are deleted
// only after the last run (dropAll): deleting them between runs made the
// next runs' inserts slower to create files (bench_detach_database.sql).
func (b *bench) quiesce(db string) {
	if db != "" {
		_ = b.exec("bench/bench_detach_database.sql", db, nil)
	}
	for i := 0; i < 600; i++ {
		if b.count("bench/merges.sql", b.cfg.Database, queries.Params{"database": ""}) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
}

// dropAll drops every run's database (attached again first: quiesce
// detached it) and deletes every run's topic and the dead-letter topic its
// sink created. It runs once; later calls do nothing.
func (b *bench) dropAll() {
	for _, db := range b.dbs {
		for _, name := range []string{"bench/bench_attach_database.sql", "bench/bench_drop_database.sql"} {
			if q, err := sql(name, db, nil); err == nil {
				_ = b.c.Conn.Exec(context.Background(), q)
			}
		}
	}
	for _, t := range b.topics {
		_ = bus.DeleteTopic(context.Background(), b.brokers, t)
		_ = bus.DeleteTopic(context.Background(), b.brokers, bus.Config{Topic: t}.DeadLetter())
	}
	b.dbs, b.topics = nil, nil
}

// ndjson is the generator's request body: events from..to of experiment
// exp, 1 in 20 in the experiment cohort. With perTrace > 1, events come in
// traces of perTrace: the first carries the experiment and cohort, the
// others neither (serve tags them by their trace when its trace cache is
// on: the read side of trace-level tagging).
func ndjson(exp string, from, to int, now time.Time, perTrace int) []byte {
	var buf bytes.Buffer
	perTrace = max(perTrace, 1)
	for i := from; i < to; i++ {
		cohort := "control"
		if i/perTrace%20 == 0 {
			cohort = "experiment"
		}
		tag := fmt.Sprintf(`"experiment_id":"%s","cohort":"%s",`, exp, cohort)
		if i%perTrace != 0 {
			tag = ""
		}
		fmt.Fprintf(&buf, `{"event_id":"%s-%09d","time":%d,"service":"checkout","name":"GET /checkout",%s"http_status":200,"duration_ms":%d.5,"trace_id":"%032x","attributes":{"region":"eu","tenant":"t%d"}}`+"\n",
			exp, i, now.UnixNano()+int64(i), tag, i%700, i/perTrace, i%50)
	}
	return buf.Bytes()
}

func (b *bench) send(url string, body []byte) error {
	resp, err := b.client.Post(url, "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// sendAll posts every body with the configured number of workers,
// retrying a failed request (the event ids make a retry harmless).
func (b *bench) sendAll(url string) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var sendErr atomic.Value
	for w := 0; w < b.o.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(b.bodies) {
					return
				}
				for tries := 0; ; tries++ {
					err := b.send(url, b.bodies[i])
					if err == nil {
						break
					}
					if tries > 20 {
						sendErr.Store(err)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := sendErr.Load().(error); ok {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// serving is a running ingest serve + ingest sink pair.
type serving struct {
	serve, sink           *exec.Cmd
	url                   string
	serveAdmin, sinkAdmin string
}

// startPairWith starts the serve of the ingest binary serveBin and this
// build's sink with sinkArgs added to its flags.
func (b *bench) startPairWith(serveBin, tag, db, topic, group string, sinkArgs []string, serveArgs ...string) (*serving, error) {
	httpAddr := freeAddr()
	p := &serving{url: "http://" + httpAddr + "/v1/events", serveAdmin: freeAddr(), sinkAdmin: freeAddr()}
	p.serve = b.procOf(serveBin, "serve "+tag, db, append([]string{"serve", "--http", httpAddr, "--grpc", freeAddr(), "--admin", p.serveAdmin, "--topic", topic, "--log-level", "warn", "--pprof"}, serveArgs...)...)
	p.sink = b.proc("sink "+tag, db, append([]string{"sink", "--topic", topic, "--group", group, "--admin", p.sinkAdmin, "--log-level", "warn", "--pprof"}, sinkArgs...)...)
	if err := waitListen(httpAddr, 30*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("ingest serve did not start: %w", err)
	}
	if err := waitListen(p.sinkAdmin, 30*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("ingest sink did not start: %w", err)
	}
	return p, nil
}

func (p *serving) stop() {
	stop(p.serve)
	stop(p.sink)
}

// A: generator -> serve -> Kafka -> sink -> ClickHouse.
func (b *bench) endToEnd(r int) (sample, error) { return b.endToEndWith(r, "e2e") }

// A1: A with the serve of the -alt-serve binary.
func (b *bench) endToEndAlt(r int) (sample, error) { return b.endToEndBin(b.o.altServe, r, "e2ealt") }

// A0: A with serve's trace cache off. By default every generated event
// carries an experiment, a cohort and its own trace id, so with the cache
// on serve records each event's trace decision (the write side of
// trace-level tagging); with -trace-spans N > 1 all but the first event of
// each trace are untagged and take their trace's cohort when the cache is
// on (the read side too; pipeline/tag's BenchmarkTraceTaggingInterleaved
// measures that stage alone).
func (b *bench) endToEndNoTraceCache(r int) (sample, error) {
	return b.endToEndWith(r, "e2e0", "--trace-cache", "0")
}

func (b *bench) endToEndWith(r int, name string, serveArgs ...string) (sample, error) {
	return b.endToEndBin(filepath.Join(b.bin, "ingest"), r, name, serveArgs...)
}

func (b *bench) endToEndBin(serveBin string, r int, name string, serveArgs ...string) (sample, error) {
	s := sample{load: loadAvg(), events: uint64(b.o.n)}
	db := fmt.Sprintf("bench_%s_%s_%d", b.stamp, name, r)
	if err := b.freshDB(db); err != nil {
		return s, err
	}
	topic, err := b.freshTopic(fmt.Sprintf("bench.%s.%s.%d", name, b.stamp, r))
	if err != nil {
		return s, err
	}
	p, err := b.startPairWith(serveBin, fmt.Sprintf("%s %d", name, r), db, topic, "bench-"+name, nil, serveArgs...)
	if err != nil {
		return s, err
	}
	defer p.stop()
	m := cpuMeter{"serve": p.serve.Process.Pid, "sink": p.sink.Process.Pid, "clickhouse": b.chPid, "kafka": b.kPid, "generator": os.Getpid()}
	cpu0 := m.read()
	if r == 0 {
		b.profile(name+"-serve", p.serveAdmin, 8*time.Second)
		b.profile(name+"-sink", p.sinkAdmin, 8*time.Second)
	}
	t0 := time.Now()
	if err := b.sendAll(p.url); err != nil {
		return s, err
	}
	if s.wall, err = b.waitDistinct(db, s.events, t0, 10*time.Minute); err != nil {
		return s, err
	}
	s.cpu = m.perMillion(cpu0, s.events)
	s.parts = b.parts(db)
	p.stop()
	b.quiesce(db)
	return s, nil
}

// B: the sink alone on the pre-filled topic, a fresh consumer group from
// the earliest offset, timed from process start to the last distinct event
// visible, exactly like the Kafka engine.
func (b *bench) sinkOnly(r int, topic string, want uint64, withUnitSeen bool) (sample, error) {
	return b.sinkOnlyBin(filepath.Join(b.bin, "ingest"), "", r, topic, want, withUnitSeen, nil)
}

// sinkOnlyBin is B with the sink of the ingest binary bin and extra sink
// flags; tag names its database and log apart.
func (b *bench) sinkOnlyBin(bin, tag string, r int, topic string, want uint64, withUnitSeen bool, sinkArgs []string) (sample, error) {
	s := sample{load: loadAvg(), events: want}
	db := fmt.Sprintf("bench_%s_sink%s_%d", b.stamp, tag, r)
	if !withUnitSeen {
		db = fmt.Sprintf("bench_%s_sink_no_unit_seen_%d", b.stamp, r)
	}
	if err := b.freshDB(db); err != nil {
		return s, err
	}
	if !withUnitSeen {
		if err := b.exec("bench/unit_seen_drop.sql", db, nil); err != nil {
			return s, err
		}
	}
	m := cpuMeter{"clickhouse": b.chPid, "kafka": b.kPid}
	cpu0 := m.read()
	admin := freeAddr()
	t0 := time.Now()
	// The inserts are logged: their own CPU, against ClickHouse's whole,
	// is what the parts they leave to merge cost (see insertCost).
	b.logQueries = true
	cmd := b.procOf(bin, fmt.Sprintf("sink only%s %d", tag, r), db, append([]string{"sink", "--topic", topic, "--group", "bench-" + db, "--admin", admin, "--log-level", "warn", "--pprof"}, sinkArgs...)...)
	b.logQueries = false
	defer stop(cmd)
	if r == 0 && tag == "" {
		b.profile("sink-only", admin, 5*time.Second)
	}
	var err error
	if s.first, s.wall, err = b.waitProgress(db, want, t0, 5*time.Minute, &s.prog); err != nil {
		return s, err
	}
	s.cpu = merge(m.perMillion(cpu0, want), cpuMeter{"sink": cmd.Process.Pid}.perMillion(nil, want))
	b.overRead(db, "the sink", &s)
	s.parts = b.parts(db)
	stop(cmd)
	if err := b.insertCost(db, &s); err != nil {
		return s, err
	}
	b.quiesce(db)
	return s, nil
}

// C: ClickHouse's Kafka engine on the same topic (the wire form is
// JSONEachRow of the events columns) into the same table shape.
//
// On 18.16 the rows kafka_mv writes TO the events table do not reach the
// materialized views reading events (only a direct insert into events
// pushes to them), so with feedViews every view is copied onto the Kafka
// table, writing into the view's own table: the engine then stores the same
// rows in the same tables as the sink and clickhouse-client. Without
// (path C0, the baseline of sessions before this was found) it fills the
// events table only.
func (b *bench) kafkaEngine(r int, topic string, want uint64, feedViews bool) (sample, error) {
	s := sample{load: loadAvg(), events: want}
	name := "engine"
	if !feedViews {
		name = "engine_events_only"
	}
	db := fmt.Sprintf("bench_%s_%s_%d", b.stamp, name, r)
	if err := b.freshDB(db); err != nil {
		return s, err
	}
	var views, copies []string
	if feedViews {
		var err error
		if views, copies, err = b.kafkaViews(db); err != nil {
			return s, err
		}
	}
	engine := queries.Params{"brokers": strings.Join(b.brokers, ","), "topic": topic, "group": fmt.Sprintf("bench-ch-%s-%s-%d", name, b.stamp, r)}
	// The views first, on a stand-in with the Kafka table's columns, then
	// the Kafka table in its place: its stream thread fixes the views it
	// pushes to for a whole block, and created one after the other on the
	// Kafka table itself, the first views got rows the later ones never saw.
	if err := b.exec("bench/kafka_events_standin.sql", db, nil); err != nil {
		return s, fmt.Errorf("kafka engine ddl: %w", err)
	}
	// Whatever happens, every view on the Kafka table goes before the
	// table: 18.16 aborts (the whole server) when a Kafka table is dropped
	// while views still read it.
	defer func() {
		for _, c := range copies {
			if q, err := queries.Render("bench/view_drop.sql", queries.Data{DB: db, Table: c}); err == nil {
				_ = b.c.Conn.Exec(b.ctx, q)
			}
		}
		_ = b.exec("bench/kafka_mv_drop.sql", db, nil)
		_ = b.exec("bench/kafka_events_drop.sql", db, nil)
		b.quiesce(db)
	}()
	if feedViews {
		for _, ddl := range views {
			if err := b.c.Conn.Exec(b.ctx, ddl); err != nil {
				return s, fmt.Errorf("kafka engine view ddl: %w\n%s", err, ddl)
			}
		}
	}
	if err := b.exec("bench/kafka_mv_create.sql", db, nil); err != nil {
		return s, fmt.Errorf("kafka engine ddl: %w", err)
	}
	if err := b.exec("bench/kafka_events_drop.sql", db, nil); err != nil {
		return s, fmt.Errorf("kafka engine ddl: %w", err)
	}
	m := cpuMeter{"clickhouse": b.chPid, "kafka": b.kPid}
	cpu0 := m.read()
	t0 := time.Now()
	if err := b.exec("bench/kafka_events_create.sql", db, engine); err != nil {
		return s, fmt.Errorf("kafka engine ddl: %w", err)
	}
	var err error
	if s.first, s.wall, err = b.waitProgress(db, want, t0, 5*time.Minute, &s.prog); err != nil {
		return s, fmt.Errorf("%w (see the clickhouse-server error log)", err)
	}
	if feedViews {
		// Same work as the sink's insert: the views hold every row too.
		// The views are fed in the same insert as the events table, so
		// they are complete when the events are.
		rows, events := b.count("bench/view_rows.sql", db, nil), b.count("bench/events_count.sql", db, queries.Params{"experiment_id": ""})
		if rows != events {
			return s, fmt.Errorf("kafka engine: cohort_tally counted %d rows of the %d in events: the views did not get every block", rows, events)
		}
	}
	s.cpu = m.perMillion(cpu0, want)
	b.overRead(db, "the Kafka engine", &s)
	s.parts = b.parts(db)
	return s, nil
}

// kafkaViews returns the DDL of a copy of every materialized view of db
// that reads db.kafka_events instead of db.events and writes into the
// view's own (inner) table, and the copies' names.
func (b *bench) kafkaViews(db string) (ddls, names []string, err error) {
	q, err := sql("bench/views.sql", db, queries.Params{"database": db})
	if err != nil {
		return nil, nil, err
	}
	rows, err := b.c.Conn.Query(b.ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("views of %s: %w", db, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, create string
		if err := rows.Scan(&name, &create); err != nil {
			return nil, nil, err
		}
		ddl, err := kafkaViewDDL(db, name, create)
		if err != nil {
			return nil, nil, err
		}
		ddls, names = append(ddls, ddl), append(names, name+kafkaCopySuffix)
	}
	if len(ddls) == 0 {
		return nil, nil, fmt.Errorf("no materialized view in %s", db)
	}
	return ddls, names, rows.Err()
}

// kafkaCopySuffix names a view's copy on the Kafka table.
const kafkaCopySuffix = "_from_kafka"

// kafkaViewDDL turns the stored CREATE statement of view name of db into
// its copy on the Kafka table, writing where the view writes: its inner
// table, or the table a view TO an explicit table names.
func kafkaViewDDL(db, name, create string) (string, error) {
	head, sel, ok := strings.Cut(create, " AS SELECT ")
	from := " FROM " + db + ".events"
	if !ok || strings.Count(sel, from) != 1 {
		return "", fmt.Errorf("view %s.%s: want one SELECT ... FROM %s.events, got: %s", db, name, db, create)
	}
	sel = strings.Replace(sel, from, " FROM "+db+".kafka_events", 1)
	target := fmt.Sprintf("%s.`.inner.%s`", db, name)
	if _, to, ok := strings.Cut(head, " TO "); ok {
		if target, _, _ = strings.Cut(to, " "); target == "" || strings.ContainsAny(target, "(`'") {
			return "", fmt.Errorf("view %s.%s: cannot read the table it writes: %s", db, name, create)
		}
	}
	return fmt.Sprintf("CREATE MATERIALIZED VIEW %s.%s%s TO %s AS SELECT %s", db, name, kafkaCopySuffix, target, sel), nil
}

// D: clickhouse-client inserting the same records (the topic's values,
// byte for byte) from a file.
func (b *bench) direct(r int, file string, want uint64) (sample, error) {
	s := sample{load: loadAvg(), events: want}
	db := fmt.Sprintf("bench_%s_client_%d", b.stamp, r)
	if err := b.freshDB(db); err != nil {
		return s, err
	}
	host, port, _ := net.SplitHostPort(b.cfg.Addr)
	m := cpuMeter{"clickhouse": b.chPid, "kafka": b.kPid}
	cpu0 := m.read()
	t0 := time.Now()
	insert, err := sql("bench/events_insert_json.sql", db, nil)
	if err != nil {
		return s, err
	}
	// Logged under its own id (the statement's text starts with its
	// comment, not with INSERT): its own CPU is reported apart.
	insertID := "ingestbench-insert-" + db
	cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--log_queries=1", "--query_id="+insertID, "--query", insert)
	in, err := os.Open(file)
	if err != nil {
		return s, err
	}
	defer in.Close()
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		return s, fmt.Errorf("clickhouse-client insert: %w\n%s", err, out)
	}
	if s.wall, err = b.waitDistinct(db, want, t0, time.Minute); err != nil {
		return s, err
	}
	s.cpu = m.perMillion(cpu0, want)
	s.cpu["client"] = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / float64(want) * 1e6
	b.overRead(db, "clickhouse-client", &s)
	s.parts = b.parts(db)
	n, us, err := b.probeCPU(insertID)
	if err != nil {
		return s, err
	}
	s.inserts, s.insertCPU = n, float64(us)/float64(want)
	b.quiesce(db)
	return s, nil
}

// E: latency at a fixed rate with background load: every 10 ms a batch of
// rate/100 marked events and one of background/100 others; a batch's
// latency is from the start of its request to the first poll that sees it.
func (b *bench) latency(r int) (sample, error) { return b.latencyWith(r, "", nil, false) }

// latencyWith is E with the serve of the ingest binary serveBin (E1:
// -alt-serve; "": this build's) and extra ingest sink flags (E2:
// -alt-sink-args); with everyPoll (E3) the probe asks ClickHouse at every
// poll, as it did before it waited for the server's inserted rows to move.
func (b *bench) latencyWith(r int, serveBin string, sinkArgs []string, everyPoll bool) (sample, error) {
	s := sample{load: loadAvg()}
	name := "lat"
	if len(sinkArgs) > 0 {
		name = "latalt"
	}
	if everyPoll {
		name = "latpoll"
	}
	if serveBin != "" {
		name = "latserve"
	} else {
		serveBin = filepath.Join(b.bin, "ingest")
	}
	db := fmt.Sprintf("bench_%s_%s_%d", b.stamp, name, r)
	if err := b.freshDB(db); err != nil {
		return s, err
	}
	topic, err := b.freshTopic(fmt.Sprintf("bench.%s.%s.%d", name, b.stamp, r))
	if err != nil {
		return s, err
	}
	// The sink's inserts are logged: what they cost ClickHouse, and how
	// long their threads waited for a core, are reported apart.
	b.logQueries = true
	p, err := b.startPairWith(serveBin, fmt.Sprintf("%s %d", name, r), db, topic, "bench-"+name, sinkArgs)
	b.logQueries = false
	if err != nil {
		return s, err
	}
	defer p.stop()
	namesText, err := queries.Render("bench/distinct_names.sql", queries.Data{DB: db})
	if err != nil {
		return s, err
	}
	rowsSQL, err := sql("bench/inserted_rows.sql", db, nil)
	if err != nil {
		return s, err
	}
	// Every tick's request bodies are encoded before the run (only their
	// event times are written at send time): the generator's CPU, on the
	// same cores as what it measures, is the sending, not the encoding.
	per, bgPer := max(b.o.rate/100, 1), b.o.background/100
	ticks := int(b.o.latFor / latTick)
	probes, bgs := make([]timedBody, ticks), make([]timedBody, 0, ticks)
	for seq := range ticks {
		probes[seq] = newTimedBody(probeBody(seq, per))
		if bgPer > 0 {
			bgs = append(bgs, newTimedBody(ndjson(fmt.Sprintf("bg%d", seq), 0, bgPer, time.Unix(latBodyEpoch, 0), 1)))
		}
	}
	m := cpuMeter{"serve": p.serve.Process.Pid, "sink": p.sink.Process.Pid, "clickhouse": b.chPid, "kafka": b.kPid, "generator": os.Getpid()}
	if r == 0 && name == "lat" { // E's first round (not E1's or E2's)
		stopProfile := b.profileSelf("generator-latency")
		defer stopProfile()
		b.profile("latency-serve", p.serveAdmin, b.o.latFor)
		b.profile("latency-sink", p.sinkAdmin, b.o.latFor)
	}
	cpu0 := m.read()
	busy0 := machineBusy()
	sink0 := scrape(p.sinkAdmin)
	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	visible := map[string]time.Duration{}
	answeredAt := map[string]time.Time{}
	pollDone := make(chan struct{})
	var sendingDone atomic.Bool
	// The probe's queries are logged under their own ids: what they cost
	// ClickHouse is reported apart (probeCPU).
	probePrefix := "ingestbench-probe-" + db + "-"
	go func() {
		asked := 0
		defer close(pollDone)
		deadline := time.Now().Add(b.o.latFor + time.Minute)
		// One query per latPoll at most: the probe asks ClickHouse on
		// the cores it measures (see probeCPU).
		next := time.Now()
		pause := func() {
			next = next.Add(latPoll)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			} else {
				next = time.Now()
			}
		}
		// Rows become visible only by an insert: at every poll the probe
		// asks for the server's count of inserted rows (a cheap question,
		// bench/inserted_rows.sql) and reads the names only at the poll
		// where it moved and at the next (in case the count moves just
		// before the part is visible); E3 reads them at every poll. A
		// batch is still seen at the first poll after it became visible.
		gate := newReadGate()
		for time.Now().Before(deadline) {
			if !everyPoll {
				asked++
				var rows uint64
				ctx := clickhouse.Context(b.ctx, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}),
					clickhouse.WithQueryID(probePrefix+strconv.Itoa(asked)))
				if err := b.c.Conn.QueryRow(ctx, rowsSQL).Scan(&rows); err == nil {
					if !gate.read(rows) {
						mu.Lock()
						all := sendingDone.Load() && len(visible) == len(sentAt)
						mu.Unlock()
						if all {
							return
						}
						pause()
						continue
					}
				}
			}
			// From the second of the oldest probe not yet seen (its
			// event_time is the time it was sent, in whole seconds:
			// sentAt is that same instant).
			mu.Lock()
			oldest := time.Now()
			for name, at := range sentAt {
				if _, ok := visible[name]; !ok && at.Before(oldest) {
					oldest = at
				}
			}
			mu.Unlock()
			namesSQL, err := queries.Bind(namesText, queries.Params{"experiment_id": "lat", "since_s": oldest.Unix()})
			if err != nil {
				return
			}
			asked++
			ctx := clickhouse.Context(b.ctx, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}),
				clickhouse.WithQueryID(probePrefix+strconv.Itoa(asked)))
			rows, err := b.c.Conn.Query(ctx, namesSQL)
			if err != nil {
				pause()
				continue
			}
			seen := time.Now()
			mu.Lock()
			for rows.Next() {
				var name string
				_ = rows.Scan(&name)
				if _, ok := visible[name]; !ok {
					if at, ok := sentAt[name]; ok {
						visible[name] = seen.Sub(at)
					}
				}
			}
			all := sendingDone.Load() && len(visible) == len(sentAt)
			mu.Unlock()
			_ = rows.Close()
			if all {
				return
			}
			pause()
		}
	}()
	var sent atomic.Uint64
	var failed atomic.Int64
	var wg sync.WaitGroup
	// One tick every 10 ms on a fixed schedule: a tick that comes late
	// (the machine is busy) is sent at once, not dropped, so the run
	// carries its nominal rate.
	start := time.Now()
	for seq := range ticks {
		if d := time.Until(start.Add(time.Duration(seq) * latTick)); d > 0 {
			time.Sleep(d)
		}
		name := latName(seq)
		now := time.Now()
		body := probes[seq].at(now)
		var bg []byte
		if bgPer > 0 {
			bg = bgs[seq].at(now)
		}
		mu.Lock()
		sentAt[name] = now // the events' time: the query's lower bound
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.send(p.url, body); err != nil {
				failed.Add(1)
				return
			}
			at := time.Now()
			mu.Lock()
			answeredAt[name] = at
			mu.Unlock()
			sent.Add(uint64(per))
		}()
		if bg != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if b.send(p.url, bg) == nil {
					sent.Add(uint64(bgPer))
				}
			}()
		}
	}
	wg.Wait()
	sendingDone.Store(true)
	<-pollDone
	s.busy = machineBusy().since(busy0)
	sink1 := scrape(p.sinkAdmin)
	s.sinkAge = histDelta(sink0, sink1, "steadystate_sink_batch_age_seconds")
	s.sinkInsert = histDelta(sink0, sink1, "steadystate_sink_insert_duration_seconds")
	s.events = sent.Load()
	if s.events > 0 {
		s.cpu = m.perMillion(cpu0, s.events)
	}
	mu.Lock()
	if b.o.latTrace != "" {
		if err := writeLatTrace(filepath.Join(b.o.latTrace, db+".csv"), start, ticks, sentAt, answeredAt, visible); err != nil {
			mu.Unlock()
			return s, err
		}
	}
	for name, d := range visible {
		s.lat = append(s.lat, d)
		if at, ok := answeredAt[name]; ok {
			ans := at.Sub(sentAt[name])
			s.answered = append(s.answered, ans)
			s.afterAnswer = append(s.afterAnswer, max(d-ans, 0))
		}
		delete(sentAt, name)
	}
	// A batch that never became visible (its request failed, or it was
	// still missing a minute after the run) counts as infinitely late.
	s.missing = len(sentAt)
	for range sentAt {
		s.lat = append(s.lat, time.Duration(math.MaxInt64))
	}
	mu.Unlock()
	s.failed = failed.Load()
	sort.Slice(s.lat, func(i, j int) bool { return s.lat[i] < s.lat[j] })
	sort.Slice(s.answered, func(i, j int) bool { return s.answered[i] < s.answered[j] })
	sort.Slice(s.afterAnswer, func(i, j int) bool { return s.afterAnswer[i] < s.afterAnswer[j] })
	s.parts = b.parts(db)
	p.stop()
	if s.events > 0 {
		n, us, err := b.probeCPU(probePrefix)
		if err != nil {
			return s, err
		}
		s.probes, s.probeCPU = n, float64(us)/1e6/(float64(s.events)/1e6)
		if err := b.insertCost(db, &s); err != nil {
			return s, err
		}
	}
	b.quiesce(db)
	return s, nil
}

// insertCost fills in s the count and the ClickHouse CPU-s per 1M events
// of the logged inserts into db.events (log_queries = 1: the sink's with
// store.EnvLogQueries), their
// mean time on the server and their threads' mean wait for a core.
func (b *bench) insertCost(db string, s *sample) error {
	if err := b.exec("bench/bench_flush_logs.sql", b.cfg.Database, nil); err != nil {
		return err
	}
	q, err := sql("bench/sink_insert_cpu.sql", b.cfg.Database, queries.Params{"db": db})
	if err != nil {
		return err
	}
	var cpuUs, waitUs, durMs uint64
	if err := b.c.Conn.QueryRow(b.ctx, q).Scan(&s.inserts, &cpuUs, &waitUs, &durMs); err != nil {
		return fmt.Errorf("insert cpu: %w", err)
	}
	s.insertCPU = float64(cpuUs) / float64(s.events)
	if s.inserts > 0 {
		s.insertServer = time.Duration(durMs) * time.Millisecond / time.Duration(s.inserts)
		s.insertWait = time.Duration(waitUs) * time.Microsecond / time.Duration(s.inserts)
	}
	return nil
}

// writeLatTrace writes one latency run's probes to path as CSV: seq, then
// the times (ms since start) it was sent, answered (empty: failed) and
// visible (empty: never).
func writeLatTrace(path string, start time.Time, ticks int, sentAt, answeredAt map[string]time.Time, visible map[string]time.Duration) error {
	var buf bytes.Buffer
	buf.WriteString("seq,sent_ms,answered_ms,visible_ms\n")
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }
	for seq := range ticks {
		name := latName(seq)
		at, ok := sentAt[name]
		if !ok {
			continue
		}
		ans, vis := "", ""
		if a, ok := answeredAt[name]; ok {
			ans = ms(a.Sub(start))
		}
		if d, ok := visible[name]; ok {
			vis = ms(at.Add(d).Sub(start))
		}
		fmt.Fprintf(&buf, "%d,%s,%s,%s\n", seq, ms(at.Sub(start)), ans, vis)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("latency trace: %w", err)
	}
	return nil
}

// readGate decides at each poll of path E's probe whether to read the
// names, from the server's count of inserted rows: at the poll where the
// count moved and at the next.
type readGate struct {
	last        uint64
	movedBefore bool
}

func newReadGate() *readGate { return &readGate{last: math.MaxUint64, movedBefore: true} }

// read takes this poll's count and says whether to read the names.
func (g *readGate) read(rows uint64) bool {
	moved := rows != g.last
	ok := moved || g.movedBefore
	g.last, g.movedBefore = rows, moved
	return ok
}

// probeCPU is the count and the ClickHouse CPU (microseconds) of the
// logged queries whose ids start with prefix (the latency probe's,
// clickhouse-client's insert).
func (b *bench) probeCPU(prefix string) (n, us uint64, err error) {
	if err := b.exec("bench/bench_flush_logs.sql", b.cfg.Database, nil); err != nil {
		return 0, 0, err
	}
	q, err := sql("bench/probe_cpu.sql", b.cfg.Database, queries.Params{"prefix": prefix})
	if err != nil {
		return 0, 0, err
	}
	if err := b.c.Conn.QueryRow(b.ctx, q).Scan(&n, &us); err != nil {
		return 0, 0, fmt.Errorf("probe cpu: %w", err)
	}
	return n, us, nil
}

// latTick is path E's send interval: every tick sends one probe request
// (rate/100 events) and one background request (background/100 events).
const latTick = 10 * time.Millisecond

// latPoll is how often path E's probe asks which probes are visible: a
// latency is known to this resolution, reported late, never early. Asked
// every 10 ms after the previous answer instead, the probe's own queries
// (each reads every probe row since the oldest not yet seen) ran up to
// about 25 a second on a busy machine and cost ClickHouse 2.5-3.7 CPU-s
// per 1M events of the run's 30k events/s (probeCPU), on the same cores
// as the inserts it waits for.
const latPoll = 50 * time.Millisecond

// latBodyEpoch is the event time path E's bodies are encoded with before
// the run (any time whose nanoseconds have 19 digits, as every time
// between 2001 and 2286 does); timedBody.at writes the send time over it.
const latBodyEpoch = 1_800_000_000

// latName is the name (the operation) every event of probe seq carries.
func latName(seq int) string { return fmt.Sprintf("lat-%06d", seq) }

// probeBody is probe seq's request: per events of experiment lat, named
// latName(seq), whose event ids are unique to the probe.
func probeBody(seq, per int) []byte {
	body := bytes.ReplaceAll(ndjson(fmt.Sprintf("lat%d", seq), 0, per, time.Unix(latBodyEpoch, 0), 1), []byte(`"GET /checkout"`), []byte(`"`+latName(seq)+`"`))
	return bytes.ReplaceAll(body, []byte(fmt.Sprintf(`"experiment_id":"lat%d"`, seq)), []byte(`"experiment_id":"lat"`))
}

// timedBody is an ndjson body encoded ahead of time and the offsets of its
// events' "time" values: at(now) gives the bytes ndjson would have
// encoded at now.
type timedBody struct {
	body  []byte
	times []int
}

var timeKey = []byte(`"time":`)

func newTimedBody(body []byte) timedBody {
	t := timedBody{body: body}
	for off := 0; ; {
		i := bytes.Index(body[off:], timeKey)
		if i < 0 {
			return t
		}
		off += i + len(timeKey)
		t.times = append(t.times, off)
	}
}

// at writes event i's time, now plus i nanoseconds (as ndjson does), into
// the body and returns it. Every value keeps its 19 digits.
func (t timedBody) at(now time.Time) []byte {
	var digits [24]byte
	for i, off := range t.times {
		v := strconv.AppendInt(digits[:0], now.UnixNano()+int64(i), 10)
		copy(t.body[off:off+19], v)
	}
	return t.body
}

// busyTicks is the machine's busy and total CPU time from /proc/stat.
type busyTicks struct{ busy, total float64 }

func machineBusy() busyTicks {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return busyTicks{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var t busyTicks
	for i, v := range f[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		t.total += x
		if i != 3 && i != 4 { // idle, iowait
			t.busy += x
		}
	}
	return t
}

// since is the busy share of every core between t0 and t.
func (t busyTicks) since(t0 busyTicks) float64 {
	if t.total <= t0.total {
		return 0
	}
	return (t.busy - t0.busy) / (t.total - t0.total)
}

// scrape reads the Prometheus text metrics of an admin address: every
// sample by its name with labels as written.
func scrape(admin string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// histDelta summarises what histogram name recorded between two scrapes.
func histDelta(before, after map[string]float64, name string) histStats {
	var h histStats
	h.count = after[name+"_count"] - before[name+"_count"]
	if h.count <= 0 {
		return h
	}
	h.mean = (after[name+"_sum"] - before[name+"_sum"]) / h.count
	type bucket struct{ le, n float64 }
	var bs []bucket
	prefix := name + `_bucket{le="`
	for k, v := range after {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(k[len(prefix):], `"}`), 64)
		if err != nil {
			continue
		}
		bs = append(bs, bucket{le, v - before[k]})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	for _, bk := range bs {
		if bk.n >= 0.99*h.count {
			h.p99 = bk.le
			h.overflowed = math.IsInf(bk.le, 1)
			break
		}
	}
	return h
}

// prefill sends the throughput events once through serve into a topic that
// the sink-only, Kafka engine and clickhouse-client runs all read.
func (b *bench) prefill() (string, [][]byte, uint64, error) {
	topic, err := b.freshTopic("bench.prefill." + b.stamp)
	if err != nil {
		return "", nil, 0, err
	}
	db := fmt.Sprintf("bench_%s_prefill", b.stamp)
	if err := b.freshDB(db); err != nil {
		return "", nil, 0, err
	}
	httpAddr := freeAddr()
	serve := b.proc("serve prefill", db, "serve", "--http", httpAddr, "--grpc", freeAddr(), "--admin", freeAddr(), "--topic", topic, "--log-level", "warn")
	defer stop(serve)
	if err := waitListen(httpAddr, 30*time.Second); err != nil {
		return "", nil, 0, err
	}
	if err := b.sendAll("http://" + httpAddr + "/v1/events"); err != nil {
		return "", nil, 0, err
	}
	stop(serve)
	b.quiesce(db)
	records, want, err := topicRecords(b.ctx, b.brokers, topic)
	return topic, records, want, err
}

func run(o options) error {
	if o.rounds < 1 || o.n < 1 {
		return errors.New("-rounds and -events must be at least 1")
	}
	b := &bench{o: o, ctx: context.Background(), stamp: strconv.FormatInt(time.Now().Unix(), 36), brokers: bus.DefaultBrokers()}
	var err error
	if b.bin, err = os.MkdirTemp("", "ingestbench"); err != nil {
		return err
	}
	defer os.RemoveAll(b.bin)
	if out, err := exec.Command("go", "build", "-o", b.bin, "./cmd/ingest").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	b.cfg = store.NewDefaultConfig()
	b.cfg.Database = "bench_" + b.stamp
	if b.c, err = store.Open(b.ctx, b.cfg); err != nil {
		return err
	}
	defer b.c.Close()
	defer b.dropAll()
	b.chPid, b.kPid = stagecpu.StatePID("clickhouse"), stagecpu.StatePID("kafka")
	if b.chPid == 0 || b.kPid == 0 {
		fmt.Fprintln(os.Stderr, "warning: no pid file for clickhouse or kafka under $STEADYSTATE_STATE_DIR: their CPU reads 0")
	}
	// Connections are kept for reuse, as an exporter keeps its own: path E
	// has up to one request per 10-ms tick and kind in flight while serve
	// is slow, and with fewer idle connections kept (it kept 16) every
	// request beyond them dialled a new one and closed it after (17 % of
	// the generator's CPU in the latency run, plus serve's accepts).
	b.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(o.workers*2, 512)}, Timeout: time.Minute}

	now := time.Now()
	for lo := 0; lo < o.n; lo += o.batch {
		b.bodies = append(b.bodies, ndjson("tput", lo, min(lo+o.batch, o.n), now, o.perTrace))
	}
	// B, C and D read a topic pre-filled through serve (and D its records).
	var topic, file string
	var records [][]byte
	var want uint64
	if o.cost.on && o.cost.shape == "real" {
		return b.chCost(o.cost, nil)
	}
	if o.cost.on || o.paths["B"] || o.paths["B0"] || o.paths["B1"] || o.paths["B2"] || o.paths["C"] || o.paths["C0"] || o.paths["D"] {
		fmt.Fprintf(os.Stderr, "pre-filling a topic with %d events through ingest serve...\n", o.n)
		var err error
		if topic, records, want, err = b.prefill(); err != nil {
			return fmt.Errorf("prefill: %w", err)
		}
		file = filepath.Join(b.bin, "events.ndjson")
		var buf bytes.Buffer
		for _, r := range records {
			buf.Write(r)
			buf.WriteByte('\n')
		}
		if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
			return err
		}
		b.records = uint64(len(records))
	}

	if o.cost.on {
		return b.chCost(o.cost, records)
	}

	paths := []struct {
		key, name string
		run       func(r int) (sample, error)
	}{
		{"A", "end to end (HTTP -> serve -> Kafka -> sink -> CH)", b.endToEnd},
		{"A0", "end to end, serve's trace cache off (--trace-cache 0)", b.endToEndNoTraceCache},
		{"A1", "end to end with the -alt-serve binary's serve", b.endToEndAlt},
		{"B", "sink only (pre-filled topic -> CH)", func(r int) (sample, error) { return b.sinkOnly(r, topic, want, true) }},
		{"B1", "sink only with the -alt-sink binary's sink", func(r int) (sample, error) {
			return b.sinkOnlyBin(o.altSink, "alt", r, topic, want, true, nil)
		}},
		{"B2", "sink only with -alt-sink-args", func(r int) (sample, error) {
			return b.sinkOnlyBin(filepath.Join(b.bin, "ingest"), "args", r, topic, want, true, o.sinkArgs)
		}},
		{"B0", "sink only, without the unit_seen view", func(r int) (sample, error) { return b.sinkOnly(r, topic, want, false) }},
		{"C", "ClickHouse Kafka engine (same topic, same views)", func(r int) (sample, error) { return b.kafkaEngine(r, topic, want, true) }},
		{"C0", "ClickHouse Kafka engine, events table only", func(r int) (sample, error) { return b.kafkaEngine(r, topic, want, false) }},
		{"D", "clickhouse-client JSONEachRow (same records)", func(r int) (sample, error) { return b.direct(r, file, want) }},
		{"E", fmt.Sprintf("latency %d ev/s + %d ev/s background", o.rate, o.background), b.latency},
		{"E1", fmt.Sprintf("latency %d ev/s + %d ev/s background, -alt-serve's serve", o.rate, o.background), func(r int) (sample, error) { return b.latencyWith(r, o.altServe, nil, false) }},
		{"E2", fmt.Sprintf("latency %d ev/s + %d ev/s background, -alt-sink-args", o.rate, o.background), func(r int) (sample, error) { return b.latencyWith(r, "", o.sinkArgs, false) }},
		{"E3", fmt.Sprintf("latency %d ev/s + %d ev/s background, the probe reading at every poll", o.rate, o.background), func(r int) (sample, error) { return b.latencyWith(r, "", nil, true) }},
	}
	byKey := map[string]int{}
	var keys []string
	for i, p := range paths {
		if o.paths[p.key] {
			byKey[p.key] = i
			keys = append(keys, p.key)
		}
	}
	samples := map[string][]sample{}
	var runErr error
rounds:
	for r := 0; r < o.rounds; r++ {
		for _, k := range roundOrder(keys, r) {
			p := paths[byKey[k]]
			fmt.Fprintf(os.Stderr, "round %d/%d %s %s: load average %s ... ", r+1, o.rounds, p.key, p.name, loadAvg())
			s, err := p.run(r)
			if err != nil {
				// The rounds done so far are still reported.
				runErr = fmt.Errorf("round %d, %s: %w", r+1, p.name, err)
				fmt.Fprintln(os.Stderr, runErr)
				break rounds
			}
			samples[p.key] = append(samples[p.key], s)
			if strings.HasPrefix(p.key, "E") {
				fmt.Fprintf(os.Stderr, "p99 %s over %d batches (%d requests failed, %d batches never visible); machine %.0f %% busy, clickhouse %.1f CPU-s per 1M (inserts %.1f)\n",
					fmtLat(pct(s.lat, 0.99)), len(s.lat), s.failed, s.missing, 100*s.busy, s.cpu["clickhouse"], s.insertCPU)
			} else {
				fmt.Fprintf(os.Stderr, "%.0f events/s (%s)\n", float64(s.events)/s.wall.Seconds(), s.wall.Round(time.Millisecond))
			}
			if s.invalid != "" {
				fmt.Fprintf(os.Stderr, "  INVALID, not counted: %s\n", s.invalid)
			}
		}
	}

	// The runs' databases and topics go before the stage benchmarks, which
	// create no files in ClickHouse: a second invocation started right
	// after this one begins a few minutes after these deletions.
	b.dropAll()
	var stages []stage
	var stageErr error
	if o.stages && runErr == nil {
		fmt.Fprintf(os.Stderr, "per-stage Go benchmarks (-benchtime %s)...\n", o.stageTime)
		// A failing stage benchmark costs only its own line: the paths'
		// tables are printed whatever happens, then the error.
		stages, stageErr = runStages(o.stageTime)
	}
	report(os.Stdout, o, b, len(records), want, samples, stages)
	if runErr != nil {
		fmt.Fprintf(os.Stdout, "\nstopped early: %v\n", runErr)
		return runErr
	}
	if stageErr != nil {
		fmt.Fprintf(os.Stdout, "\nstage benchmarks: %v\n", stageErr)
		return fmt.Errorf("stage benchmarks: %w", stageErr)
	}
	return nil
}

// ---- statistics and the report ----

func spread(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func fmtLat(d time.Duration) string {
	if d == time.Duration(math.MaxInt64) {
		return "never"
	}
	return d.Round(time.Millisecond).String()
}

func pct(lats []time.Duration, q float64) time.Duration {
	if len(lats) == 0 {
		return 0
	}
	return lats[min(int(q*float64(len(lats))), len(lats)-1)]
}

func rates(ss []sample) []float64 {
	var out []float64
	for _, s := range ss {
		out = append(out, float64(s.events)/s.wall.Seconds())
	}
	return out
}

func cpus(ss []sample, proc string) []float64 {
	var out []float64
	for _, s := range ss {
		out = append(out, s.cpu[proc])
	}
	return out
}

func med3(xs []float64, format string) string {
	lo, hi := spread(xs)
	return fmt.Sprintf(format+" ["+format+".."+format+"]", stagecpu.Median(xs), lo, hi)
}

func report(w io.Writer, o options, b *bench, records int, want uint64, samples map[string][]sample, stages []stage) {
	fmt.Fprintf(w, "ingestbench: %s, %d cores, %s memory; Kafka %s, ClickHouse %s, all on this machine\n", cpuModel(), runtime.NumCPU(), memTotal(), strings.Join(b.brokers, ","), b.cfg.Addr)
	var ran []string
	for _, k := range []string{"A", "A0", "A1", "B", "B0", "B1", "B2", "C", "C0", "D", "E", "E1", "E2", "E3"} {
		if len(samples[k]) > 0 {
			ran = append(ran, k)
		}
	}
	fmt.Fprintf(w, "%d rounds, paths interleaved %s; %d events per throughput run (%d per request, %d senders, %d per trace);\n", o.rounds, strings.Join(ran, " "), o.n, o.batch, o.workers, o.perTrace)
	if records > 0 {
		fmt.Fprintf(w, "pre-filled topic for B, C, D: %d records, %d distinct events; ", records, want)
	}
	fmt.Fprintf(w, "every count is distinct event ids in ClickHouse, a run done once every view holds its rows too,\n")
	fmt.Fprintf(w, "each run into a fresh migrated database (events + materialized views), detached after it (its files deleted after the last run); the next run waits for no merge running\n")
	fmt.Fprintf(w, "figures: median [min..max] over the rounds; CPU is seconds per million events from /proc/<pid>/stat deltas\n\n")
	fmt.Fprintf(w, "load average (1 5 15 min) before each run:\n")
	for _, k := range ran {
		var loads []string
		for _, s := range samples[k] {
			loads = append(loads, s.load)
		}
		fmt.Fprintf(w, "  %s  %s\n", k, strings.Join(loads, " | "))
	}
	fmt.Fprintln(w)
	names := map[string]string{
		"A":  "A end to end (HTTP->serve->Kafka->sink->CH)",
		"A0": "A0 end to end, trace cache off",
		"A1": "A1 end to end, -alt-serve's serve",
		"B":  "B sink only (pre-filled topic)",
		"B0": "B0 sink only, without unit_seen",
		"B1": "B1 sink only, -alt-sink's sink",
		"B2": "B2 sink only, -alt-sink-args",
		"C":  "C ClickHouse Kafka engine (same topic+views)",
		"C0": "C0 Kafka engine, events only (views not fed)",
		"D":  "D clickhouse-client JSONEachRow (same records)",
	}
	procs := map[string][]string{
		"A":  {"serve", "sink", "clickhouse", "kafka", "generator"},
		"A0": {"serve", "sink", "clickhouse", "kafka", "generator"},
		"A1": {"serve", "sink", "clickhouse", "kafka", "generator"},
		"B":  {"sink", "clickhouse", "kafka"},
		"B0": {"sink", "clickhouse", "kafka"},
		"B1": {"sink", "clickhouse", "kafka"},
		"B2": {"sink", "clickhouse", "kafka"},
		"C":  {"clickhouse", "kafka"},
		"C0": {"clickhouse", "kafka"},
		"D":  {"client", "clickhouse"},
		"E":  {"serve", "sink", "clickhouse", "kafka", "generator"},
	}
	if bad := invalidRounds(ran, samples); len(bad) > 0 {
		fmt.Fprintf(w, "INVALID rounds, left out of every median, ratio and round pair below:\n%s\n\n", strings.Join(bad, "\n"))
	}
	fmt.Fprintf(w, "%-47s %-28s %s\n", "path", "events/s", "CPU-s per 1M events, per process")
	for _, k := range []string{"A", "A0", "A1", "B", "B0", "B1", "B2", "C", "C0", "D"} {
		if len(samples[k]) == 0 {
			continue
		}
		v := valid(samples[k])
		if len(v) == 0 {
			fmt.Fprintf(w, "%-47s no valid round of %d\n", names[k], len(samples[k]))
			continue
		}
		var parts []string
		for _, p := range procs[k] {
			parts = append(parts, p+" "+med3(cpus(v, p), "%.2f"))
		}
		fmt.Fprintf(w, "%-47s %-28s %s%s\n", names[k], med3(rates(v), "%.0f"), strings.Join(parts, ", "), validNote(samples[k]))
	}
	var ss []float64
	for _, s := range valid(samples["A"]) {
		ss = append(ss, s.cpu["serve"]+s.cpu["sink"])
	}
	if len(ss) > 0 {
		fmt.Fprintf(w, "%-47s %-28s %s\n", "  A serve + sink", "", med3(ss, "%.2f"))
	}

	fmt.Fprintf(w, "\nClickHouse parts written per run (level 0 = one per insert and table: events and each materialized view), merged parts present at the end:\n")
	for _, k := range ran {
		var ins, ev, mg []float64
		for _, s := range valid(samples[k]) {
			ins, ev, mg = append(ins, float64(s.parts.insertParts)), append(ev, float64(s.parts.eventParts)), append(mg, float64(s.parts.mergedParts))
		}
		fmt.Fprintf(w, "  %s  insert parts %s, of which events %s, merged %s\n", k, med3(ins, "%.0f"), med3(ev, "%.0f"), med3(mg, "%.0f"))
	}

	insertSplit(w, samples)
	startUp(w, samples)
	if len(samples["A"]) > 0 && len(samples["A0"]) > 0 {
		traceCacheCost(w, samples["A"], samples["A0"])
	}
	if len(samples["A"]) > 0 && len(samples["A1"]) > 0 {
		altServeCost(w, samples["A"], samples["A1"], o.altServe)
	}
	if len(samples["B"]) > 0 && len(samples["B1"]) > 0 {
		altSinkCost(w, samples["B"], samples["B1"], o.altSink)
	}
	if len(samples["E"]) > 0 && len(samples["E1"]) > 0 {
		altServeSmallCost(w, samples["E"], samples["E1"], o.altServe)
	}
	if len(samples["B"]) > 0 && len(samples["B0"]) > 0 {
		unitSeenCost(w, samples["B"], samples["B0"])
	}
	if len(samples["B"]) > 0 && len(samples["B2"]) > 0 {
		sinkArgsCost(w, samples["B"], samples["B2"], o.sinkArgs)
	}
	if len(samples["E"]) > 0 && len(samples["E3"]) > 0 {
		probeCost(w, samples["E"], samples["E3"])
	}
	var p99 []float64
	for _, k := range []string{"E", "E1", "E2", "E3"} {
		if len(samples[k]) == 0 {
			continue
		}
		var p99k []float64
		switch k {
		case "E":
			fmt.Fprintf(w, "\nlatency, ingest-to-queryable (%d ev/s measured + %d ev/s background, %s per round):\n", o.rate, o.background, o.latFor)
		case "E1":
			fmt.Fprintf(w, "\nE1 latency as E, with the serve of %s:\n", o.altServe)
		case "E3":
			fmt.Fprintf(w, "\nE3 latency as E, the probe reading the names at every poll (not only after the server's inserted rows moved):\n")
		default:
			fmt.Fprintf(w, "\nE2 latency as E, with the sink flags %q:\n", strings.Join(o.sinkArgs, " "))
		}
		var p50, pmax, failed, missing []float64
		var lparts []string
		ms := func(d time.Duration) float64 {
			if d == time.Duration(math.MaxInt64) {
				return math.Inf(1)
			}
			return float64(d.Milliseconds())
		}
		for _, s := range samples[k] {
			p50 = append(p50, ms(pct(s.lat, 0.5)))
			p99k = append(p99k, ms(pct(s.lat, 0.99)))
			pmax = append(pmax, ms(pct(s.lat, 1)))
			failed, missing = append(failed, float64(s.failed)), append(missing, float64(s.missing))
		}
		for _, p := range procs["E"] {
			lparts = append(lparts, p+" "+med3(cpus(samples[k], p), "%.2f"))
		}
		if k == "E" {
			p99 = p99k
		}
		fmt.Fprintf(w, "  p50 %s ms, p99 %s ms, max %s ms (never visible counts as +Inf)\n", med3(p50, "%.0f"), med3(p99k, "%.0f"), med3(pmax, "%.0f"))
		fmt.Fprintf(w, "  requests failed %s, batches never visible %s\n", med3(failed, "%.0f"), med3(missing, "%.0f"))
		fmt.Fprintf(w, "  CPU-s per 1M events at that load: %s\n", strings.Join(lparts, ", "))
		var probeCPU, probes []float64
		for _, s := range samples[k] {
			probeCPU, probes = append(probeCPU, s.probeCPU), append(probes, float64(s.probes))
		}
		fmt.Fprintf(w, "  of clickhouse's, the latency probe's own queries (%s of them, system.query_log): %s\n", med3(probes, "%.0f"), med3(probeCPU, "%.2f"))
		var insCPU, inserts, rowsPer []float64
		for _, s := range samples[k] {
			insCPU, inserts = append(insCPU, s.insertCPU), append(inserts, float64(s.inserts))
			if s.inserts > 0 {
				rowsPer = append(rowsPer, float64(s.events)/float64(s.inserts))
			}
		}
		fmt.Fprintf(w, "  of clickhouse's, the sink's inserts (%s of them, %s rows each): %s; the rest is merges and other clients\n", med3(inserts, "%.0f"), med3(rowsPer, "%.0f"), med3(insCPU, "%.2f"))
		latencyParts(w, samples[k])
	}
	if len(samples["E"]) == 0 || len(samples["B"]) == 0 || len(samples["C"]) == 0 || len(samples["D"]) == 0 || len(samples["A"]) == 0 {
		fmt.Fprintf(w, "\n(the ratios against the targets need every path A B C D E)\n")
		if len(stages) > 0 {
			fmt.Fprintln(w)
			printStages(w, stages)
		}
		return
	}

	serveSink := stagecpu.Median(ss)
	fmt.Fprintf(w, "\nratios of medians, against the targets:\n")
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Fprintln(w, ratioOfMedians(samples["B"], samples["C"]).line("sink only / Kafka engine", 1.5))
	fmt.Fprintln(w, ratioOfMedians(samples["B"], samples["D"]).line("sink only / clickhouse-client", 0.8))
	fmt.Fprintln(w, ratioOfMedians(samples["A"], samples["C"]).line("end to end / Kafka engine", 1.0))
	fmt.Fprintf(w, "  serve + sink CPU-s per 1M        %.2f   (target <= 8)    %s\n", serveSink, check(serveSink <= 8))
	lp99 := stagecpu.Median(p99)
	fmt.Fprintf(w, "  latency p99                      %.0f ms (target <= 1000) %s\n", lp99, check(lp99 <= 1000))
	if len(stages) > 0 {
		fmt.Fprintln(w)
		printStages(w, stages)
	}
}

// latencyParts prints what path E's latency is made of, median [min..max]
// over the rounds of each round's p50 and p99.
func latencyParts(w io.Writer, ss []sample) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	var ans50, ans99, aft50, aft99, age, age99, ins, ins99, busy, server, wait []float64
	overflow := false
	for _, s := range ss {
		ans50, ans99 = append(ans50, ms(pct(s.answered, 0.5))), append(ans99, ms(pct(s.answered, 0.99)))
		aft50, aft99 = append(aft50, ms(pct(s.afterAnswer, 0.5))), append(aft99, ms(pct(s.afterAnswer, 0.99)))
		age, age99 = append(age, 1e3*s.sinkAge.mean), append(age99, 1e3*s.sinkAge.p99)
		ins, ins99 = append(ins, 1e3*s.sinkInsert.mean), append(ins99, 1e3*s.sinkInsert.p99)
		busy = append(busy, 100*s.busy)
		server, wait = append(server, ms(s.insertServer)), append(wait, ms(s.insertWait))
		overflow = overflow || s.sinkAge.overflowed || s.sinkInsert.overflowed
	}
	fmt.Fprintf(w, "  what it is made of (ms; p50 and p99 per round, then median [min..max] over the rounds):\n")
	fmt.Fprintf(w, "    request -> serve's 200 (decode, tag, produce linger, Kafka acks=all)  p50 %s  p99 %s\n", med3(ans50, "%.0f"), med3(ans99, "%.0f"))
	fmt.Fprintf(w, "    200 -> visible (sink fetch wait, batch age, insert, views, 50 ms poll) p50 %s  p99 %s\n", med3(aft50, "%.0f"), med3(aft99, "%.0f"))
	fmt.Fprintf(w, "    sink batch age, first record to flush (its histogram)                   mean %s  p99 <= %s\n", med3(age, "%.0f"), med3(age99, "%.0f"))
	fmt.Fprintf(w, "    sink insert time (its histogram)                                        mean %s  p99 <= %s\n", med3(ins, "%.0f"), med3(ins99, "%.0f"))
	fmt.Fprintf(w, "      on the server (query_log), per insert                                  mean %s, its threads runnable waiting for a core (summed) %s\n", med3(server, "%.0f"), med3(wait, "%.0f"))
	fmt.Fprintf(w, "    machine busy during the run (all cores, /proc/stat)                     %s %%\n", med3(busy, "%.0f"))
	if overflow {
		fmt.Fprintf(w, "    (a p99 above the largest finite bucket reads +Inf)\n")
	}
}

// insertSplit prints, for the paths whose inserts are logged (the sink's,
// clickhouse-client's), ClickHouse's CPU per 1M events split into the
// inserts' own (system.query_log: the events part and every view, on the
// insert's threads) and the rest (mostly the merges of the parts they
// wrote, while the run lasted): why one path's inserts cost ClickHouse
// more than another's.
func insertSplit(w io.Writer, samples map[string][]sample) {
	var lines []string
	for _, k := range []string{"B", "B0", "B1", "B2", "D"} {
		v := valid(samples[k])
		var own, rest, inserts, rows []float64
		for _, s := range v {
			if s.inserts == 0 {
				continue
			}
			own, rest = append(own, s.insertCPU), append(rest, s.cpu["clickhouse"]-s.insertCPU)
			inserts, rows = append(inserts, float64(s.inserts)), append(rows, float64(s.events)/float64(s.inserts))
		}
		if len(own) == 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf("  %-3s inserts %s of %s rows: their own %s, the rest (merges, other clients) %s",
			k, med3(inserts, "%.0f"), med3(rows, "%.0f"), med3(own, "%.2f"), med3(rest, "%.2f")))
	}
	if len(lines) > 0 {
		fmt.Fprintf(w, "\nClickHouse CPU-s per 1M events, the logged inserts' own (system.query_log) and the rest of the run's:\n%s\n", strings.Join(lines, "\n"))
	}
}

// startUp prints, for the paths that consume a pre-filled topic, what
// their time is made of: the start (consumer group join, first fetch,
// first insert) to the first row visible, the rate from 10 % to 90 % of
// the rows visible (the steady state), and the tail from 90 % to the
// last. It shows which part moves between rounds; the table's events/s
// (the targets' figure) include all three.
func startUp(w io.Writer, samples map[string][]sample) {
	var lines []string
	for _, k := range []string{"B", "B0", "B1", "B2", "C", "C0"} {
		var first, rate, tail []float64
		oneGo := 0
		for _, s := range valid(samples[k]) {
			if s.first < 0 || s.prog.at10 < 0 || s.prog.at90 < 0 {
				continue
			}
			first = append(first, s.first.Seconds())
			tail = append(tail, (s.wall - s.prog.at90).Seconds())
			if d := s.prog.at90 - s.prog.at10; d > 0 {
				rate = append(rate, float64(s.prog.rows90-s.prog.rows10)/d.Seconds())
			} else {
				oneGo++
			}
		}
		if len(first) == 0 {
			continue
		}
		steady := "10 % to 90 % of the rows within one poll"
		if len(rate) > 0 {
			steady = "10 % to 90 % at " + med3(rate, "%.0f") + " events/s"
			if oneGo > 0 {
				steady += fmt.Sprintf(" (%d rounds within one poll)", oneGo)
			}
		}
		lines = append(lines, fmt.Sprintf("  %-3s first row after %s s; %s; last 10 %% took %s s", k, med3(first, "%.2f"), steady, med3(tail, "%.2f")))
	}
	if len(lines) > 0 {
		fmt.Fprintf(w, "\nwhat the consuming paths' time is made of (median [min..max] over the rounds):\n%s\n", strings.Join(lines, "\n"))
	}
	// The Kafka engine inserts few, large blocks (ClickHouse flushes one
	// when it is full or stream_flush_interval_ms after it started): when
	// they became visible shows whether its time is quantized by that.
	if ss := samples["C"]; len(ss) > 0 {
		fmt.Fprintf(w, "  C   rows visible by round (s: rows):\n")
		for i, s := range ss {
			var parts []string
			for _, st := range s.prog.steps {
				parts = append(parts, fmt.Sprintf("%.1f: %d", st.at.Seconds(), st.rows))
			}
			bad := ""
			if s.invalid != "" {
				bad = "  INVALID"
			}
			fmt.Fprintf(w, "        round %d  %s%s\n", i+1, strings.Join(parts, ", "), bad)
		}
	}
}

// altServeCost compares this build's serve (A) with the -alt-serve
// binary's (A1), round by round.
func altServeCost(w io.Writer, this, alt []sample, bin string) {
	var ratio, diff []float64
	for _, pr := range validPairs(this, alt) {
		if c := pr[1].cpu["serve"]; c > 0 {
			ratio = append(ratio, pr[0].cpu["serve"]/c)
			diff = append(diff, pr[0].cpu["serve"]-c)
		}
	}
	fmt.Fprintf(w, "\nserve of this build (A) against %s (A1), per round pair, median [min..max]:\n", bin)
	fmt.Fprintf(w, "  serve CPU-s per 1M events this/alt   %s\n", med3(ratio, "%.3f"))
	fmt.Fprintf(w, "  serve CPU-s per 1M events this-alt   %s\n", med3(diff, "%.2f"))
}

// altServeSmallCost compares this build's serve (E) with the -alt-serve
// binary's (E1) at the latency run's small requests, round by round: serve's
// CPU and Kafka's (which pays per produce request), and the request -> 200
// time.
func altServeSmallCost(w io.Writer, this, alt []sample, bin string) {
	var serve, kafka, both, p99 []float64
	for _, pr := range validPairs(this, alt) {
		if c := pr[1].cpu["serve"]; c > 0 {
			serve = append(serve, pr[0].cpu["serve"]/c)
		}
		if c := pr[1].cpu["kafka"]; c > 0 {
			kafka = append(kafka, pr[0].cpu["kafka"]/c)
		}
		if c := pr[1].cpu["serve"] + pr[1].cpu["kafka"]; c > 0 {
			both = append(both, (pr[0].cpu["serve"]+pr[0].cpu["kafka"])/c)
		}
		if a := pct(pr[1].answered, 0.99); a > 0 {
			p99 = append(p99, float64(pct(pr[0].answered, 0.99))/float64(a))
		}
	}
	fmt.Fprintf(w, "\nserve of this build (E) against %s (E1) at the latency run's requests, per round pair, median [min..max]:\n", bin)
	fmt.Fprintf(w, "  serve CPU-s per 1M events this/alt           %s\n", med3(serve, "%.3f"))
	fmt.Fprintf(w, "  kafka CPU-s per 1M events this/alt           %s\n", med3(kafka, "%.3f"))
	fmt.Fprintf(w, "  serve + kafka CPU-s per 1M events this/alt   %s\n", med3(both, "%.3f"))
	fmt.Fprintf(w, "  request -> 200 p99 this/alt                  %s\n", med3(p99, "%.3f"))
}

// altSinkCost compares this build's sink (B) with the -alt-sink binary's
// (B1), round by round.
func altSinkCost(w io.Writer, this, alt []sample, bin string) {
	var ratio, diff, rate []float64
	for _, pr := range validPairs(this, alt) {
		if c := pr[1].cpu["sink"]; c > 0 {
			ratio = append(ratio, pr[0].cpu["sink"]/c)
			diff = append(diff, pr[0].cpu["sink"]-c)
		}
		if pr[1].wall > 0 && pr[0].wall > 0 {
			rate = append(rate, pr[1].wall.Seconds()/pr[0].wall.Seconds())
		}
	}
	fmt.Fprintf(w, "\nsink of this build (B) against %s (B1), per round pair, median [min..max]:\n", bin)
	fmt.Fprintf(w, "  sink CPU-s per 1M events this/alt   %s\n", med3(ratio, "%.3f"))
	fmt.Fprintf(w, "  sink CPU-s per 1M events this-alt   %s\n", med3(diff, "%.2f"))
	fmt.Fprintf(w, "  events/s this/alt                   %s\n", med3(rate, "%.3f"))
}

// sinkArgsCost compares the default sink (B) with the -alt-sink-args one
// (B2), round by round.
func sinkArgsCost(w io.Writer, def, alt []sample, args []string) {
	var rate, sink, ch []float64
	for _, pr := range validPairs(def, alt) {
		rate = append(rate, (float64(pr[1].events)/pr[1].wall.Seconds())/(float64(pr[0].events)/pr[0].wall.Seconds()))
		if c := pr[0].cpu["sink"]; c > 0 {
			sink = append(sink, pr[1].cpu["sink"]/c)
		}
		if c := pr[0].cpu["clickhouse"]; c > 0 {
			ch = append(ch, pr[1].cpu["clickhouse"]/c)
		}
	}
	fmt.Fprintf(w, "\nsink flags %q (B2) against the defaults (B), per round pair, median [min..max]:\n", strings.Join(args, " "))
	fmt.Fprintf(w, "  events/s B2/B               %s\n", med3(rate, "%.3f"))
	fmt.Fprintf(w, "  sink CPU-s per 1M B2/B      %s\n", med3(sink, "%.3f"))
	fmt.Fprintf(w, "  ClickHouse CPU-s per 1M B2/B %s\n", med3(ch, "%.3f"))
}

// probeCost compares the latency probe reading the names only after the
// server's inserted rows moved (E) with reading them at every poll
// (E3), round by round.
func probeCost(w io.Writer, e, e3 []sample) {
	var asked, probe, ch, p99 []float64
	for _, pr := range validPairs(e, e3) {
		if pr[1].probes > 0 {
			asked = append(asked, float64(pr[0].probes)/float64(pr[1].probes))
		}
		if pr[1].probeCPU > 0 {
			probe = append(probe, pr[0].probeCPU/pr[1].probeCPU)
		}
		if c := pr[1].cpu["clickhouse"]; c > 0 {
			ch = append(ch, pr[0].cpu["clickhouse"]/c)
		}
		if q := pct(pr[1].lat, 0.99); q > 0 {
			p99 = append(p99, float64(pct(pr[0].lat, 0.99))/float64(q))
		}
	}
	fmt.Fprintf(w, "\nthe latency probe reading names after the inserted rows moved (E) against at every poll (E3), per round pair, median [min..max]:\n")
	fmt.Fprintf(w, "  probe queries E/E3                    %s\n", med3(asked, "%.3f"))
	fmt.Fprintf(w, "  probe's ClickHouse CPU-s per 1M E/E3  %s\n", med3(probe, "%.3f"))
	fmt.Fprintf(w, "  ClickHouse CPU-s per 1M E/E3          %s\n", med3(ch, "%.3f"))
	fmt.Fprintf(w, "  p99 ingest-to-queryable E/E3          %s\n", med3(p99, "%.3f"))
}

// traceCacheCost compares A (serve's trace cache on, the default) with A0
// (off), round by round: the rounds interleave them, so the ratio of each
// round's pair is less disturbed by the machine's other load than the ratio
// of medians.
func traceCacheCost(w io.Writer, on, off []sample) {
	var rate, cpu []float64
	for _, pr := range validPairs(on, off) {
		rate = append(rate, (float64(pr[0].events)/pr[0].wall.Seconds())/(float64(pr[1].events)/pr[1].wall.Seconds()))
		if c := pr[1].cpu["serve"]; c > 0 {
			cpu = append(cpu, pr[0].cpu["serve"]/c)
		}
	}
	fmt.Fprintf(w, "\ntrace-level tagging (A: serve's trace cache on, A0: off), per round pair, median [min..max]:\n")
	fmt.Fprintf(w, "  events/s on/off      %s\n", med3(rate, "%.3f"))
	fmt.Fprintf(w, "  serve CPU-s on/off   %s\n", med3(cpu, "%.3f"))
}

// unitSeenCost prints what the unit_seen view costs ClickHouse per
// million events: path B (every view) against B0 (without unit_seen), per
// round pair.
func unitSeenCost(w io.Writer, with, without []sample) {
	var diff, ratio []float64
	for _, pr := range validPairs(with, without) {
		a, b := pr[0].cpu["clickhouse"], pr[1].cpu["clickhouse"]
		diff = append(diff, a-b)
		if b > 0 {
			ratio = append(ratio, a/b)
		}
	}
	fmt.Fprintf(w, "\nunit_seen view (B: every view, B0: without unit_seen), ClickHouse CPU per round pair, median [min..max]:\n")
	fmt.Fprintf(w, "  CPU-s per 1M events with - without   %s\n", med3(diff, "%.2f"))
	fmt.Fprintf(w, "  with / without                      %s\n", med3(ratio, "%.3f"))
}

// topicRecords reads every record value of topic, partition by partition,
// and counts the distinct event ids among them.
func topicRecords(ctx context.Context, brokers []string, topic string) ([][]byte, uint64, error) {
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, 0, fmt.Errorf("dial kafka: %w", err)
	}
	parts, err := conn.ReadPartitions(topic)
	_ = conn.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	var out [][]byte
	for _, p := range parts {
		pc, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p.ID)
		if err != nil {
			return nil, 0, fmt.Errorf("dial partition %d: %w", p.ID, err)
		}
		first, last, err := pc.ReadOffsets()
		_ = pc.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("offsets of partition %d: %w", p.ID, err)
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID, MinBytes: 1, MaxBytes: 16 << 20})
		if err := r.SetOffset(first); err != nil {
			return nil, 0, err
		}
		for off := first; off < last; {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				_ = r.Close()
				return nil, 0, fmt.Errorf("read partition %d: %w", p.ID, err)
			}
			out = append(out, m.Value)
			off = m.Offset + 1
		}
		_ = r.Close()
	}
	ids := make(map[string]struct{}, len(out))
	var e telemetry.Event
	for _, v := range out {
		if err := telemetry.DecodeJSON(v, &e); err != nil {
			return nil, 0, fmt.Errorf("a record on %s does not decode: %w", topic, err)
		}
		ids[e.ID] = struct{}{}
	}
	return out, uint64(len(ids)), nil
}
