// Command ingestbench measures the ingest path end to end on this machine
// (`make bench-ingest`): generator -> ingest serve -> Kafka -> ingest sink ->
// ClickHouse, counted in ClickHouse, and compares it in the same run, on the
// same topic and table shape, with ClickHouse's own Kafka table engine and
// with clickhouse-client inserting the same events from a file.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/steadystate/steadystate/pipeline/bus"
	"github.com/steadystate/steadystate/pipeline/store"
	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

func main() {
	n := flag.Int("events", 1_000_000, "events for the throughput runs")
	rate := flag.Int("rate", 10_000, "events per second for the latency run")
	latFor := flag.Duration("latency-for", 20*time.Second, "length of the latency run")
	workers := flag.Int("workers", 8, "concurrent HTTP senders")
	batch := flag.Int("batch", 1000, "events per request")
	pprofDir := flag.String("pprof-dir", "", "write CPU profiles of serve and sink (end to end) and of the sink-only run here")
	flag.Parse()
	if err := run(*n, *rate, *latFor, *workers, *batch, *pprofDir); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

type proc struct {
	name string
	cmd  *exec.Cmd
}

func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func ndjson(exp string, from, to int, now time.Time) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		cohort := "control"
		if i%20 == 0 {
			cohort = "experiment"
		}
		fmt.Fprintf(&b, `{"event_id":"%s-%09d","time":%d,"service":"checkout","name":"GET /checkout","experiment_id":"%s","cohort":"%s","http_status":200,"duration_ms":%d.5,"trace_id":"%032x","attributes":{"region":"eu","tenant":"t%d"}}`+"\n",
			exp, i, now.UnixNano()+int64(i), exp, cohort, i%700, i, i%50)
	}
	return b.Bytes()
}

// rows counts rows in db.events; distinct counts distinct event ids.
func rows(ctx context.Context, c *store.Client, db string) uint64 {
	var n uint64
	_ = c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.events", db)).Scan(&n)
	return n
}

func distinct(ctx context.Context, c *store.Client, db string) uint64 {
	var n uint64
	_ = c.Conn.QueryRow(ctx, fmt.Sprintf("SELECT uniqExact(event_id) FROM %s.events", db)).Scan(&n)
	return n
}

// waitDistinct polls until db.events holds want distinct event ids and
// returns the time from t0 to the poll that first saw them. It polls the
// cheap count() every 50 ms and confirms with uniqExact, so a duplicate row
// never counts as an event.
func waitDistinct(ctx context.Context, c *store.Client, db string, want uint64, t0 time.Time, limit time.Duration) (time.Duration, error) {
	for {
		at := time.Since(t0)
		if rows(ctx, c, db) >= want && distinct(ctx, c, db) >= want {
			return at, nil
		}
		if at > limit {
			return 0, fmt.Errorf("%s: only %d distinct of %d events after %s", db, distinct(ctx, c, db), want, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// quiesce drops a path's database once it is counted and waits until
// ClickHouse has no merge running, so one path's background merges are
// not charged to the next path's time and CPU.
func quiesce(ctx context.Context, c *store.Client, drop string) {
	if drop != "" {
		_ = c.Conn.Exec(ctx, "DROP DATABASE IF EXISTS "+drop)
	}
	for i := 0; i < 600; i++ {
		var merges uint64
		if err := c.Conn.QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&merges); err != nil || merges == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
}

// cpuMeter reads the CPU seconds of a set of processes.
type cpuMeter map[string]int

func (m cpuMeter) read() map[string]float64 {
	out := map[string]float64{}
	for name, pid := range m {
		out[name] = cpuSeconds(pid)
	}
	return out
}

// since returns the CPU seconds per million events of each process since before.
func (m cpuMeter) since(before map[string]float64, events uint64) map[string]float64 {
	now := m.read()
	out := map[string]float64{}
	for name := range m {
		out[name] = (now[name] - before[name]) / float64(events) * 1e6
	}
	return out
}

func fmtCPU(cpu map[string]float64, names ...string) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", n, cpu[n]))
	}
	return strings.Join(parts, ", ")
}

func run(n, rate int, latFor time.Duration, workers, batchSize int, pprofDir string) error {
	ctx := context.Background()
	stamp := strconv.FormatInt(time.Now().Unix(), 36)
	db, topic := "bench_"+stamp, "bench.events."+stamp
	sinkDB, kafkaDB, directDB := db+"_sink", db+"_kafka", db+"_direct"
	bin, err := os.MkdirTemp("", "ingestbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/ingest").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	cfg := store.NewDefaultConfig()
	cfg.Database = db
	c, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	// Four databases with the same migrated schema: one per path, so each
	// path's count is its own.
	for _, name := range []string{db, sinkDB, kafkaDB, directDB} {
		mc := *c
		mc.DB = name
		if _, err := mc.Migrate(ctx, store.MigrateOptions{}); err != nil {
			return err
		}
		defer func() { _ = c.Conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name) }()
	}
	brokers := bus.DefaultBrokers()
	if err := bus.EnsureTopic(ctx, brokers, bus.TopicSpec{Name: topic, Partitions: 6, Replication: 1}); err != nil {
		return err
	}
	defer func() { _ = bus.DeleteTopic(context.Background(), brokers, topic) }()

	httpAddr := freeAddr()
	start := func(name, database string, args ...string) *proc {
		cmd := exec.Command(filepath.Join(bin, "ingest"), args...)
		cmd.Env = append(os.Environ(), store.EnvDatabase+"="+database)
		logf, err := os.Create(filepath.Join(bin, strings.ReplaceAll(name, " ", "-")+".log"))
		if err != nil {
			panic(err)
		}
		cmd.Stderr = logf
		if err := cmd.Start(); err != nil {
			panic(err)
		}
		return &proc{name: name, cmd: cmd}
	}
	stopProc := func(p *proc) {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Signal(os.Interrupt)
			_ = p.cmd.Wait()
		}
	}
	profile := func(name, admin string, d time.Duration) {
		if pprofDir == "" {
			return
		}
		go func() {
			resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", admin, int(d.Seconds())))
			if err != nil {
				fmt.Fprintln(os.Stderr, "profile:", err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(pprofDir, name+".pprof"))
			if err != nil {
				fmt.Fprintln(os.Stderr, "profile:", err)
				return
			}
			_, _ = io.Copy(f, resp.Body)
			_ = f.Close()
		}()
	}
	serveAdmin, sinkAdmin := freeAddr(), freeAddr()
	serve := start("ingest serve", db, "serve", "--http", httpAddr, "--grpc", freeAddr(), "--admin", serveAdmin, "--topic", topic, "--log-level", "warn", "--pprof")
	sink := start("ingest sink", db, "sink", "--topic", topic, "--group", "bench-sink", "--admin", sinkAdmin, "--log-level", "warn", "--pprof")
	defer stopProc(serve)
	defer stopProc(sink)
	for i := 0; ; i++ {
		if conn, err := net.Dial("tcp", httpAddr); err == nil {
			_ = conn.Close()
			break
		}
		if i > 300 {
			out, _ := os.ReadFile(filepath.Join(bin, "ingest-serve.log"))
			return fmt.Errorf("ingest serve did not start:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	url := "http://" + httpAddr + "/v1/events"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: time.Minute}
	send := func(body []byte) error {
		resp, err := client.Post(url, "application/x-ndjson", bytes.NewReader(body))
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

	// 1. Throughput end to end: generator -> serve -> Kafka -> sink -> ClickHouse.
	fmt.Fprintf(os.Stderr, "preparing %d events...\n", n)
	now := time.Now()
	var bodies [][]byte
	for lo := 0; lo < n; lo += batchSize {
		bodies = append(bodies, ndjson("tput", lo, min(lo+batchSize, n), now))
	}
	chPid, kafkaPid := statePid("clickhouse", "clickhouse.pid"), statePid("kafka", "kafka.pid")
	e2eMeter := cpuMeter{"serve": serve.cmd.Process.Pid, "sink": sink.cmd.Process.Pid, "clickhouse": chPid, "kafka": kafkaPid}
	cpu0 := e2eMeter.read()
	profile("e2e-serve", serveAdmin, 8*time.Second)
	profile("e2e-sink", sinkAdmin, 8*time.Second)
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var sendErr atomic.Value
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				for tries := 0; ; tries++ {
					if err := send(bodies[i]); err == nil {
						break
					} else if tries > 20 {
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
	acked := time.Since(t0)
	e2e, err := waitDistinct(ctx, c, db, uint64(n), t0, 10*time.Minute)
	if err != nil {
		return err
	}
	e2eCPU := e2eMeter.since(cpu0, uint64(n))
	fmt.Fprintf(os.Stderr, "steadystate end to end: %d events in %s (%.0f events/s)\n", n, e2e.Round(time.Millisecond), float64(n)/e2e.Seconds())

	// 2. Latency at a fixed rate: batches of rate/100 every 10 ms.
	fmt.Fprintf(os.Stderr, "latency run at %d events/s for %s...\n", rate, latFor)
	per := max(rate/100, 1)
	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	// The poller runs during the run: a batch's latency is from the start of
	// its request to the first poll that sees it in ClickHouse.
	visible := map[string]time.Duration{}
	pollDone := make(chan struct{})
	var sendingDone atomic.Bool
	go func() {
		defer close(pollDone)
		deadline := time.Now().Add(latFor + time.Minute)
		for time.Now().Before(deadline) {
			rows, err := c.Conn.Query(ctx, fmt.Sprintf("SELECT DISTINCT name FROM %s.events WHERE experiment_id = 'lat' AND event_time >= now() - 600", db))
			if err != nil {
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
			time.Sleep(10 * time.Millisecond)
		}
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	stop := time.After(latFor)
	seq := 0
	var lwg sync.WaitGroup
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-tick.C:
			name := fmt.Sprintf("lat-%06d", seq)
			body := bytes.ReplaceAll(ndjson("lat"+strconv.Itoa(seq), 0, per, time.Now()), []byte(`"GET /checkout"`), []byte(`"`+name+`"`))
			body = bytes.ReplaceAll(body, []byte(`"experiment_id":"lat`+strconv.Itoa(seq)+`"`), []byte(`"experiment_id":"lat"`))
			seq++
			mu.Lock()
			sentAt[name] = time.Now()
			mu.Unlock()
			lwg.Add(1)
			go func() { defer lwg.Done(); _ = send(body) }()
		}
	}
	tick.Stop()
	lwg.Wait()
	sendingDone.Store(true)
	<-pollDone
	var lats []time.Duration
	for _, d := range visible {
		lats = append(lats, d)
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(q float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(int(q*float64(len(lats))), len(lats)-1)]
	}
	// The topic now holds every event of both runs; the paths below all
	// consume exactly these records. Wait until the end-to-end sink stored
	// them all, then stop it and serve so they cost no CPU below.
	records, want, err := topicRecords(ctx, brokers, topic)
	if err != nil {
		return err
	}
	if _, err := waitDistinct(ctx, c, db, want, time.Now(), time.Minute); err != nil {
		return err
	}
	stopProc(serve)
	stopProc(sink)
	quiesce(ctx, c, db)

	// 3. The sink alone on the pre-filled topic: a fresh consumer group
	// from the earliest offset into a fresh database, timed from process
	// start to the last distinct event visible, exactly like the Kafka
	// engine below.
	fmt.Fprintf(os.Stderr, "sink-only run over %d records (%d distinct events)...\n", len(records), want)
	sinkAdmin2 := freeAddr()
	chkMeter := cpuMeter{"clickhouse": chPid, "kafka": kafkaPid}
	scpu0 := chkMeter.read()
	st0 := time.Now()
	sinkOnly := start("ingest sink only", sinkDB, "sink", "--topic", topic, "--group", "bench-sink-only", "--admin", sinkAdmin2, "--log-level", "warn", "--pprof")
	defer stopProc(sinkOnly)
	sinkMeter := cpuMeter{"sink": sinkOnly.cmd.Process.Pid}
	go func() {
		for i := 0; i < 100; i++ {
			if conn, err := net.Dial("tcp", sinkAdmin2); err == nil {
				_ = conn.Close()
				profile("sink-only", sinkAdmin2, 5*time.Second)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	sdone, err := waitDistinct(ctx, c, sinkDB, want, st0, 5*time.Minute)
	if err != nil {
		return err
	}
	sinkCPU := sinkMeter.since(map[string]float64{"sink": 0}, want) // the whole process life
	for k, v := range chkMeter.since(scpu0, want) {
		sinkCPU[k] = v
	}
	stopProc(sinkOnly)
	quiesce(ctx, c, sinkDB)

	// 4. ClickHouse's Kafka engine on the same topic (the wire form is
	// JSONEachRow of the events columns) into the same table shape.
	fmt.Fprintf(os.Stderr, "kafka engine run...\n")
	var colDefs []string
	for _, col := range telemetry.Columns[:len(telemetry.Columns)-2] {
		colDefs = append(colDefs, col+" "+columnType(col))
	}
	ddl := []string{
		fmt.Sprintf("CREATE TABLE %s.kafka_events (%s) ENGINE = Kafka SETTINGS kafka_broker_list = %s, kafka_topic_list = %s, "+
			"kafka_group_name = 'bench-ch-engine', kafka_format = 'JSONEachRow', kafka_num_consumers = 2",
			kafkaDB, strings.Join(colDefs, ", "), queries.QuoteString(strings.Join(brokers, ",")), queries.QuoteString(topic)),
		// 18.16 wants every column of the target table from the view.
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s.kafka_mv TO %s.events (%s, kafka_partition Int32, kafka_offset Int64) AS SELECT %s, toInt32(0) AS kafka_partition, toInt64(0) AS kafka_offset FROM %s.kafka_events",
			kafkaDB, kafkaDB, strings.Join(colDefs, ", "), strings.Join(telemetry.Columns[:len(telemetry.Columns)-2], ", "), kafkaDB),
	}
	kcpu0 := chkMeter.read()
	kt0 := time.Now()
	for _, s := range ddl {
		if err := c.Conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("kafka engine ddl: %w", err)
		}
	}
	kdone, err := waitDistinct(ctx, c, kafkaDB, want, kt0, 5*time.Minute)
	if err != nil {
		return fmt.Errorf("%w (see the clickhouse-server error log)", err)
	}
	kcpu := chkMeter.since(kcpu0, want)
	_ = c.Conn.Exec(ctx, fmt.Sprintf("DROP TABLE %s.kafka_mv", kafkaDB))
	_ = c.Conn.Exec(ctx, fmt.Sprintf("DROP TABLE %s.kafka_events", kafkaDB))
	quiesce(ctx, c, kafkaDB)

	// 5. clickhouse-client inserting the same records (the topic's values,
	// byte for byte) from a file.
	fmt.Fprintf(os.Stderr, "clickhouse-client JSONEachRow run...\n")
	file := filepath.Join(bin, "events.ndjson")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	for _, r := range records {
		if _, err := f.Write(append(r, '\n')); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(cfg.Addr)
	dcpu0 := chkMeter.read()
	dt0 := time.Now()
	cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--query",
		fmt.Sprintf("INSERT INTO %s.events (%s) FORMAT JSONEachRow", directDB, strings.Join(telemetry.Columns[:len(telemetry.Columns)-2], ", ")))
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	cmd.Stdin = in
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("clickhouse-client insert: %w\n%s", err, out)
	}
	_ = in.Close()
	ddone, err := waitDistinct(ctx, c, directDB, want, dt0, time.Minute)
	if err != nil {
		return err
	}
	dcpu := chkMeter.since(dcpu0, want)
	dcpu["client"] = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / float64(want) * 1e6

	rate2 := func(events uint64, d time.Duration) float64 { return float64(events) / d.Seconds() }
	e2eRate, ackRate := rate2(uint64(n), e2e), rate2(uint64(n), acked)
	sinkRate, engRate, dirRate := rate2(want, sdone), rate2(want, kdone), rate2(want, ddone)
	fmt.Printf("ingestbench: %d events (%d per request, %d senders), Kafka %s, ClickHouse %s, 2 cores, all co-located\n",
		n, batchSize, workers, strings.Join(brokers, ","), cfg.Addr)
	fmt.Printf("pre-filled topic for the last three rows: %d records, %d distinct events (the end-to-end and latency runs' events)\n", len(records), want)
	fmt.Printf("every figure is distinct event ids counted in ClickHouse, into a fresh database with the same events table;\n")
	fmt.Printf("before each of the last three rows the previous database is dropped and ClickHouse has no merge running\n\n")
	fmt.Printf("%-55s %10s %10s  %s\n", "path", "events/s", "wall", "CPU s per 1M events")
	fmt.Printf("%-55s %10.0f %10s  %s\n", "steadystate end to end (HTTP->serve->Kafka->sink->CH)", e2eRate, e2e.Round(time.Millisecond), fmtCPU(e2eCPU, "serve", "sink", "clickhouse", "kafka"))
	fmt.Printf("%-55s %10.0f %10s\n", "  of which generator->serve->Kafka acked", ackRate, acked.Round(time.Millisecond))
	fmt.Printf("%-55s %10.0f %10s  %s\n", "steadystate sink only (Kafka -> CH, topic pre-filled)", sinkRate, sdone.Round(time.Millisecond), fmtCPU(sinkCPU, "sink", "clickhouse", "kafka"))
	fmt.Printf("%-55s %10.0f %10s  %s\n", "ClickHouse Kafka engine (same pre-filled topic)", engRate, kdone.Round(time.Millisecond), fmtCPU(kcpu, "clickhouse", "kafka"))
	fmt.Printf("%-55s %10.0f %10s  %s\n", "clickhouse-client FORMAT JSONEachRow (same records, file)", dirRate, ddone.Round(time.Millisecond), fmtCPU(dcpu, "client", "clickhouse"))
	fmt.Printf("\nratios, like for like (sink only, same pre-filled topic):\n")
	fmt.Printf("  sink only / Kafka engine      %.2fx (target >= 1.0)\n", sinkRate/engRate)
	fmt.Printf("  sink only / direct insert     %.2fx (target >= 0.5)\n", sinkRate/dirRate)
	fmt.Printf("ratios, end to end (generator, serve and sink share the 2 cores; the other paths have no generator or serve):\n")
	fmt.Printf("  end to end / Kafka engine     %.2fx\n", e2eRate/engRate)
	fmt.Printf("  end to end / direct insert    %.2fx\n", e2eRate/dirRate)
	fmt.Printf("end to end: %.0f events/s (target >= 50000, aim 100000)\n", e2eRate)
	fmt.Printf("ingest-to-queryable at %d events/s for %s: p50 %s, p99 %s, max %s over %d batches (target p99 <= 1s)\n",
		rate, latFor, pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond), len(lats))
	return nil
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
		if err != nil {
			_ = pc.Close()
			return nil, 0, fmt.Errorf("offsets of partition %d: %w", p.ID, err)
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID, MinBytes: 1, MaxBytes: 16 << 20})
		_ = pc.Close()
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

func statePid(dir, file string) int {
	state := os.Getenv("STEADYSTATE_STATE_DIR")
	if state == "" {
		state = ".state"
	}
	b, err := os.ReadFile(filepath.Join(state, dir, file)) //nolint:gosec // G703: dev benchmark reads the pid file of its own local state dir
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func columnType(col string) string {
	switch col {
	case "event_time", "ingest_time":
		return "DateTime"
	case "event_time_ns", "ingest_time_ns", "duration_ns":
		return "UInt64"
	case "kind":
		return "Enum8('span' = 1, 'log' = 2, 'event' = 3, 'alert' = 4)"
	case "cohort":
		return "Enum8('none' = 0, 'control' = 1, 'experiment' = 2)"
	case "status":
		return "Enum8('unset' = 0, 'ok' = 1, 'error' = 2)"
	case "synthetic", "is_error":
		return "UInt8"
	case "http_status":
		return "UInt16"
	case "attr_keys", "attr_values", "res_keys", "res_values":
		return "Array(String)"
	default:
		return "String"
	}
}
